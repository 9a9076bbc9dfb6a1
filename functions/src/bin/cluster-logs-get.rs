//! GET /api/service_logs/v1/cluster_logs/{id}: the Lambda entry point of `functions::cluster_logs_get`; builds its state once, at cold start.

use lambda_http::{Error, service_fn};
use shared::cluster_logs::ClusterLogsState;
use shared::http::run;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = ClusterLogsState::from_env().await?;
    run(service_fn(|request| {
        functions::cluster_logs_get::handler(&state, request)
    }))
    .await
}
