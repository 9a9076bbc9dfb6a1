//! `make measure-reads [LOGS=10000]`: writes LOGS system logs into a fresh table on DynamoDB Local
//! through the write path, then prints the capacity each read of the system-logs API consumes.

use devtools::capacity::{Consumed, metered_client};
use devtools::template::{Template, default_template_path};
use shared::system_logs::{Ordering, PageNumber, PageSpec, SystemLogFilter, SystemLogStore};

const PAGE_SIZE: u64 = 10;

fn row(name: &str, consumed: Consumed) {
    println!(
        "| {name} | {:.1} | {} |",
        consumed.read_units, consumed.requests
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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

    let page = |number| PageSpec {
        page: PageNumber::Number(number),
        size: PAGE_SIZE,
        cursor: None,
    };
    let all = SystemLogFilter::default();
    let newest = Ordering::default();
    meter.take();
    let first = store.list(&all, &newest, &page(1)).await?;
    row("list, first page", meter.take());
    store.list(&all, &newest, &page(50)).await?;
    row("list, page 50 (by page number)", meter.take());
    let mut cursor = first.next_cursor.clone();
    for number in 2..50 {
        let spec = PageSpec {
            cursor: cursor
                .as_deref()
                .and_then(shared::system_logs::Cursor::decode),
            ..page(number)
        };
        cursor = store.list(&all, &newest, &spec).await?.next_cursor;
    }
    meter.take();
    let spec = PageSpec {
        cursor: cursor
            .as_deref()
            .and_then(shared::system_logs::Cursor::decode),
        ..page(50)
    };
    store.list(&all, &newest, &spec).await?;
    row("list, page 50 (by the next link's cursor)", meter.take());
    let errors = SystemLogFilter {
        level: Some(40),
        ..SystemLogFilter::default()
    };
    store.list(&errors, &newest, &page(1)).await?;
    row("list, first page, level=ERROR", meter.take());
    let worker = SystemLogFilter {
        source: Some("worker".into()),
        ..SystemLogFilter::default()
    };
    store.list(&worker, &newest, &page(1)).await?;
    row("list, first page, source=worker", meter.take());
    let text = SystemLogFilter {
        message: Some("timeout".into()),
        ..SystemLogFilter::default()
    };
    store.list(&text, &newest, &page(1)).await?;
    row(
        "list, first page, message=timeout (counts by reading)",
        meter.take(),
    );
    let id = first.logs.first().map(|log| log.id).unwrap_or(0);
    store.get(id).await?;
    row("retrieve", meter.take());
    let aggregates = store.aggregates().await?;
    store.size_bytes().await?;
    row("stats", meter.take());
    store.aggregates().await?;
    for aggregate in aggregates.iter().take(PAGE_SIZE as usize) {
        store
            .last_seen(&aggregate.source, &aggregate.instance)
            .await?;
    }
    row("instances, first page", meter.take());
    println!(
        "\nWrites: {:.2} WCU per log as DynamoDB Local reports it ({} write requests); {} instances.",
        written.write_units / logs as f64,
        written.requests,
        aggregates.len()
    );
    Ok(())
}
