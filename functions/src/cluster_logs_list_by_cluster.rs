//! GET /api/service_logs/v1/clusters/cluster_logs?cluster_id=&cluster_uuid=: one cluster's logs; 400 without either id.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::ClusterLogsState;
use shared::cluster_logs::request;

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    let outcome = request::list(state, &request, request::scope_from_query).await;
    Ok(request::respond(&request, outcome))
}
