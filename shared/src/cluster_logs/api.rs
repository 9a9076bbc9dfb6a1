//! The cluster-log API on the wire: response bodies, the Error body, and the list handler all
//! three list routes share. Functions call these; nothing else writes a cluster-log response.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{
    BASE_PATH, ClusterLog, ClusterLogError, ClusterLogFilter, ClusterLogsState, ClusterScope,
    PageRequest, Visibility,
};

/// A successful answer, before it becomes an HTTP response.
#[derive(Debug)]
pub enum Reply {
    /// A status and the JSON body, already serialized (once, straight from the model).
    Json(StatusCode, Vec<u8>),
    NoContent,
}

impl Reply {
    pub fn ok(body: impl Serialize) -> Self {
        Reply::json(StatusCode::OK, &body)
    }

    pub fn created(body: impl Serialize) -> Self {
        Reply::json(StatusCode::CREATED, &body)
    }

    fn json(status: StatusCode, body: &impl Serialize) -> Self {
        // Our models serialize without fail (string keys, no non-finite floats).
        Reply::Json(status, serde_json::to_vec(body).unwrap_or_default())
    }
}

/// A ClusterLog as sent: `kind` and `href` are derived, not stored.
#[derive(Debug, Serialize)]
pub struct ClusterLogView<'a> {
    kind: &'static str,
    href: String,
    #[serde(flatten)]
    log: &'a ClusterLog,
}

impl<'a> From<&'a ClusterLog> for ClusterLogView<'a> {
    fn from(log: &'a ClusterLog) -> Self {
        Self {
            kind: "ClusterLog",
            href: log.href(),
            log,
        }
    }
}

/// The list envelope: `size` is the number of items on this page, `total` all matches.
#[derive(Debug, Serialize)]
pub struct ClusterLogList<'a> {
    kind: &'static str,
    page: u32,
    size: usize,
    total: u64,
    items: Vec<ClusterLogView<'a>>,
}

/// The OCM Error body.
#[derive(Debug, Serialize)]
struct ErrorBody {
    kind: &'static str,
    id: String,
    href: String,
    code: String,
    reason: String,
    operation_id: String,
}

/// Turns a handler's outcome into the HTTP response, logging faults once, here.
pub fn respond(request: &Request, outcome: Result<Reply, ClusterLogError>) -> Response<Body> {
    match outcome {
        Ok(Reply::Json(status, body)) => json_bytes_response(status, body),
        Ok(Reply::NoContent) => Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::Empty)
            .unwrap_or_default(),
        Err(error) => error_response(request, &error),
    }
}

fn error_response(request: &Request, error: &ClusterLogError) -> Response<Body> {
    let code = error.code();
    let operation_id = crate::http::request_id(request);
    if code.status() >= 500 {
        tracing::error!(operation_id, error = %error, "request failed");
    } else {
        tracing::info!(operation_id, status = code.status(), reason = %error, "request refused");
    }
    let body = ErrorBody {
        kind: "Error",
        id: code.status().to_string(),
        href: format!("{BASE_PATH}/errors/{}", code.status()),
        code: code.code(),
        reason: error.reason(),
        operation_id,
    };
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    json_bytes_response(status, serde_json::to_vec(body).unwrap_or_default())
}

fn json_bytes_response(status: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(bytes))
        .unwrap_or_default()
}

/// The shared body of the three list routes: authenticate, read paging, list the scope.
pub async fn list(
    state: &ClusterLogsState,
    request: &Request,
    scope: impl FnOnce(&Request) -> Result<ClusterScope, ClusterLogError>,
) -> Result<Reply, ClusterLogError> {
    let caller = state.auth.authenticate(request)?;
    let scope = scope(request)?;
    let page = PageRequest::from_request(request)?;
    let filter = ClusterLogFilter::new(
        scope,
        Visibility::of(&caller),
        crate::http::query_param(request, "search"),
    )?;
    let found = state.store.list(&filter, &page).await?;
    Ok(Reply::ok(ClusterLogList {
        kind: "ClusterLogList",
        page: page.page,
        size: found.items.len(),
        total: found.total,
        items: found.items.iter().map(ClusterLogView::from).collect(),
    }))
}
