//! GET /api/service_logs/v1/cluster_logs/{id}: one log, if it exists for this caller: for a
//! customer, only a log of a cluster of their organization.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::request::{self, Reply};
use shared::cluster_logs::wire::ClusterLogView;
use shared::cluster_logs::{Audience, ClusterLogError, ClusterLogsState, ClusterNames};

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    Ok(request::respond(&request, get(state, &request).await))
}

async fn get(state: &ClusterLogsState, request: &Request) -> Result<Reply, ClusterLogError> {
    let caller = state.auth.authenticate(request).await?;
    let audience = Audience::of(&caller);
    let id = shared::http::path_param(request, "id").unwrap_or_default();
    let not_found = || ClusterLogError::NotFound(id.to_owned());
    let mut log = state
        .store
        .get(id, audience.visibility())
        .await?
        .ok_or_else(not_found)?;
    // The cluster the log belongs to decides who reads it; it also gives the name the log lacks.
    // Staff read every cluster, so a log with both names needs nothing from the registry.
    let names = ClusterNames::of(&log);
    if audience.reads_every_cluster() && names.uuid.is_some() && names.id.is_some() {
        return Reply::ok(ClusterLogView::from(&log));
    }
    let owner = names.owner();
    let registered = state.store.registry().lookup_one(&owner).await?;
    if !audience.may_read(&registered) {
        return Err(not_found());
    }
    registered.name(&mut log);
    Reply::ok(ClusterLogView::from(&log))
}
