//! Reading what a request carries, the same way for every function: parameters, JSON bodies, ids.

use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Body, IntoResponse, LambdaEvent, Request, RequestExt, Service};
use lambda_runtime::Diagnostic;
use serde::de::DeserializeOwned;

/// Runs an HTTP handler the way `lambda_http::run` does, after making the event one that lambda_http
/// can turn into a request. It builds the URI from the raw query string and the Host header and
/// panics when `http::Uri` rejects them (a raw space, `"` or `|`: aws-lambda-rust-runtime#515); with
/// `panic = "abort"` that would kill the function on a crafted URL. Found by the property tests.
pub async fn run<'a, R, S, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: std::fmt::Debug + Into<Diagnostic>,
{
    let adapter = Adapter::from(handler).map_request(|mut event: LambdaEvent<LambdaRequest>| {
        make_uri_safe(&mut event.payload);
        event
    });
    lambda_runtime::run(adapter).await
}

/// Percent-encodes what a URI may not hold raw in the query string, and drops a Host or
/// X-Forwarded-Proto that could not start a URL (the API's domain name stands in). What the query
/// means is unchanged: its parameters are decoded from the same text.
pub fn make_uri_safe(request: &mut LambdaRequest) {
    let LambdaRequest::ApiGatewayV2(event) = request else {
        // REST API and ALB events have their query parameters encoded by lambda_http itself.
        return;
    };
    if let Some(query) = event.raw_query_string.as_mut() {
        *query = uri_safe_query(query);
    }
    if let Some(path) = event
        .raw_path
        .as_mut()
        .filter(|path| !path.starts_with('/'))
    {
        path.insert(0, '/');
    }
    let forwarded_proto = "x-forwarded-proto";
    if event
        .headers
        .get(forwarded_proto)
        .is_some_and(|value| !matches!(value.to_str(), Ok("http" | "https")))
    {
        event.headers.remove(forwarded_proto);
    }
    // lambda_http parses `https://{host}{path}` as a URL, then as a URI, and unwraps both.
    let starts_a_url = |host: &str| {
        url::Url::parse(&format!("https://{host}/"))
            .is_ok_and(|url| url.as_str().parse::<lambda_http::http::Uri>().is_ok())
    };
    let host = lambda_http::http::header::HOST;
    if event
        .headers
        .get(&host)
        .is_some_and(|value| !value.to_str().is_ok_and(starts_a_url))
    {
        event.headers.remove(&host);
    }
    if event
        .request_context
        .domain_name
        .as_deref()
        .is_some_and(|name| !starts_a_url(name))
    {
        event.request_context.domain_name = None;
    }
}

/// The query with every byte outside RFC 3986's query characters percent-encoded.
fn uri_safe_query(query: &str) -> String {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
    if query.bytes().all(allowed) {
        return query.to_owned();
    }
    let mut safe = String::with_capacity(query.len() + 16);
    for byte in query.bytes() {
        if allowed(byte) {
            safe.push(char::from(byte));
        } else {
            safe.push_str(&format!("%{byte:02X}"));
        }
    }
    safe
}

/// Largest request body read, in bytes. API Gateway would pass up to 10 MB; no log needs more than
/// this, and a log of it still fits DynamoDB's 400 KB item limit with its index attributes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// `Retry-After` of a 503 (DynamoDB unreachable or throttled after the SDK's retries), in seconds:
/// about what a throttled partition needs to refill.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// Headers every answer of both APIs carries: no browser may guess another type than the one
/// declared (a CSV or a JSON body holding `<script>` stays text).
pub fn add_safety_headers(headers: &mut lambda_http::http::HeaderMap) {
    headers.insert(
        lambda_http::http::header::X_CONTENT_TYPE_OPTIONS,
        lambda_http::http::HeaderValue::from_static("nosniff"),
    );
}

/// Most bytes of one answer as Lambda hands it back (its 6 MB limit on a synchronous response,
/// less room for the status and headers): a larger one would be API Gateway's 5xx.
pub const RESPONSE_MAX_BYTES: usize = 6 * 1024 * 1024 - 32 * 1024;

/// Bodies smaller than this are sent as they are: gzip would save little.
const COMPRESS_FROM_BYTES: usize = 1024;

/// A body as it is sent, and whether it is gzip-compressed (`Content-Encoding: gzip`).
#[derive(Debug)]
pub struct Encoded {
    pub body: Body,
    pub gzip: bool,
}

/// The body sent would not fit one response: its size as Lambda would send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the answer is {0} bytes as sent, more than the {RESPONSE_MAX_BYTES} one response may hold"
)]
pub struct TooLargeToSend(pub usize);

/// An answer's bytes as they are sent: gzip-compressed when the client accepts gzip (browsers, Go's
/// client, httpx and requests all do) and the body is worth it; text as text, since Lambda would
/// send other bytes base64-encoded, a third larger. Refused when it would not fit one response.
pub fn encode(request: &Request, bytes: Vec<u8>) -> Result<Encoded, TooLargeToSend> {
    let (body, gzip) = if bytes.len() >= COMPRESS_FROM_BYTES && accepts_gzip(request) {
        match gzip(&bytes) {
            Ok(compressed) => (Body::Binary(compressed), true),
            // Compressing into memory does not fail; were it to, the body goes as it is.
            Err(_) => (text_or_binary(bytes), false),
        }
    } else {
        (text_or_binary(bytes), false)
    };
    let sent = match &body {
        Body::Empty => 0,
        // Sent as a JSON string: quotes, backslashes and control characters are escaped.
        Body::Text(text) => {
            text.len()
                + text
                    .bytes()
                    .map(|byte| match byte {
                        b'"' | b'\\' => 1,
                        0..0x20 => 5,
                        _ => 0,
                    })
                    .sum::<usize>()
        }
        Body::Binary(bytes) => bytes.len().div_ceil(3) * 4,
        _ => 0,
    };
    if sent > RESPONSE_MAX_BYTES {
        return Err(TooLargeToSend(sent));
    }
    Ok(Encoded { body, gzip })
}

fn text_or_binary(bytes: Vec<u8>) -> Body {
    match String::from_utf8(bytes) {
        Ok(text) => Body::Text(text),
        Err(error) => Body::Binary(error.into_bytes()),
    }
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Whether `Accept-Encoding` takes gzip: listed (or `*`) without `q=0`.
pub fn accepts_gzip(request: &Request) -> bool {
    request
        .headers()
        .get_all(lambda_http::http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|parameter| {
                parameter
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Why a JSON body could not be read: a 413 when too large, else a 400 with this text as its reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("The request body is {0} bytes; at most {MAX_BODY_BYTES} bytes are accepted")]
    TooLarge(usize),
    #[error("The request body is empty; send a JSON object")]
    Empty,
    #[error("The request body is not valid JSON: {0}")]
    NotJson(String),
    #[error("The request body must be a JSON object")]
    NotAnObject,
    #[error("Field '{field}' {problem}")]
    WrongType { field: String, problem: String },
}

/// Deserializes a JSON object body into `T`, naming the offending field on a type error.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, BodyError> {
    let bytes = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge(bytes.len()));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::Empty);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if field != "." => BodyError::WrongType {
                field,
                problem: data_problem(&inner),
            },
            serde_json::error::Category::Data => BodyError::NotAnObject,
            _ => BodyError::NotJson(inner.to_string()),
        }
    })?;
    deserializer
        .end()
        .map_err(|error| BodyError::NotJson(error.to_string()))?;
    Ok(parsed)
}

/// Deserializes an already parsed JSON object into `T`, naming the offending field on a type error.
pub fn json_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, BodyError> {
    if !value.is_object() {
        return Err(BodyError::NotAnObject);
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        let inner = error.into_inner();
        BodyError::WrongType {
            field,
            problem: data_problem(&inner),
        }
    })
}

/// serde's message without its "at line 1 column 9" suffix, which means nothing to an API caller.
fn data_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    format!("has the wrong type: {text}")
}

/// The first value of a query parameter, with empty values treated as absent (as clients send `?x=`).
pub fn query_param<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.first(name))
        .filter(|value| !value.is_empty())
}

/// A path parameter as API Gateway (or the local router) captured it.
pub fn path_param<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
        .filter(|value| !value.is_empty())
}

/// The id a caller can quote to find this request in the logs: API Gateway's request id, else Lambda's.
pub fn request_id(request: &Request) -> String {
    let gateway_id = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(context)) => context.request_id.clone(),
        _ => None,
    };
    gateway_id
        .or_else(|| {
            request
                .lambda_context_ref()
                .map(|context| context.request_id.clone())
        })
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| ulid::Ulid::new().to_string())
}

/// An API Gateway HTTP API event with this raw query string and Host, as the functions' runtime
/// turns it into a request (after [`make_uri_safe`]).
#[cfg(test)]
pub(crate) fn http_api_request(raw_query: &str, host: &str, params: serde_json::Value) -> Request {
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "GET /x", "rawPath": "/x", "rawQueryString": raw_query,
        "queryStringParameters": params, "headers": {"host": host, "x-forwarded-proto": host},
        "requestContext": {"accountId": "1", "apiId": "a", "domainName": "api.example.com",
            "stage": "$default", "requestId": "r", "routeKey": "GET /x", "time": "", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/x", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"}},
        "isBase64Encoded": false,
    });
    let mut lambda_request: LambdaRequest =
        serde_json::from_value(event).expect("an API Gateway HTTP API event");
    make_uri_safe(&mut lambda_request);
    Request::from(lambda_request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_space_or_quote_in_the_query_keeps_its_meaning_instead_of_aborting() {
        let request = http_api_request(
            "search=severity = 'Info'&fields=\"id\"|summary&q=100%",
            "api.example.com",
            serde_json::Value::Null,
        );
        assert_eq!(query_param(&request, "search"), Some("severity = 'Info'"));
        assert_eq!(query_param(&request, "fields"), Some("\"id\"|summary"));
        assert_eq!(query_param(&request, "q"), Some("100%"));
    }
}
