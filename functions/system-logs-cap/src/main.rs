use lambda_runtime::{Error, run, service_fn};
use system_logs_cap::CapState;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = CapState::from_env().await?;
    run(service_fn(|event| system_logs_cap::handler(&state, event))).await
}
