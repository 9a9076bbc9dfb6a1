//! GET /openapi.yaml: the Lambda entry point of `functions::openapi_spec`; builds its state once, at cold start.

use lambda_http::{Error, service_fn};
use shared::http::run;
use shared::identity::Authenticator;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let auth = Authenticator::from_env();
    run(service_fn(|request| {
        functions::openapi_spec::handler(&auth, request)
    }))
    .await
}
