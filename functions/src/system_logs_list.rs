//! GET (and HEAD) /api/system-logs/: a page of logs, filtered and ordered, with `X-Result-Count`
//! and `Link`, for callers with the system-logs-reader role.

use lambda_http::{Body, Error, Request, Response};
use shared::system_logs::request::{self, Reply};
use shared::system_logs::wire::SystemLogView;
use shared::system_logs::{SystemLogError, SystemLogsState};

pub async fn handler(state: &SystemLogsState, request: Request) -> Result<Response<Body>, Error> {
    Ok(request::respond(&request, list(state, &request).await))
}

async fn list(state: &SystemLogsState, request: &Request) -> Result<Reply, SystemLogError> {
    request::admit(state, request).await?;
    let (filter, ordering, page) = request::list_request(request)?;
    let found = state.store.list(&filter, &ordering, &page).await?;
    let body: Vec<SystemLogView> = found.logs.iter().map(SystemLogView::from).collect();
    Reply::page(
        request,
        &body,
        found.count,
        found.page,
        found.pages,
        found.next_cursor.as_deref(),
    )
}
