//! GET /openapi.yaml: the contract of both APIs, as built into this binary, to any authenticated
//! caller (deployed, API Gateway's JWT authorizer guards it as it guards every route).

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Error, Request, Response};
use shared::cluster_logs::ClusterLogError;
use shared::cluster_logs::request::respond;
use shared::identity::Authenticator;

/// openapi.yaml at the workspace root, built in: a function serves the contract it was built with.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

pub async fn handler(auth: &Authenticator, request: Request) -> Result<Response<Body>, Error> {
    if let Err(error) = auth.authenticate(&request) {
        return Ok(respond(&request, Err(ClusterLogError::Auth(error))));
    }
    let mut response = Response::new(Body::from(OPENAPI_YAML));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    Ok(response)
}
