use lambda_runtime::{Error, run, service_fn};
use system_logs_ingest::IngestState;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = IngestState::from_env().await?;
    run(service_fn(|event| {
        system_logs_ingest::handler(&state, event)
    }))
    .await
}
