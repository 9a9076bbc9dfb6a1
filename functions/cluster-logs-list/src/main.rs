use lambda_http::{Error, service_fn};
use shared::cluster_logs::ClusterLogsState;
use shared::http::run;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = ClusterLogsState::from_env().await?;
    run(service_fn(|request| {
        cluster_logs_list::handler(&state, request)
    }))
    .await
}
