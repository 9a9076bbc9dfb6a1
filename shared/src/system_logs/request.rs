//! The system-log API's edge, the only system-log code that knows lambda_http: query parameters
//! into crate::system_logs::query's values, a handler's outcome into the response (DRF-style
//! errors, the pagination headers of crate::system_logs::wire, HEAD and 405).

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::wire::{LINK_HEADER, RESULT_COUNT_HEADER, link_header};
use super::{Ordering, PageSpec, QueryParams, SystemLogError, SystemLogFilter, SystemLogsState};
use crate::identity::{Caller, Role};
use crate::telemetry::redact;

/// A successful answer: a JSON body and any pagination headers.
#[derive(Debug)]
pub struct Reply {
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(body: &impl Serialize) -> Result<Self, SystemLogError> {
        let body = serde_json::to_vec(body)
            .map_err(|error| SystemLogError::Internal(format!("body not serialized: {error}")))?;
        Ok(Reply {
            body,
            headers: Vec::new(),
        })
    }

    /// A page of a paginated list, with `X-Result-Count` and `Link` as Waldur sends them.
    pub fn page(
        request: &Request,
        body: &impl Serialize,
        count: u64,
        page: u64,
        pages: u64,
        cursor: Option<&str>,
    ) -> Result<Self, SystemLogError> {
        let mut reply = Reply::json(body)?;
        reply.headers.push((RESULT_COUNT_HEADER, count.to_string()));
        let link = link_header(
            &absolute_path(request),
            &params(request),
            page,
            pages,
            cursor,
        );
        reply.headers.push((LINK_HEADER, link));
        Ok(reply)
    }
}

/// Authenticates, checks the reader role, then the method: DRF checks credentials before methods.
pub async fn admit(state: &SystemLogsState, request: &Request) -> Result<Caller, SystemLogError> {
    let caller = state.auth.authenticate(request).await?;
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
                SystemLogError::Auth(crate::identity::AuthError::Unavailable) => {
                    headers.push(("retry-after", crate::http::RETRY_AFTER_SECONDS.to_owned()));
                }
                _ => {}
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            // A JSON value serializes; were it ever not to, DRF's 500 body stands in.
            let body = serde_json::to_vec(&error.body())
                .unwrap_or_else(|_| br#"{"detail":"A server error occurred."}"#.to_vec());
            (status, body, headers)
        }
    };
    let (body, gzip) = if request.method() == Method::HEAD {
        (Body::Empty, false)
    } else {
        match crate::http::encode(request, body) {
            Ok(encoded) => (encoded.body, encoded.gzip),
            Err(too_large) => {
                return respond(request, Err(SystemLogError::TooLargeToSend(too_large.0)));
            }
        }
    };
    // Built piece by piece, so that building it cannot fail.
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let fields = response.headers_mut();
    fields.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    fields.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    crate::http::add_safety_headers(fields);
    if gzip {
        fields.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            fields.insert(name, value);
        }
    }
    response
}

/// The query parameters as sent, repeated names kept.
pub fn params(request: &Request) -> QueryParams {
    let pairs = request.query_string_parameters_ref().map(|params| {
        params
            .iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    });
    QueryParams(pairs.unwrap_or_default())
}

/// Everything a list request asks for (crate::system_logs::list_request).
pub fn list_request(
    request: &Request,
) -> Result<(SystemLogFilter, Ordering, PageSpec), SystemLogError> {
    super::list_request(&params(request))
}

/// The list filters of a request (retrieve applies them too).
pub fn filter(request: &Request) -> Result<SystemLogFilter, SystemLogError> {
    SystemLogFilter::from_params(&params(request))
}

/// The page a request asks for.
pub fn page(request: &Request) -> Result<PageSpec, SystemLogError> {
    PageSpec::from_params(&params(request))
}

/// `scheme://host/path` of this request, as the client addressed it.
pub fn absolute_path(request: &Request) -> String {
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
