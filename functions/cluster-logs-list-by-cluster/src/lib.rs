//! GET /api/service_logs/v1/clusters/cluster_logs?cluster_id=&cluster_uuid=: one cluster's logs; 400 without either id.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::api;
use shared::cluster_logs::{ClusterLogsState, ClusterScope};

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    let outcome = api::list(state, &request, ClusterScope::from_query).await;
    Ok(api::respond(&request, outcome))
}
