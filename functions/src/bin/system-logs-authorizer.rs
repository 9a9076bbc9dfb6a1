//! The system-log routes' Lambda authorizer: the entry point of `functions::system_logs_authorizer`;
//! builds its state (the issuer's keys and Waldur, both fetched on first use) once, at cold start.

use lambda_runtime::{Error, run, service_fn};
use shared::authorizer::Authorizer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = Authorizer::from_env()?;
    run(service_fn(|event| {
        functions::system_logs_authorizer::handler(&state, event)
    }))
    .await
}
