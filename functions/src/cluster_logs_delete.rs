//! DELETE /api/service_logs/v1/cluster_logs/{id}: remove a log, for callers with the admin role; 204.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::request::{self, Reply};
use shared::cluster_logs::{ClusterLogError, ClusterLogsState, Visibility};
use shared::identity::Role;

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    Ok(request::respond(&request, delete(state, &request).await))
}

async fn delete(state: &ClusterLogsState, request: &Request) -> Result<Reply, ClusterLogError> {
    let caller = state.auth.authenticate(request).await?;
    caller.require(Role::ServiceLogsAdmin)?;
    let id = shared::http::path_param(request, "id").unwrap_or_default();
    // An admin without the internal role cannot see internal logs, so cannot delete them either.
    if state.store.delete(id, Visibility::of(&caller)).await? {
        tracing::info!(
            id,
            deleted_by = caller.display_name(),
            "cluster log deleted"
        );
        Ok(Reply::NoContent)
    } else {
        Err(ClusterLogError::NotFound(id.to_owned()))
    }
}
