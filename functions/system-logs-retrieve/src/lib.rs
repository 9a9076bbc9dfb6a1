//! GET (and HEAD) /api/system-logs/{id}/: one log by its integer id; the list filters apply too.

use lambda_http::{Body, Error, Request, Response};
use shared::system_logs::api::{self, Reply, SystemLogView};
use shared::system_logs::{MAX_ID, SystemLogError, SystemLogFilter, SystemLogsState};

pub async fn handler(state: &SystemLogsState, request: Request) -> Result<Response<Body>, Error> {
    Ok(api::respond(&request, retrieve(state, &request).await))
}

async fn retrieve(state: &SystemLogsState, request: &Request) -> Result<Reply, SystemLogError> {
    api::admit(state, request)?;
    // As DRF: the filters are validated first, then the id is looked up.
    let filter = SystemLogFilter::from_request(request)?;
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
    Ok(Reply::json(&SystemLogView::from(&log)))
}
