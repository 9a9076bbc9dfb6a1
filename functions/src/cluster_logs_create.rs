//! POST /api/service_logs/v1/cluster_logs: store a log from a caller with the writer role; 201.

use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::request::{self, Reply};
use shared::cluster_logs::wire::ClusterLogView;
use shared::cluster_logs::{ClusterLogDraft, ClusterLogError, ClusterLogsState, Created};
use shared::dynamo::StoreError;
use shared::identity::Role;

pub async fn handler(state: &ClusterLogsState, request: Request) -> Result<Response<Body>, Error> {
    Ok(request::respond(&request, create(state, &request).await))
}

async fn create(state: &ClusterLogsState, request: &Request) -> Result<Reply, ClusterLogError> {
    let caller = state.auth.authenticate(request).await?;
    caller.require(Role::ServiceLogsWriter)?;
    let draft: ClusterLogDraft = shared::http::json_body(request)?;
    let mut log = draft.into_cluster_log(&caller, time::OffsetDateTime::now_utc())?;
    // Stored under both of the cluster's names when the registry knows the other one.
    state.store.registry().name_logs([&mut log]).await?;
    if state.store.create(&log).await? == Created::AlreadyStored {
        // A fresh ULID has 80 random bits: only a collision gets here.
        return Err(StoreError::Internal(format!("a fresh id {} is taken", log.id)).into());
    }
    tracing::info!(id = %log.id, cluster_uuid = ?log.cluster_uuid, "cluster log created");
    Reply::created(ClusterLogView::from(&log))
}
