//! GET /api/system-logs/stats/: the Lambda entry point of `functions::system_logs_stats`; builds its state once, at cold start.

use lambda_http::{Error, service_fn};
use shared::http::run;
use shared::system_logs::SystemLogsState;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = SystemLogsState::from_env().await?;
    run(service_fn(|request| {
        functions::system_logs_stats::handler(&state, request)
    }))
    .await
}
