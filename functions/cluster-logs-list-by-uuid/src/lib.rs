//! GET /api/service_logs/v1/clusters/{uuid}/cluster_logs: one cluster's logs by its external UUID.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::api;
use shared::cluster_logs::{ClusterLogsState, ClusterScope};

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    let outcome = api::list(state, &request, ClusterScope::from_path).await;
    Ok(api::respond(&request, outcome))
}
