//! GET /api/service_logs/v1/cluster_logs/{id}: one log, if it exists for this caller.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::request::{self, Reply};
use shared::cluster_logs::wire::ClusterLogView;
use shared::cluster_logs::{ClusterLogError, ClusterLogsState, Visibility};

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    Ok(request::respond(&request, get(state, &request).await))
}

async fn get(state: &ClusterLogsState, request: &Request) -> Result<Reply, ClusterLogError> {
    let caller = state.auth.authenticate(request)?;
    let id = shared::http::path_param(request, "id").unwrap_or_default();
    let log = state
        .store
        .get(id, Visibility::of(&caller))
        .await?
        .ok_or_else(|| ClusterLogError::NotFound(id.to_owned()))?;
    Reply::ok(ClusterLogView::from(&log))
}
