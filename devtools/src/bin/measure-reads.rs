//! `make measure-reads [LOGS=10000]`: writes LOGS system logs into a fresh table on DynamoDB Local
//! through the write path, then prints the capacity each read of the system-logs API consumes.

use devtools::capacity::{Consumed, metered_client};
use devtools::reads::{PAGE_SIZE, system_log_reads};
use devtools::template::{Template, default_template_path};
use shared::system_logs::SystemLogStore;

fn row(name: &str, consumed: Consumed) {
    println!(
        "| {name} | {:.1} | {} |",
        consumed.read_units, consumed.requests
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let logs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let (client, meter) = metered_client().await;
    let name = format!("SystemLogsTable-measure-{}", ulid::Ulid::new());
    Template::load(&default_template_path())?.tables()?["SystemLogsTable"]
        .create(&client, &name)
        .await?;
    let store = SystemLogStore::new(client, name);

    let started = std::time::Instant::now();
    let records: Vec<_> = devtools::seed::system_log_records_of(logs)
        .into_iter()
        .enumerate()
        .map(|(n, record)| (format!("measure#{n}"), record))
        .collect();
    for chunk in records.chunks(10_000) {
        for result in store.write(chunk.to_vec()).await {
            result?;
        }
    }
    let written = meter.take();
    eprintln!(
        "wrote {logs} logs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "Read capacity at {logs} system logs (page_size {PAGE_SIZE}; eventually consistent reads):\n"
    );
    println!("| request | RCU | DynamoDB requests |\n|---|---|---|");
    for read in system_log_reads(&store, &meter, true).await? {
        row(read.name, read.consumed);
    }
    let aggregates = store.aggregates().await?;
    println!(
        "\nWrites: {:.2} WCU per log as DynamoDB Local reports it ({} write requests); {} instances.",
        written.write_units / logs as f64,
        written.requests,
        aggregates.len()
    );
    Ok(())
}
