//! GET (and HEAD) /api/system-logs/{id}/: one log by its integer id; the list filters apply too.

use lambda_http::{Body, Error, Request, Response};
use shared::system_logs::request::{self, Reply};
use shared::system_logs::wire::SystemLogView;
use shared::system_logs::{MAX_ID, SystemLogError, SystemLogsState};

pub async fn handler(state: &SystemLogsState, request: Request) -> Result<Response<Body>, Error> {
    Ok(request::respond(&request, retrieve(state, &request).await))
}

async fn retrieve(state: &SystemLogsState, request: &Request) -> Result<Reply, SystemLogError> {
    request::admit(state, request).await?;
    // As DRF: the filters are validated first, then the id is looked up.
    let filter = request::filter(request)?;
    let id: i64 = shared::http::path_param(request, "id")
        .and_then(|id| id.parse().ok())
        .ok_or(SystemLogError::NotFound)?;
    let id = u64::try_from(id)
        .ok()
        .filter(|id| *id <= MAX_ID)
        .ok_or(SystemLogError::NoSuchLog)?;
    let log = state
        .store
        .get(id)
        .await?
        .filter(|log| filter.matches(log))
        .ok_or(SystemLogError::NoSuchLog)?;
    Reply::json(&SystemLogView::from(&log))
}
