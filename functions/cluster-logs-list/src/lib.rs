//! GET /api/service_logs/v1/cluster_logs: the logs of every cluster, newest first.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::api;
use shared::cluster_logs::{ClusterLogsState, ClusterScope};

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    let outcome = api::list(state, &request, |_| Ok(ClusterScope::All)).await;
    Ok(api::respond(&request, outcome))
}
