//! POST /api/service_logs/v1/cluster_logs: the Lambda entry point of `functions::cluster_logs_create`; builds its state once, at cold start.

use lambda_http::{Error, service_fn};
use shared::cluster_logs::ClusterLogsState;
use shared::http::run;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = ClusterLogsState::from_env().await?;
    run(service_fn(|request| {
        functions::cluster_logs_create::handler(&state, request)
    }))
    .await
}
