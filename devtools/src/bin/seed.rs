//! `make seed`: writes the demo data set into the local tables of `make dev`.

use shared::cluster_logs::ClusterLogStore;
use shared::system_logs::SystemLogStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = shared::dynamo::client_from_env().await;
    let system_logs = SystemLogStore::new(
        client.clone(),
        shared::dynamo::table_name(shared::system_logs::TABLE_VAR)?,
    );
    let cluster_logs = ClusterLogStore::new(
        client,
        shared::dynamo::table_name(shared::cluster_logs::TABLE_VAR)?,
    );
    let started = std::time::Instant::now();
    let seeded = devtools::seed::seed(&system_logs, &cluster_logs).await?;
    println!(
        "system logs: {} stored, {} already there; cluster logs: {} stored, {} already there ({:.1} s)",
        seeded.system_logs_stored,
        seeded.system_logs_already_there,
        seeded.cluster_logs_stored,
        seeded.cluster_logs_already_there,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
