//! Scheduled: the per-source cap of system logs: the Lambda entry point of `functions::system_logs_cap`; builds its state once, at cold start.

use functions::system_logs_cap::CapState;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = CapState::from_env().await?;
    run(service_fn(|event| {
        functions::system_logs_cap::handler(&state, event)
    }))
    .await
}
