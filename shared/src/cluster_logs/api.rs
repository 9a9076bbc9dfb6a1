//! The cluster-log API on the wire: response bodies, the Error body, and the list handler all
//! three list routes share. Functions call these; nothing else writes a cluster-log response.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::query::ClusterLogOrder;
use super::search::{SEARCH_FIELDS, values_of};
use super::{
    BASE_PATH, ClusterLog, ClusterLogError, ClusterLogFilter, ClusterLogsState, ClusterScope,
    PageRequest, Visibility,
};
use crate::http::query_param;
use crate::telemetry::redact;

/// A successful answer, before it becomes an HTTP response.
#[derive(Debug)]
pub enum Reply {
    /// A status and the JSON body, already serialized (once, straight from the model).
    Json(StatusCode, Vec<u8>),
    /// A list as CSV (`format=csv`).
    Csv(Vec<u8>),
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

/// The list envelope: `size` is the number of items on this page, `total` all matches. Items are
/// whole views, or (with `fields=`) JSON objects holding the selected fields.
#[derive(Debug, Serialize)]
pub struct ClusterLogList<T: Serialize> {
    kind: &'static str,
    page: u32,
    size: usize,
    total: u64,
    items: Vec<T>,
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
        Ok(Reply::Csv(body)) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .body(Body::from(body))
            .unwrap_or_default(),
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
        tracing::error!(operation_id, error = %redact(&error.to_string()), "request failed");
    } else {
        tracing::info!(operation_id, status = code.status(), reason = %redact(&error.to_string()), "request refused");
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
    let mut response = json_response(status, &body);
    if code == super::ErrorCode::Unavailable {
        // DynamoDB was unreachable or throttled after the SDK's own retries: a second is enough
        // for a throttled partition to refill.
        response.headers_mut().insert(
            header::RETRY_AFTER,
            lambda_http::http::HeaderValue::from_static(crate::http::RETRY_AFTER_SECONDS),
        );
    }
    response
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

/// Item fields a list may be limited to (`fields=`), besides `id`, which is always sent.
const SELECTABLE: [&str; 2] = ["kind", "href"];

/// `fields=a,b`: the item fields to send, `id` first and always; `None` for all of them.
fn selected_fields(text: Option<&str>) -> Result<Option<Vec<&'static str>>, ClusterLogError> {
    let Some(text) = text.filter(|text| !text.trim().is_empty()) else {
        return Ok(None);
    };
    let mut fields = vec!["id"];
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let field = SEARCH_FIELDS
            .iter()
            .chain(&SELECTABLE)
            .find(|known| **known == name)
            .ok_or_else(|| {
                ClusterLogError::BadRequest(format!(
                    "fields: unknown field '{name}'; fields are {}",
                    SEARCH_FIELDS
                        .iter()
                        .chain(&SELECTABLE)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if !fields.contains(field) {
            fields.push(field);
        }
    }
    Ok(Some(fields))
}

/// The text of one CSV cell: absent text is empty, a list its elements separated by spaces.
fn cell(log: &ClusterLog, field: &str) -> String {
    match field {
        "kind" => "ClusterLog".to_owned(),
        "href" => log.href(),
        _ => values_of(log, field).join(" "),
    }
}

/// A header row, then one row per log (RFC 4180 quoting, by the csv crate).
fn csv_body(logs: &[ClusterLog], fields: &[&str]) -> Result<Vec<u8>, ClusterLogError> {
    let failed = |error: csv::Error| {
        ClusterLogError::Store(crate::dynamo::StoreError::Rejected(format!(
            "CSV not written: {error}"
        )))
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(fields).map_err(failed)?;
    for log in logs {
        writer
            .write_record(fields.iter().map(|field| cell(log, field)))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|error| failed(error.into_error().into()))
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
    let mut filter = ClusterLogFilter::new(
        scope,
        Visibility::of(&caller),
        query_param(request, "search"),
    )?;
    // The Go SDK sends `order`, osdctl and the web UI `orderBy`.
    let order = query_param(request, "orderBy").or_else(|| query_param(request, "order"));
    filter.order = order.map(ClusterLogOrder::parse).transpose()?.flatten();
    let fields = selected_fields(query_param(request, "fields"))?;
    let csv = match query_param(request, "format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ClusterLogError::BadRequest(format!(
                "format: '{other}' is not json or csv"
            )));
        }
    };
    let found = state.store.list(&filter, &page).await?;
    if csv {
        let columns = fields.as_deref().unwrap_or(&SEARCH_FIELDS);
        return Ok(Reply::Csv(csv_body(&found.items, columns)?));
    }
    let views = found.items.iter().map(ClusterLogView::from);
    let Some(fields) = fields else {
        return Ok(Reply::ok(ClusterLogList {
            kind: "ClusterLogList",
            page: page.page,
            size: found.items.len(),
            total: found.total,
            items: views.collect(),
        }));
    };
    let items: Vec<serde_json::Value> = views
        .map(|view| match serde_json::to_value(view) {
            Ok(serde_json::Value::Object(mut item)) => {
                item.retain(|name, _| fields.contains(&name.as_str()));
                serde_json::Value::Object(item)
            }
            other => other.unwrap_or_default(),
        })
        .collect();
    Ok(Reply::ok(ClusterLogList {
        kind: "ClusterLogList",
        page: page.page,
        size: items.len(),
        total: found.total,
        items,
    }))
}
