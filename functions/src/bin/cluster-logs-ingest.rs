//! SQS -> cluster logs, each message stored once: the Lambda entry point of `functions::cluster_logs_ingest`; builds its state once, at cold start.

use functions::cluster_logs_ingest::IngestState;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = IngestState::from_env().await?;
    run(service_fn(|event| {
        functions::cluster_logs_ingest::handler(&state, event)
    }))
    .await
}
