//! Reading what a request carries, the same way for every function: parameters, JSON bodies, ids.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;

/// Largest request body read, in bytes. API Gateway would pass up to 10 MB; no log needs more than
/// this, and a log of it still fits DynamoDB's 400 KB item limit with its index attributes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// `Retry-After` of a 503 (DynamoDB unreachable or throttled after the SDK's retries), in seconds:
/// about what a throttled partition needs to refill.
pub const RETRY_AFTER_SECONDS: &str = "1";

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
