//! `make seed`: writes the demo data set into the local tables of `make dev`, through the ingest
//! functions' handlers (CloudWatch Logs deliveries for system logs, SQS batches for cluster logs).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system_logs = functions::system_logs_ingest::IngestState::from_env().await?;
    let cluster_logs = functions::cluster_logs_ingest::IngestState::from_env().await?;
    let started = std::time::Instant::now();
    let seeded = devtools::seed::seed(&system_logs, &cluster_logs).await?;
    println!(
        "system logs: {} stored, {} already there; clusters: {} registered; cluster logs: {} delivered ({:.1} s)",
        seeded.system_logs_stored,
        seeded.system_logs_already_there,
        seeded.clusters_registered,
        seeded.cluster_logs_delivered,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
