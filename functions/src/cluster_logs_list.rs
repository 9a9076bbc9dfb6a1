//! GET /api/service_logs/v1/cluster_logs: the logs of every cluster, newest first.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::ClusterLogsState;
use shared::cluster_logs::request;

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    let outcome = request::list(state, &request, request::every_cluster).await;
    Ok(request::respond(&request, outcome))
}
