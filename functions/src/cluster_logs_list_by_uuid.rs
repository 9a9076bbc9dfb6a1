//! GET /api/service_logs/v1/clusters/{uuid}/cluster_logs: one cluster's logs by its external UUID.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::ClusterLogsState;
use shared::cluster_logs::request;

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    let outcome = request::list(state, &request, request::scope_from_path).await;
    Ok(request::respond(&request, outcome))
}
