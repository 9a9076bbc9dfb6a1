//! The contract and the API's metadata, as built into this binary, to any authenticated caller
//! (deployed, API Gateway's JWT authorizer guards these routes as it guards every route):
//! - `GET /openapi.yaml`: openapi.yaml as written;
//! - `GET /api/service_logs/v1/openapi`: the same document as JSON, where the production service
//!   serves its spec (its docs site syncs from there);
//! - `GET /api/service_logs/v1`: the version metadata, as the production service answers it.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Error, Request, Response};
use serde::Serialize;
use shared::cluster_logs::request::{Reply, respond};
use shared::cluster_logs::{BASE_PATH, ClusterLogError};
use shared::identity::Authenticator;

/// openapi.yaml at the workspace root, built in: a function serves the contract it was built with.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");
/// The same document as JSON (build.rs).
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// `GET /api/service_logs/v1`: which API this is, and the version of the server answering.
#[derive(Debug, Serialize)]
struct Metadata {
    kind: &'static str,
    id: &'static str,
    href: &'static str,
    server_version: &'static str,
}

const METADATA: Metadata = Metadata {
    kind: "Metadata",
    id: "v1",
    href: BASE_PATH,
    server_version: env!("CARGO_PKG_VERSION"),
};

pub async fn handler(auth: &Authenticator, request: Request) -> Result<Response<Body>, Error> {
    let outcome = match auth.authenticate(&request).await {
        Err(error) => Err(ClusterLogError::Auth(error)),
        Ok(_) => match request.uri().path().trim_end_matches('/') {
            path if path == BASE_PATH => Reply::ok(METADATA),
            path if path == format!("{BASE_PATH}/openapi") => Ok(Reply::Json(
                StatusCode::OK,
                OPENAPI_JSON.as_bytes().to_vec(),
            )),
            _ => Ok(Reply::Document(
                "application/yaml",
                OPENAPI_YAML.as_bytes().to_vec(),
            )),
        },
    };
    Ok(respond(&request, outcome))
}
