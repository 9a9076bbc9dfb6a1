//! The system-logs API on the wire: DRF-style bodies and errors, the `Link` and `X-Result-Count`
//! pagination headers, HEAD and 405. Functions call these; nothing else writes a response.

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::{SystemLog, SystemLogError, SystemLogsState};
use crate::identity::{Caller, Role};
use crate::telemetry::redact;

/// A successful answer: a JSON body and any pagination headers.
#[derive(Debug)]
pub struct Reply {
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(body: &impl Serialize) -> Self {
        Reply {
            body: serde_json::to_vec(body).unwrap_or_default(),
            headers: Vec::new(),
        }
    }

    /// A page of a paginated list, with `X-Result-Count` and `Link` as Waldur sends them.
    pub fn page(
        request: &Request,
        body: &impl Serialize,
        count: u64,
        page: u64,
        pages: u64,
        cursor: Option<&str>,
    ) -> Self {
        let mut reply = Reply::json(body);
        reply.headers.push(("x-result-count", count.to_string()));
        reply
            .headers
            .push(("link", link_header(request, page, pages, cursor)));
        reply
    }
}

/// A log as sent: `created` the way Python's `isoformat()` writes it, every key always present.
#[derive(Debug, Serialize)]
pub struct SystemLogView<'a> {
    id: u64,
    created: String,
    source: &'a str,
    instance: &'a str,
    level: &'a str,
    level_number: u8,
    logger_name: &'a str,
    message: &'a str,
    context: &'a serde_json::Value,
}

impl<'a> From<&'a SystemLog> for SystemLogView<'a> {
    fn from(log: &'a SystemLog) -> Self {
        Self {
            id: log.id,
            created: python_isoformat(&log.created),
            source: &log.source,
            instance: &log.instance,
            level: &log.level,
            level_number: log.level_number,
            logger_name: &log.logger_name,
            message: &log.message,
            context: &log.context,
        }
    }
}

/// `2026-02-15T14:58:23.123456Z` as `2026-02-15T14:58:23.123456+00:00`; no fraction when it is zero.
pub fn python_isoformat(stored: &str) -> String {
    let base = stored.strip_suffix('Z').unwrap_or(stored);
    let base = base.strip_suffix(".000000").unwrap_or(base);
    format!("{base}+00:00")
}

/// Authenticates, checks the reader role, then the method: DRF checks credentials before methods.
pub fn admit(state: &SystemLogsState, request: &Request) -> Result<Caller, SystemLogError> {
    let caller = state.auth.authenticate(request)?;
    caller.require(Role::SystemLogsReader)?;
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Err(SystemLogError::MethodNotAllowed(
            request.method().to_string(),
        ));
    }
    Ok(caller)
}

/// Turns a handler's outcome into the HTTP response; HEAD gets the headers without the body.
pub fn respond(request: &Request, outcome: Result<Reply, SystemLogError>) -> Response<Body> {
    let (status, body, headers) = match outcome {
        Ok(reply) => (StatusCode::OK, reply.body, reply.headers),
        Err(error) => {
            let status = error.status();
            if status >= 500 {
                tracing::error!(request_id = crate::http::request_id(request), error = %redact(&error.to_string()), "request failed");
            } else {
                tracing::info!(request_id = crate::http::request_id(request), status, reason = %redact(&error.to_string()), "request refused");
            }
            let mut headers = Vec::new();
            match &error {
                SystemLogError::Auth(crate::identity::AuthError::MissingCredentials)
                | SystemLogError::Auth(crate::identity::AuthError::InvalidToken) => {
                    headers.push(("www-authenticate", "Bearer".to_owned()));
                }
                SystemLogError::MethodNotAllowed(_) => {
                    headers.push(("allow", "GET, HEAD".to_owned()))
                }
                SystemLogError::Store(error) if error.is_unavailable() => {
                    headers.push(("retry-after", crate::http::RETRY_AFTER_SECONDS.to_owned()));
                }
                _ => {}
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                status,
                serde_json::to_vec(&error.body()).unwrap_or_default(),
                headers,
            )
        }
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response = response.header(name, value);
        }
    }
    let body = if request.method() == Method::HEAD {
        Body::Empty
    } else {
        Body::from(body)
    };
    response.body(body).unwrap_or_default()
}

/// The `Link` header: `first` and `last` always, `prev`/`next` when they exist. URLs are absolute,
/// with the query keys sorted and form-encoded (Django's `replace_query_param`); `first`, and
/// `prev` to page 1, drop `page`. `next` also carries a `cursor` for constant-cost paging.
fn link_header(request: &Request, page: u64, pages: u64, cursor: Option<&str>) -> String {
    let base = absolute_path(request);
    let mut kept: Vec<(String, String)> = request
        .query_string_parameters_ref()
        .map(|params| {
            params
                .iter()
                .filter(|(key, _)| *key != "page" && *key != "cursor")
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let url = |page: Option<u64>, cursor: Option<&str>| {
        let mut pairs = kept.clone();
        if let Some(cursor) = cursor {
            pairs.push(("cursor".to_owned(), cursor.to_owned()));
        }
        if let Some(page) = page {
            pairs.push(("page".to_owned(), page.to_string()));
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let query: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("{}={}", form_encode(key), form_encode(value)))
            .collect();
        if query.is_empty() {
            base.clone()
        } else {
            format!("{base}?{}", query.join("&"))
        }
    };
    let mut links = vec![format!("<{}>; rel=\"first\"", url(None, None))];
    if page > 1 {
        let previous = (page > 2).then_some(page - 1);
        links.push(format!("<{}>; rel=\"prev\"", url(previous, None)));
    }
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", url(Some(page + 1), cursor)));
    }
    links.push(format!("<{}>; rel=\"last\"", url(Some(pages), None)));
    links.join(", ")
}

/// `scheme://host/path` of this request, as the client addressed it.
fn absolute_path(request: &Request) -> String {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".to_owned());
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let local = host.starts_with("127.")
                || host.starts_with("localhost")
                || host.starts_with("[::1]");
            if local { "http" } else { "https" }.to_owned()
        });
    format!("{scheme}://{host}{}", request.uri().path())
}

/// application/x-www-form-urlencoded, as Python's `urlencode` writes it.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_reads_like_python_isoformat() {
        assert_eq!(
            python_isoformat("2026-02-15T14:58:23.123456Z"),
            "2026-02-15T14:58:23.123456+00:00"
        );
        assert_eq!(
            python_isoformat("2026-02-15T14:58:23.000000Z"),
            "2026-02-15T14:58:23+00:00"
        );
    }

    #[test]
    fn query_values_are_form_encoded() {
        assert_eq!(form_encode("waldur core.x/y"), "waldur+core.x%2Fy");
        assert_eq!(form_encode("-created,id"), "-created%2Cid");
        assert_eq!(form_encode("é"), "%C3%A9");
    }
}
