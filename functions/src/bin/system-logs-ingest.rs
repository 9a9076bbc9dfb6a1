//! CloudWatch Logs subscription and SQS -> system logs: the Lambda entry point of `functions::system_logs_ingest`; builds its state once, at cold start.

use functions::system_logs_ingest::IngestState;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = IngestState::from_env().await?;
    run(service_fn(|event| {
        functions::system_logs_ingest::handler(&state, event)
    }))
    .await
}
