//! `make bench`: every function's release binary run the way Lambda runs it (a Runtime API
//! emulator hands it events), against DynamoDB Local, next to the yardsticks the issue names: a
//! hello-world `lambda_runtime` binary, a Python 3 + boto3 peer, bare SDK calls and bare
//! BatchWriteItem. Writes bench/results.json, BENCHMARKS.md and bench/chart.svg.

mod figures;
mod load;
mod process;
mod replay;
mod report;
mod runtime_api;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use bytes::Bytes;
use devtools::capacity::{CapacityMeter, metered_client};
use devtools::reads::{cluster_log_reads, system_log_reads};
use devtools::template::{Template, default_template_path};
use serde_json::{Value, json};
use shared::cluster_logs::ClusterLogStore;
use shared::system_logs::SystemLogStore;

use figures::{Figures, Stats};
use load::BoxError;
use process::Running;

/// Cold starts measured per binary.
const COLD_STARTS: usize = 20;
/// First invocations measured per binary (each a fresh process).
const FIRST_INVOCATIONS: usize = 5;
/// Warm invocations per function.
const WARM_INVOCATIONS: usize = 1_000;
/// The ingest batch: one SQS event of this many records.
const INGEST_BATCH: usize = 10_000;
/// Logs of one cluster with the longest description a log holds, for the ILIKE search.
const ILIKE_LOGS: usize = 64;
/// The seed spans 8 days; copies move back by that much.
const SEED_SPAN: time::Duration = time::Duration::days(8);

/// The functions, by crate name, with the sample event each is fed when warm.
const FUNCTIONS: [&str; 15] = [
    "cluster-logs-create",
    "cluster-logs-delete",
    "cluster-logs-get",
    "cluster-logs-ingest",
    "cluster-logs-list",
    "cluster-logs-list-by-cluster",
    "cluster-logs-list-by-uuid",
    "openapi-spec",
    "system-logs-authorizer",
    "system-logs-cap",
    "system-logs-ingest",
    "system-logs-instances",
    "system-logs-list",
    "system-logs-retrieve",
    "system-logs-stats",
];

/// The three routes the warm-latency target names.
const WARM_ROUTES: [&str; 3] = [
    "cluster-logs-get",
    "cluster-logs-list-by-uuid",
    "system-logs-list",
];

struct Bench {
    root: PathBuf,
    release: PathBuf,
    client: Client,
    /// The same SDK client without the capacity meter.
    plain: Client,
    meter: CapacityMeter,
    /// The measured cluster's logs as the write path stored them, and what grows with them.
    cluster_originals: Option<OneCluster>,
    /// The system logs as the write path stored them, their counters, and how many copies are in.
    system_originals: Option<(Vec<shared::dynamo::Item>, Vec<shared::dynamo::Item>)>,
    system_copies: u64,
    system_table: String,
    cluster_table: String,
    figures: Figures,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let root = std::env::current_dir()?;
    let release = root.join("target/release");
    let (client, meter) = metered_client().await;
    let stamp = ulid::Ulid::new().to_string().to_lowercase();
    let tables = Template::load(&default_template_path())?.tables()?;
    let mut names = Vec::new();
    for (logical, kind) in [
        ("SystemLogsTable", "system"),
        ("SystemLogsTable", "system-bare"),
        ("SystemLogsTable", "system-wcu"),
        ("ClusterLogsTable", "cluster"),
        ("ClusterLogsTable", "cluster-ilike"),
    ] {
        let name = format!("bench-{kind}-{stamp}");
        tables[logical].create(&client, &name).await?;
        names.push(name);
    }
    let mut bench = Bench {
        root,
        release,
        client,
        plain: shared::dynamo::client_from_env().await,
        meter,
        cluster_originals: None,
        system_originals: None,
        system_copies: 1,
        system_table: names[0].clone(),
        cluster_table: names[3].clone(),
        figures: Figures::default(),
    };
    if let [_, mode, function, rest @ ..] = std::env::args().collect::<Vec<_>>().as_slice()
        && mode == "profile"
    {
        let invocations = rest
            .first()
            .and_then(|n| n.parse().ok())
            .unwrap_or(WARM_INVOCATIONS);
        return bench.profile(function, invocations).await;
    }
    let started = std::time::Instant::now();
    step(
        "Ingest: one 10,000-record SQS batch through system-logs-ingest, then bare BatchWriteItem",
    );
    bench.ingest(&names[1], &names[2]).await?;
    step("Cluster logs: the demo set through cluster-logs-ingest, metered");
    bench.seed_cluster_logs().await?;
    step("Read cost at 10k system logs and 10k cluster logs");
    bench.system_reads(&[10_000]).await?;
    bench.cluster_reads(&[10_000]).await?;
    // The functions run at 10k of each: DynamoDB Local's DescribeTable (stats) computes the
    // table size live (1.8 s at 1M; constant on AWS), and a per-cluster list's total counts its
    // cluster by reading (docs/data-model.md), ~17k logs a request at 100k.
    step("Functions: cold starts, first invocations, 1,000 warm invocations each");
    bench.functions().await?;
    step("Bare SDK calls for the warm routes");
    bench.bare_calls().await?;
    step("Read cost against table size: 100k and 1M system logs, 100k cluster logs");
    bench.system_reads(&[100_000, 1_000_000]).await?;
    bench.cluster_reads(&[100_000]).await?;
    step("A 4 KB ILIKE over 64K-character descriptions: 64 such logs of one cluster");
    bench.ilike(&names[4]).await?;
    step("Packages");
    bench.packages()?;
    bench.figures.costs();
    bench.figures.elapsed = started.elapsed();
    report::write(&bench.root, &bench.figures)?;
    step("Done: bench/results.json, BENCHMARKS.md and bench/chart.svg");
    Ok(())
}

/// Says what the bench does next, and how long it has run so far.
fn step(what: &str) {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let elapsed = STARTED
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs();
    eprintln!(
        "\x1b[1m==> [{}:{:02}] {what}\x1b[0m",
        elapsed / 60,
        elapsed % 60
    );
}

impl Bench {
    /// The environment every function gets: its tables, DynamoDB Local, and logs kept forever
    /// (the bench's copies reach back years).
    fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("CLUSTER_LOGS_TABLE", self.cluster_table.as_str()),
            ("SYSTEM_LOGS_TABLE", self.system_table.as_str()),
            ("ROLES_CLAIM", "groups"),
            ("RUST_LOG", "info"),
            ("SYSTEM_LOGS_RETENTION_DAYS", "0"),
            ("CLUSTER_LOGS_RETENTION_DAYS", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for name in [
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_EC2_METADATA_DISABLED",
        ] {
            if let Ok(value) = std::env::var(name) {
                env.push((name.to_owned(), value));
            }
        }
        env
    }

    fn binary(&self, name: &str) -> PathBuf {
        match std::env::var_os("BENCH_BINARIES") {
            Some(folder) => PathBuf::from(folder).join(name),
            None => self.release.join(name),
        }
    }

    async fn ingest(&mut self, bare_table: &str, wcu_table: &str) -> Result<(), BoxError> {
        // A live batch: the demo set's sources, instances, levels and messages, all created within
        // the last minute, as a 10,000-record SQS batch of live logs is (the demo set itself spans
        // 8 days, so its batch would take an id block for nearly every record).
        let mut records = devtools::seed::system_log_records_of(INGEST_BATCH);
        let start = devtools::seed::START;
        for (n, record) in records.iter_mut().enumerate() {
            record.created = start + time::Duration::milliseconds(6 * n as i64);
        }
        // What the write path consumes per log, metered in process on its own table. It also warms
        // DynamoDB Local's JVM up, so that neither timed write below pays for its JIT.
        let store = SystemLogStore::new(self.client.clone(), wcu_table);
        self.meter.take();
        let sample: Vec<_> = records
            .iter()
            .cloned()
            .enumerate()
            .map(|(n, record)| (format!("wcu-{n}"), record))
            .collect();
        let count = sample.len();
        for result in store.write(sample).await {
            result?;
        }
        let consumed = self.meter.take();
        eprintln!(
            "    {:.2} WCU per system log",
            consumed.write_units / count as f64
        );
        self.figures.wcu(
            "system log (queue or CloudWatch)",
            consumed.write_units / count as f64,
        );
        let messages: Vec<Value> = records
            .iter()
            .enumerate()
            .map(|(n, record)| {
                Ok(json!({
                    "messageId": format!("bench-{n:06}"),
                    "receiptHandle": "bench",
                    "body": serde_json::to_string(record)?,
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795255200000"},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:system-logs",
                    "awsRegion": "eu-west-1",
                }))
            })
            .collect::<Result<_, serde_json::Error>>()?;
        let event = Bytes::from(serde_json::to_vec(&json!({ "Records": messages }))?);
        let name = "system-logs-ingest";
        let process = Running::start(name, &self.binary(name), &[], &self.env()).await?;
        process.init(name).await?;
        let (took, answer) = process.invoke(name, event).await?;
        process.stop().await;
        let failures = serde_json::from_slice::<Value>(&answer.body)?["batchItemFailures"]
            .as_array()
            .map_or(usize::MAX, Vec::len);
        if !answer.ok || failures != 0 {
            return Err(format!(
                "the ingest batch failed: {}",
                String::from_utf8_lossy(&answer.body)
            )
            .into());
        }
        let ours = INGEST_BATCH as f64 / took.as_secs_f64();

        let (logs, _) = load::split(
            load::scan_all(&self.client, &self.system_table).await?,
            is_system_log,
        );
        let bare_took = load::put_all(&self.client, bare_table, logs.clone()).await?;
        let bare = logs.len() as f64 / bare_took.as_secs_f64();
        eprintln!(
            "    system-logs-ingest: {ours:.0} logs/s; bare BatchWriteItem of the same {} items: {bare:.0} logs/s",
            logs.len()
        );
        self.figures.ingest(ours, bare, logs.len());

        Ok(())
    }

    async fn seed_cluster_logs(&mut self) -> Result<(), BoxError> {
        let state = functions::cluster_logs_ingest::IngestState {
            store: ClusterLogStore::new(self.client.clone(), &self.cluster_table),
            service: shared::cluster_logs::ingest::service_identity_from_env(),
        };
        // The demo clusters' owners first, as `make seed` sends them; not counted as log writes.
        let owners = lambda_runtime::LambdaEvent::new(
            devtools::seed::cluster_messages(),
            lambda_runtime::Context::default(),
        );
        if !functions::cluster_logs_ingest::handler(&state, owners)
            .await?
            .batch_item_failures
            .is_empty()
        {
            return Err("the demo clusters were not all registered".into());
        }
        self.meter.take();
        let mut delivered = 0;
        for batch in devtools::seed::cluster_log_batches()? {
            delivered += batch.records.len();
            let event = lambda_runtime::LambdaEvent::new(batch, lambda_runtime::Context::default());
            let response = functions::cluster_logs_ingest::handler(&state, event).await?;
            if !response.batch_item_failures.is_empty() {
                return Err("the demo cluster logs were not all stored".into());
            }
        }
        let consumed = self.meter.take();
        self.figures.wcu(
            "cluster log (queue)",
            consumed.write_units / delivered as f64,
        );
        Ok(())
    }

    /// Grows the system logs to each of `sizes` and measures the reads there; the originals are
    /// read once, as for the cluster logs.
    async fn system_reads(&mut self, sizes: &[u64]) -> Result<(), BoxError> {
        let system = SystemLogStore::new(self.client.clone(), &self.system_table);
        if self.system_originals.is_none() {
            let (logs, others) = load::split(
                load::scan_all(&self.client, &self.system_table).await?,
                is_system_log,
            );
            let counters = load::counters(&others, "pk", "instance#");
            self.system_copies = 1;
            self.system_originals = Some((logs, counters));
        }
        let Some((logs, counters)) = &self.system_originals else {
            return Ok(());
        };
        let base = logs.len() as u64;
        let mut copies = self.system_copies;
        let max = max_logs();
        for size in sizes.iter().copied().filter(|s| *s <= max) {
            let wanted = size.div_ceil(base);
            if wanted > copies {
                let took = load::grow(
                    &self.client,
                    &self.system_table,
                    &load::SYSTEM_LOGS,
                    (logs, counters),
                    copies..wanted,
                    SEED_SPAN,
                )
                .await?;
                eprintln!(
                    "    {} system logs written in {:.0} s",
                    (wanted - copies) * base,
                    took.as_secs_f64()
                );
                copies = wanted;
                self.system_copies = copies;
            }
            let stored: u64 = system.aggregates().await?.iter().map(|a| a.count()).sum();
            if stored != copies * base {
                return Err(
                    format!("the system-log counts say {stored}, not {}", copies * base).into(),
                );
            }
            // The read that counts by reading grows with the table by design (docs/data-model.md):
            // measured up to 100k, where it already reads every log.
            let reads = system_log_reads(&system, &self.meter, size <= 100_000).await?;
            print_reads(stored, &reads);
            self.figures.reads("system", stored, reads);
        }

        Ok(())
    }

    /// Grows one cluster (the first demo cluster, which the warm per-cluster list reads) to each
    /// of `sizes` logs and measures the reads there. The growth copies that cluster's logs as the
    /// write path stored them, scales its counters, and adds what it added to the table's
    /// counters; the other clusters keep their demo logs.
    async fn cluster_reads(&mut self, sizes: &[u64]) -> Result<(), BoxError> {
        let cluster = ClusterLogStore::new(self.client.clone(), &self.cluster_table);
        if self.cluster_originals.is_none() {
            let (logs, others) = load::split(
                load::scan_all(&self.client, &self.cluster_table).await?,
                is_cluster_log,
            );
            self.cluster_originals = Some(OneCluster::of(logs, &others)?);
        }
        let Some(one) = &mut self.cluster_originals else {
            return Ok(());
        };
        let base = one.logs.len() as u64;
        let max = max_logs();
        for size in sizes.iter().copied().filter(|s| *s <= max) {
            let copies = size.div_ceil(base);
            // The table also holds what the functions wrote meanwhile (cluster-logs-create's warm
            // invocations), so the growth is checked against the total before it.
            let before = all_clusters_total(&cluster).await?;
            // Each growth starts again from the originals: the counters are scaled from theirs.
            let took = load::grow(
                &self.client,
                &self.cluster_table,
                &load::CLUSTER_LOGS,
                (&one.logs, &one.counters),
                one.copies..copies,
                SEED_SPAN,
            )
            .await?;
            let added = copies - 1;
            load::put_all(
                &self.client,
                &self.cluster_table,
                vec![load::added_counter(
                    &one.table_counter,
                    added * one.public,
                    added * (base - one.public),
                )],
            )
            .await?;
            let grown = (copies - one.copies) * base;
            eprintln!(
                "    {grown} cluster logs written in {:.0} s",
                took.as_secs_f64()
            );
            one.copies = copies;
            let in_cluster = copies * base;
            let written = before + grown;
            let reads = cluster_log_reads(&cluster, &self.meter, &one.uuid).await?;
            let total = all_clusters_total(&cluster).await?;
            let cluster_total = devtools::reads::cluster_total(&cluster, &one.uuid).await?;
            print_reads(total, &reads);
            if (total, cluster_total) != (written, in_cluster) {
                return Err(format!(
                    "the cluster-log counters say {total} in all and {cluster_total} in the cluster, not {written} and {in_cluster}"
                )
                .into());
            }
            self.figures.cluster_reads(total, in_cluster, reads);
        }
        Ok(())
    }

    /// The costliest search a caller may send over the longest text a log holds (the case of
    /// tests/limits.rs): a 4 KB ILIKE pattern of wildcards over 64K-character descriptions, once
    /// through the store as the per-cluster route runs it and once the matcher alone.
    async fn ilike(&mut self, table: &str) -> Result<(), BoxError> {
        let state = functions::cluster_logs_ingest::IngestState {
            store: ClusterLogStore::new(self.client.clone(), table),
            service: shared::cluster_logs::ingest::service_identity_from_env(),
        };
        let owners = lambda_runtime::LambdaEvent::new(
            devtools::seed::cluster_messages(),
            lambda_runtime::Context::default(),
        );
        functions::cluster_logs_ingest::handler(&state, owners).await?;
        let texts: Vec<String> = ["", "c", "C"]
            .iter()
            .map(|end| format!("{}{end}", "ab".repeat(32 * 1024 - 1)))
            .collect();
        let mut drafts = devtools::seed::cluster_log_drafts();
        drafts.truncate(ILIKE_LOGS);
        let first = drafts
            .first()
            .map(|(_, _, d)| d.clone())
            .ok_or("no demo cluster log")?;
        let uuid = first
            .cluster_uuid
            .clone()
            .ok_or("a demo log without a cluster")?;
        for (n, (_, _, draft)) in drafts.iter_mut().enumerate() {
            draft.cluster_uuid = first.cluster_uuid.clone();
            draft.cluster_id = first.cluster_id.clone();
            draft.subscription_id = first.subscription_id.clone();
            draft.description = Some(texts[n % texts.len()].clone());
        }
        for batch in devtools::seed::cluster_log_batches_of(&drafts)? {
            let event = lambda_runtime::LambdaEvent::new(batch, lambda_runtime::Context::default());
            let response = functions::cluster_logs_ingest::handler(&state, event).await?;
            if !response.batch_item_failures.is_empty() {
                return Err("the 64K-description logs were not all stored".into());
            }
        }
        let pattern = format!("%{}c", "A_".repeat(2010));
        let search = format!("description ILIKE '{pattern}'");
        let (read, total) = devtools::reads::cluster_search(
            &state.store,
            &self.meter,
            &uuid,
            "per-cluster search, 4 KB ILIKE over 64K descriptions",
            &search,
        )
        .await?;
        let expected = (0..ILIKE_LOGS).filter(|n| n % texts.len() != 0).count() as u64;
        if total != expected {
            return Err(format!("the ILIKE search found {total} logs, not {expected}").into());
        }
        let like = shared::cluster_logs::search::LikePattern::new(&pattern, true);
        let started = std::time::Instant::now();
        let matched = (0..ILIKE_LOGS)
            .filter(|n| like.matches(&texts[n % texts.len()]))
            .count() as u64;
        let per_log = started.elapsed() / ILIKE_LOGS as u32;
        if matched != expected {
            return Err(format!("the matcher alone found {matched} logs, not {expected}").into());
        }
        eprintln!(
            "    {} logs of {} characters, a {}-byte search: {:.1} RCU, {:.1} ms through the store; the matcher alone {:.0} µs per description",
            ILIKE_LOGS,
            texts[0].chars().count(),
            search.len(),
            read.consumed.read_units,
            millis(read.elapsed),
            per_log.as_secs_f64() * 1e6
        );
        self.figures.ilike(
            read,
            ILIKE_LOGS,
            search.len(),
            texts[0].chars().count(),
            per_log,
        );
        Ok(())
    }

    /// The event `function` gets when warm: its sample, pointed at data that exists.
    async fn warm_event(&self, function: &str) -> Result<Value, BoxError> {
        let file = match function {
            "system-logs-ingest" => "system-logs-ingest-sqs".to_owned(),
            other => other.to_owned(),
        };
        let path = self.root.join("events").join(format!("{file}.json"));
        let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        match function {
            "cluster-logs-get" => {
                let page = ClusterLogStore::new(self.client.clone(), &self.cluster_table)
                    .list(
                        &shared::cluster_logs::ClusterLogFilter::new(
                            shared::cluster_logs::ClusterScope::All,
                            shared::cluster_logs::Visibility::PublicOnly,
                            None,
                        )?,
                        &shared::cluster_logs::PageRequest::new(1, 1),
                    )
                    .await?;
                let id = page
                    .items
                    .first()
                    .map(|l| l.id.clone())
                    .ok_or("no cluster log")?;
                set_path(&mut event, "/api/service_logs/v1/cluster_logs/", "id", &id);
            }
            "cluster-logs-list-by-uuid" => {
                event["queryStringParameters"] = json!({"size": "100"});
                event["rawQueryString"] = json!("size=100");
            }
            "system-logs-list" => {
                event["queryStringParameters"] =
                    json!({"level_gte": "30", "source": "worker", "page_size": "10"});
                event["rawQueryString"] = json!("level_gte=30&source=worker&page_size=10");
            }
            "system-logs-retrieve" => {
                let page = SystemLogStore::new(self.client.clone(), &self.system_table)
                    .list(
                        &shared::system_logs::SystemLogFilter::default(),
                        &shared::system_logs::Ordering::default(),
                        &shared::system_logs::PageSpec {
                            page: shared::system_logs::PageNumber::Number(1),
                            size: 1,
                            cursor: None,
                        },
                    )
                    .await?;
                let id = page.logs.first().map(|l| l.id).ok_or("no system log")?;
                set_path(&mut event, "/api/system-logs/", "id", &id.to_string());
            }
            _ => {}
        }
        Ok(event)
    }

    async fn functions(&mut self) -> Result<(), BoxError> {
        let env = self.env();
        let hello = self.binary("hello");
        let init = cold_starts("hello", &hello, &[], &env).await?;
        let echo = Bytes::from_static(b"{\"hello\":\"world\"}");
        let first = first_invocations("hello", &hello, &[], &env, &echo).await?;
        let floor = warm_invocations("hello", &hello, &[], &env, &echo).await?;
        eprintln!(
            "    hello world: init {:.2} ms, first {:.2} ms, warm p50 {:.3} ms (the Runtime API round trip)",
            init.median_ms(),
            first.median_ms(),
            floor.latency.median_ms()
        );
        self.figures.hello(init, first, floor.latency);

        for function in FUNCTIONS {
            let binary = self.binary(function);
            let event = Bytes::from(serde_json::to_vec(&self.warm_event(function).await?)?);
            let init = cold_starts(function, &binary, &[], &env).await?;
            let first = first_invocations(function, &binary, &[], &env, &event).await?;
            let warm = warm_invocations(function, &binary, &[], &env, &event).await?;
            eprintln!(
                "    {function}: init {:.1} ms, first {:.1} ms, warm p50 {:.2} ms, {:.0} µs CPU, {:.1} MB",
                init.median_ms(),
                first.median_ms(),
                warm.latency.median_ms(),
                warm.cpu_us_per_invocation,
                warm.peak_rss_mb
            );
            self.figures.function(function, init, first, warm);
        }

        // The Python peer answers the per-cluster list like cluster-logs-list-by-uuid.
        let python = self.root.join(".local/venv/bin/python");
        let script = self.root.join("bench/peer/bootstrap.py");
        let script = script.to_string_lossy().into_owned();
        let event = Bytes::from(serde_json::to_vec(
            &self.warm_event("cluster-logs-list-by-uuid").await?,
        )?);
        let first = first_invocations("python-peer", &python, &[&script], &env, &event).await?;
        let warm = warm_invocations("python-peer", &python, &[&script], &env, &event).await?;
        eprintln!(
            "    python peer: first {:.1} ms, warm p50 {:.2} ms, {:.1} MB",
            first.median_ms(),
            warm.latency.median_ms(),
            warm.peak_rss_mb
        );
        self.figures.python_peer(first, warm);
        Ok(())
    }

    /// `bench profile FUNCTION [N]`: the demo data set, then N warm invocations of one function
    /// (`BENCH_BINARIES` may name a folder of unstripped builds), to run under
    /// `perf record -a -g -- target/release/bench profile ...`.
    async fn profile(&mut self, function: &str, invocations: usize) -> Result<(), BoxError> {
        let system = functions::system_logs_ingest::IngestState {
            store: SystemLogStore::new(self.client.clone(), &self.system_table),
            mapping: shared::system_logs::cloudwatch::StreamMapping::from_env()?,
        };
        let cluster = functions::cluster_logs_ingest::IngestState {
            store: ClusterLogStore::new(self.client.clone(), &self.cluster_table),
            service: shared::cluster_logs::ingest::service_identity_from_env(),
        };
        devtools::seed::seed(&system, &cluster)
            .await
            .map_err(|error| error.to_string())?;
        let event = Bytes::from(serde_json::to_vec(&self.warm_event(function).await?)?);
        let process = Running::start(function, &self.binary(function), &[], &self.env()).await?;
        process.init(function).await?;
        process.invoke(function, event.clone()).await?;
        let cpu = process.cpu();
        let mut samples = Vec::with_capacity(invocations);
        for _ in 0..invocations {
            samples.push(process.invoke(function, event.clone()).await?.0);
        }
        let cpu = process.cpu().saturating_sub(cpu);
        let stats = Stats::new(samples);
        eprintln!(
            "{function}: p50 {:.3} ms, p99 {:.3} ms, {:.0} µs CPU per invocation over {invocations}",
            stats.median_ms(),
            stats.p99_ms(),
            cpu.as_secs_f64() * 1e6 / invocations as f64
        );
        process.stop().await;
        Ok(())
    }

    async fn bare_calls(&mut self) -> Result<(), BoxError> {
        for route in WARM_ROUTES {
            let event = self.warm_event(route).await?;
            let calls = replay::capture(
                &self.client,
                route,
                &self.system_table,
                &self.cluster_table,
                &event,
            )
            .await?;
            self.meter.take();
            replay::time(&self.client, &calls, 1).await?;
            let units = self.meter.take().read_units;
            // Timed without the meter, as the functions send them.
            let bare = replay::time(&self.plain, &calls, WARM_INVOCATIONS).await?;
            eprintln!(
                "    {route}: {} DynamoDB calls, {units:.1} RCU, bare p50 {:.2} ms",
                calls.len(),
                bare.median_ms()
            );
            self.figures.bare(route, calls.len(), bare, units);
        }
        Ok(())
    }

    fn packages(&mut self) -> Result<(), BoxError> {
        let dir = self.root.join("target/bench-zips");
        std::fs::create_dir_all(&dir)?;
        for function in FUNCTIONS.iter().chain(&["hello"]) {
            let binary = self.binary(function);
            let size = std::fs::metadata(&binary)?.len();
            let zip = dir.join(format!("{function}.zip"));
            let staged = dir.join("bootstrap");
            std::fs::copy(&binary, &staged)?;
            let _ = std::fs::remove_file(&zip);
            let status = std::process::Command::new("python3")
                .current_dir(&dir)
                .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED, compresslevel=9); z.write('bootstrap'); z.close()"])
                .arg(&zip)
                .status()?;
            if !status.success() {
                return Err("python3 could not zip the bootstrap".into());
            }
            self.figures
                .package(function, size, std::fs::metadata(&zip)?.len());
        }
        Ok(())
    }
}

/// BENCH_MAX_LOGS trims the sizes for a quick run while working on the bench itself.
fn max_logs() -> u64 {
    std::env::var("BENCH_MAX_LOGS")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(1_000_000)
}

fn print_reads(stored: u64, reads: &[devtools::reads::Read]) {
    for read in reads {
        eprintln!(
            "    at {stored} logs: {}: {:.1} RCU, {:.1} ms",
            read.name,
            read.consumed.read_units,
            millis(read.elapsed)
        );
    }
}

fn is_system_log(item: &shared::dynamo::Item) -> bool {
    shared::dynamo::text(item, "pk").starts_with("log#")
}

fn is_cluster_log(item: &shared::dynamo::Item) -> bool {
    item.contains_key("time_shard")
}

/// Every live cluster log, from the table's counters.
async fn all_clusters_total(store: &ClusterLogStore) -> Result<u64, BoxError> {
    let everything = shared::cluster_logs::ClusterLogFilter::new(
        shared::cluster_logs::ClusterScope::All,
        shared::cluster_logs::Visibility::IncludingInternal,
        None,
    )?;
    let page = shared::cluster_logs::PageRequest::new(1, 0);
    Ok(store.list(&everything, &page).await?.total)
}

/// The cluster the bench grows: its logs as the write path stored them, its counters, one of the
/// table's counters (the shape of the one that holds what the growth adds), and how many copies
/// of its logs are in.
struct OneCluster {
    uuid: String,
    logs: Vec<shared::dynamo::Item>,
    /// Of its logs, the public ones.
    public: u64,
    counters: Vec<shared::dynamo::Item>,
    table_counter: shared::dynamo::Item,
    copies: u64,
}

impl OneCluster {
    fn of(
        logs: Vec<shared::dynamo::Item>,
        others: &[shared::dynamo::Item],
    ) -> Result<Self, BoxError> {
        use shared::cluster_logs::table::{CLUSTER_COUNTER_PREFIX, COUNTER_KIND, ClusterCounted};
        let uuid = first_cluster_uuid(&logs);
        let (logs, _): (Vec<_>, Vec<_>) = logs
            .into_iter()
            .partition(|item| shared::dynamo::text(item, "cluster_uuid") == uuid);
        let id = logs
            .first()
            .map(|item| shared::dynamo::text(item, "cluster_id").to_owned())
            .ok_or("no demo cluster log")?;
        let kinds = [
            ClusterCounted::Uuid(uuid.clone()).kind(),
            ClusterCounted::Id(id).kind(),
        ];
        let counters = load::counters(others, "id", CLUSTER_COUNTER_PREFIX)
            .into_iter()
            .filter(|item| {
                kinds
                    .iter()
                    .any(|k| shared::dynamo::text(item, COUNTER_KIND) == k)
            })
            .collect();
        let table_counter = load::counters(others, "id", "#count#")
            .into_iter()
            .next()
            .ok_or("no table counter")?;
        let public = logs
            .iter()
            .filter(|item| {
                !matches!(
                    item.get("internal_only"),
                    Some(aws_sdk_dynamodb::types::AttributeValue::Bool(true))
                )
            })
            .count() as u64;
        Ok(OneCluster {
            uuid,
            public,
            logs,
            counters,
            table_counter,
            copies: 1,
        })
    }
}

fn first_cluster_uuid(logs: &[shared::dynamo::Item]) -> String {
    let mut uuids: Vec<&str> = logs
        .iter()
        .map(|item| shared::dynamo::text(item, "cluster_uuid"))
        .collect();
    uuids.sort();
    uuids.first().map(|u| (*u).to_owned()).unwrap_or_default()
}

/// Points a sample event's path parameter `name` (under `prefix`) at `value`.
fn set_path(event: &mut Value, prefix: &str, name: &str, value: &str) {
    let path = format!("{prefix}{value}");
    event["pathParameters"][name] = json!(value);
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
}

async fn cold_starts(
    name: &str,
    binary: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> Result<Stats, BoxError> {
    let mut samples = Vec::with_capacity(COLD_STARTS);
    for _ in 0..COLD_STARTS {
        let process = Running::start(name, binary, args, env).await?;
        samples.push(process.init(name).await?);
        process.stop().await;
    }
    Ok(Stats::new(samples))
}

async fn first_invocations(
    name: &str,
    binary: &Path,
    args: &[&str],
    env: &[(String, String)],
    event: &Bytes,
) -> Result<Stats, BoxError> {
    let mut samples = Vec::with_capacity(FIRST_INVOCATIONS);
    for _ in 0..FIRST_INVOCATIONS {
        let process = Running::start(name, binary, args, env).await?;
        process.init(name).await?;
        process.invoke(name, event.clone()).await?;
        samples.push(process.age());
        process.stop().await;
    }
    Ok(Stats::new(samples))
}

/// 1,000 invocations of one process after its first: latency, CPU and memory.
pub struct Warm {
    pub latency: Stats,
    pub cpu_us_per_invocation: f64,
    pub peak_rss_mb: f64,
    pub failed: usize,
}

async fn warm_invocations(
    name: &str,
    binary: &Path,
    args: &[&str],
    env: &[(String, String)],
    event: &Bytes,
) -> Result<Warm, BoxError> {
    let process = Running::start(name, binary, args, env).await?;
    process.init(name).await?;
    process.invoke(name, event.clone()).await?;
    let cpu_before = process.cpu();
    let mut samples = Vec::with_capacity(WARM_INVOCATIONS);
    let mut failed = 0;
    for _ in 0..WARM_INVOCATIONS {
        let (took, answer) = process.invoke(name, event.clone()).await?;
        if !answer.ok || is_server_error(&answer.body) {
            failed += 1;
        }
        samples.push(took);
    }
    let cpu = process.cpu().saturating_sub(cpu_before);
    let warm = Warm {
        latency: Stats::new(samples),
        cpu_us_per_invocation: cpu.as_secs_f64() * 1e6 / WARM_INVOCATIONS as f64,
        peak_rss_mb: process.peak_rss_mb(),
        failed,
    };
    process.stop().await;
    Ok(warm)
}

/// An API Gateway answer with a 5xx status.
fn is_server_error(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["statusCode"].as_u64())
        .is_some_and(|status| status >= 500)
}

/// Kept for the figures: a duration list's order statistics.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
