//! What the bench measured, and the named figures of bench/results.json derived from it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Warm;
use devtools::reads::Read;

/// Public on-demand prices, us-east-1, as of 2026-11 (stated in BENCHMARKS.md).
pub mod price {
    /// Lambda, per request.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// Lambda x86_64, per GB-second.
    pub const LAMBDA_GB_SECOND: f64 = 0.000_016_666_7;
    /// API Gateway HTTP API, per request (first 300 million a month).
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    /// DynamoDB on-demand, per read request unit and per write request unit.
    pub const READ_UNIT: f64 = 0.125 / 1e6;
    pub const WRITE_UNIT: f64 = 0.625 / 1e6;
}

/// Memory the API functions are given (template.yaml), and the ingest function.
const API_MEMORY_GB: f64 = 128.0 / 1024.0;
const INGEST_MEMORY_GB: f64 = 256.0 / 1024.0;

/// Order statistics of a list of durations.
#[derive(Debug, Clone, Default)]
pub struct Stats(Vec<Duration>);

impl Stats {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Stats(samples)
    }

    fn quantile_ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let index = ((self.0.len() - 1) as f64 * q).round() as usize;
        crate::millis(self.0[index.min(self.0.len() - 1)])
    }

    pub fn median_ms(&self) -> f64 {
        self.quantile_ms(0.5)
    }

    pub fn p99_ms(&self) -> f64 {
        self.quantile_ms(0.99)
    }
}

pub struct FunctionRun {
    pub init: Stats,
    pub first: Stats,
    pub warm: Warm,
}

/// Reads of one kind of table at one size.
pub struct ReadsAtSize {
    pub kind: &'static str,
    pub stored: u64,
    /// Of those, the logs of the one cluster the per-cluster reads read (cluster logs).
    pub in_one_cluster: Option<u64>,
    pub reads: Vec<Read>,
}

/// The 4 KB ILIKE search over 64K-character descriptions.
pub struct Ilike {
    search: Read,
    logs: usize,
    search_bytes: usize,
    text_chars: usize,
    matcher_per_log: Duration,
}

#[derive(Default)]
pub struct Figures {
    pub elapsed: Duration,
    functions: BTreeMap<String, FunctionRun>,
    hello: Option<(Stats, Stats)>,
    /// Hello world's warm latency: the Runtime API round trip every invocation pays.
    floor: Stats,
    python: Option<(Stats, Warm)>,
    bare: BTreeMap<String, (usize, Stats)>,
    read_units: BTreeMap<String, f64>,
    packages: BTreeMap<String, (u64, u64)>,
    wcu: Vec<(String, f64)>,
    ingest: Option<(f64, f64, usize)>,
    ilike: Option<Ilike>,
    pub sizes: Vec<ReadsAtSize>,
    named: BTreeMap<&'static str, Value>,
}

fn figure(value: f64, unit: &str, detail: Value) -> Value {
    let value = (value * 1000.0).round() / 1000.0;
    json!({"value": value, "unit": unit, "detail": detail})
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

impl Figures {
    pub fn hello(&mut self, init: Stats, first: Stats, floor: Stats) {
        self.hello = Some((init, first));
        self.floor = floor;
    }

    pub fn function(&mut self, name: &str, init: Stats, first: Stats, warm: Warm) {
        self.functions
            .insert(name.to_owned(), FunctionRun { init, first, warm });
    }

    pub fn python_peer(&mut self, first: Stats, warm: Warm) {
        self.python = Some((first, warm));
    }

    pub fn bare(&mut self, route: &str, calls: usize, stats: Stats, read_units: f64) {
        self.bare.insert(route.to_owned(), (calls, stats));
        self.read_units.insert(route.to_owned(), read_units);
    }

    pub fn package(&mut self, name: &str, bootstrap: u64, zip: u64) {
        self.packages.insert(name.to_owned(), (bootstrap, zip));
    }

    pub fn wcu(&mut self, what: &str, per_log: f64) {
        self.wcu.push((what.to_owned(), per_log));
    }

    pub fn ingest(&mut self, ours: f64, bare: f64, logs: usize) {
        self.ingest = Some((ours, bare, logs));
    }

    pub fn ilike(
        &mut self,
        search: Read,
        logs: usize,
        search_bytes: usize,
        text_chars: usize,
        matcher_per_log: Duration,
    ) {
        self.ilike = Some(Ilike {
            search,
            logs,
            search_bytes,
            text_chars,
            matcher_per_log,
        });
    }

    pub fn reads(&mut self, kind: &'static str, stored: u64, reads: Vec<Read>) {
        self.sizes.push(ReadsAtSize {
            kind,
            stored,
            in_one_cluster: None,
            reads,
        });
    }

    pub fn cluster_reads(&mut self, stored: u64, in_one_cluster: u64, reads: Vec<Read>) {
        self.sizes.push(ReadsAtSize {
            kind: "cluster",
            stored,
            in_one_cluster: Some(in_one_cluster),
            reads,
        });
    }

    pub fn functions(&self) -> &BTreeMap<String, FunctionRun> {
        &self.functions
    }

    pub fn packages(&self) -> &BTreeMap<String, (u64, u64)> {
        &self.packages
    }

    pub fn named(&self) -> &BTreeMap<&'static str, Value> {
        &self.named
    }

    /// What one API request costs at a warm duration and its read units, per million.
    fn usd_per_million_requests(duration_ms: f64, read_units: f64) -> f64 {
        let billed_seconds = duration_ms.ceil() / 1000.0;
        1e6 * (price::LAMBDA_REQUEST
            + price::HTTP_API_REQUEST
            + billed_seconds * API_MEMORY_GB * price::LAMBDA_GB_SECOND
            + read_units * price::READ_UNIT)
    }

    /// Derives the named figures from what was measured.
    pub fn costs(&mut self) {
        let worst = |values: Vec<(String, f64)>| -> (f64, Value) {
            let max = values.iter().map(|(_, v)| *v).fold(0.0, f64::max);
            let detail: serde_json::Map<String, Value> = values
                .into_iter()
                .map(|(k, v)| (k, json!(round(v, 3))))
                .collect();
            (max, Value::Object(detail))
        };
        let per_function = |f: &dyn Fn(&FunctionRun) -> f64| -> Vec<(String, f64)> {
            self.functions
                .iter()
                .map(|(name, run)| (name.clone(), f(run)))
                .collect()
        };
        let hello_init = self.hello.as_ref().map_or(0.0, |(i, _)| i.median_ms());
        let mut named: BTreeMap<&'static str, Value> = BTreeMap::new();

        let (init, detail) = worst(per_function(&|r| r.init.median_ms()));
        named.insert("init_ms", figure(init, "ms", json!({"median of": crate::COLD_STARTS, "per function": detail, "hello world": round(hello_init, 3)})));
        let (ratio, detail) = worst(per_function(&|r| r.init.median_ms() / hello_init.max(1e-9)));
        named.insert(
            "init_ratio_vs_hello",
            figure(ratio, "x", json!({"per function": detail, "target": 1.5})),
        );
        let (first, detail) = worst(per_function(&|r| r.first.median_ms()));
        named.insert("first_invocation_ms", figure(first, "ms", json!({"median of": crate::FIRST_INVOCATIONS, "per function": detail, "hello world": self.hello.as_ref().map(|(_, f)| round(f.median_ms(), 3))})));
        let python_first = self.python.as_ref().map_or(0.0, |(f, _)| f.median_ms());
        named.insert("python_peer_first_invocation_ms", figure(python_first, "ms", json!({"median of": crate::FIRST_INVOCATIONS, "what": "Python 3 + boto3, the per-cluster list Query (one page of 100)"})));

        let mut ratios = Vec::new();
        let mut p99s = Vec::new();
        for (route, (calls, bare)) in &self.bare {
            if let Some(run) = self.functions.get(route) {
                ratios.push((
                    route.clone(),
                    run.warm.latency.median_ms() / bare.median_ms().max(1e-9),
                ));
                p99s.push((route.clone(), run.warm.latency.p99_ms()));
                let _ = calls;
            }
        }
        let bare_detail: serde_json::Map<String, Value> = self
            .bare
            .iter()
            .map(|(route, (calls, bare))| {
                let ours = self.functions.get(route).map_or(0.0, |r| r.warm.latency.median_ms());
                (route.clone(), json!({"ours_p50_ms": round(ours, 3), "bare_p50_ms": round(bare.median_ms(), 3), "dynamodb_calls": calls}))
            })
            .collect();
        let per_cluster = "cluster-logs-list-by-uuid";
        if let Some((_, ratio)) = ratios.iter().find(|(route, _)| route == per_cluster) {
            named.insert("per_cluster_warm_p50_ratio_vs_bare", figure(*ratio, "x", json!({
                "route": per_cluster,
                "what": "a 100-item page of one cluster with its total from the per-cluster counters",
                "per route": bare_detail.get(per_cluster),
                "target": 1.15,
            })));
        }
        let (ratio, _) = worst(ratios);
        named.insert("warm_p50_ratio_vs_bare_query", figure(ratio, "x", json!({
            "per route": bare_detail,
            "target": 1.15,
            "invocations": crate::WARM_INVOCATIONS,
            "runtime_api_round_trip_p50_ms": round(self.floor.median_ms(), 3),
            "bare": "the DynamoDB calls the route's handler makes, captured and sent again with the same SDK, all at once",
        })));
        let (p99, detail) = worst(p99s);
        named.insert("warm_p99_ms", figure(p99, "ms", json!({"per route": detail, "all functions": worst(per_function(&|r| r.warm.latency.p99_ms())).1})));
        let (cpu, detail) = worst(per_function(&|r| r.warm.cpu_us_per_invocation));
        named.insert("cpu_us_per_invocation", figure(cpu, "µs", json!({"per function": detail, "resolution": "10 ms clock ticks over 1,000 invocations (10 µs per invocation)"})));
        let (rss, detail) = worst(per_function(&|r| r.warm.peak_rss_mb));
        named.insert("peak_rss_mb", figure(rss, "MB", json!({"per function": detail, "python peer": self.python.as_ref().map(|(_, w)| round(w.peak_rss_mb, 1)), "target": 30})));
        let (zip, detail) = worst(
            self.packages
                .iter()
                .filter(|(name, _)| name.as_str() != "hello")
                .map(|(name, (_, zip))| (name.clone(), *zip as f64 / 1e6))
                .collect(),
        );
        named.insert(
            "zip_mb",
            figure(zip, "MB", json!({"per function": detail, "target": 4})),
        );

        let mut read_ratios = Vec::new();
        let first_system = self.sizes.iter().find(|s| s.kind == "system");
        let last_system = self.sizes.iter().rev().find(|s| s.kind == "system");
        if let (Some(small), Some(large)) = (first_system, last_system) {
            for read in &large.reads {
                if let Some(before) = small.reads.iter().find(|r| r.name == read.name) {
                    let ratio = read.consumed.read_units / before.consumed.read_units.max(1e-9);
                    read_ratios.push((read.name.to_owned(), ratio));
                }
            }
        }
        let growing = |name: &str| name.contains("counts by reading");
        let flat: Vec<(String, f64)> = read_ratios
            .iter()
            .filter(|(n, _)| !growing(n))
            .cloned()
            .collect();
        let (ratio, detail) = worst(flat);
        let grows: serde_json::Map<String, Value> = read_ratios
            .iter()
            .filter(|(n, _)| growing(n))
            .map(|(n, r)| (n.clone(), json!(round(*r, 2))))
            .collect();
        named.insert("read_cost_ratio_1m_vs_10k", figure(ratio, "x", json!({"per read": detail, "documented to grow (docs/data-model.md)": grows, "target": 1.1})));

        // The budget's worst admitted request: the costliest read measured that was answered.
        let admitted = self
            .sizes
            .iter()
            .flat_map(|size| size.reads.iter().map(move |read| (size.stored, read)))
            .filter(|(_, read)| read.name.contains("the budget admits"))
            .max_by(|(_, a), (_, b)| a.consumed.read_units.total_cmp(&b.consumed.read_units));
        if let Some((stored, read)) = admitted {
            named.insert(
                "worst_admitted_read_ms",
                figure(
                    crate::millis(read.elapsed),
                    "ms",
                    json!({
                        "read": read.name,
                        "read_units": round(read.consumed.read_units, 1),
                        "budget_units": shared::dynamo::ReadBudget::limit_from_env(),
                        "system_logs": stored,
                        "target": "well inside the functions' 10 s timeout",
                    }),
                ),
            );
        }
        if let Some(ilike) = &self.ilike {
            let per_log_us = ilike.matcher_per_log.as_secs_f64() * 1e6;
            named.insert("ilike_4kb_over_64k_us_per_log", figure(per_log_us, "µs", json!({
                "what": "the matcher alone, per description",
                "search_bytes": ilike.search_bytes,
                "description_chars": ilike.text_chars,
                "quadratic_steps_before": (ilike.search_bytes as f64 * ilike.text_chars as f64).round(),
            })));
            named.insert(
                "ilike_4kb_over_64k_search_ms",
                figure(
                    crate::millis(ilike.search.elapsed),
                    "ms",
                    json!({
                        "what": ilike.search.name,
                        "logs": ilike.logs,
                        "read_units": round(ilike.search.consumed.read_units, 1),
                    }),
                ),
            );
        }

        let (wcu, detail) = worst(self.wcu.clone());
        named.insert("wcu_per_log", figure(wcu, "WCU", json!({"per kind": detail, "source": "ConsumedCapacity as DynamoDB Local reports it"})));
        let (ours, bare, logs) = self.ingest.unwrap_or((1.0, 1.0, 0));
        named.insert("ingest_ratio_bare_vs_ours", figure(bare / ours, "x", json!({"ours_logs_per_s": round(ours, 0), "bare_batch_write_logs_per_s": round(bare, 0), "logs": logs, "target": 1.2})));

        let mut costs = Vec::new();
        for route in crate::WARM_ROUTES {
            if let Some(run) = self.functions.get(route) {
                let units = self.read_units.get(route).copied().unwrap_or(0.0);
                costs.push((
                    route.to_owned(),
                    Self::usd_per_million_requests(run.warm.latency.median_ms(), units),
                ));
            }
        }
        let python = self.python.as_ref().map(|(_, warm)| {
            let units = self
                .read_units
                .get("cluster-logs-list-by-uuid")
                .copied()
                .unwrap_or(0.0);
            round(
                Self::usd_per_million_requests(warm.latency.median_ms(), units),
                2,
            )
        });
        let (usd, detail) = worst(costs);
        named.insert("usd_per_million_requests", figure(usd, "USD", json!({
            "per route": detail,
            "python peer (per-cluster list)": python,
            "python peer warm p50 ms": self.python.as_ref().map(|(_, w)| round(w.latency.median_ms(), 3)),
            "read units per request": self.read_units,
            "prices": "Lambda $0.20/M requests + $0.0000166667/GB-s at 128 MB (x86_64), API Gateway HTTP API $1.00/M, DynamoDB on-demand $0.125/M read units; us-east-1",
        })));
        let ingest_seconds_per_log = 1.0 / ours;
        let lambda = 1e6
            * (ingest_seconds_per_log * INGEST_MEMORY_GB * price::LAMBDA_GB_SECOND
                + price::LAMBDA_REQUEST / 1_000.0);
        let dynamodb = 1e6 * wcu * price::WRITE_UNIT;
        named.insert("usd_per_million_logs", figure(lambda + dynamodb, "USD", json!({
            "lambda": round(lambda, 3),
            "dynamodb": round(dynamodb, 3),
            "assumes": "batches of 1,000 at the measured ingest rate, 256 MB; SQS ($0.40/M requests) and CloudWatch Logs subscription costs not included",
            "prices": "Lambda $0.20/M requests + $0.0000166667/GB-s, DynamoDB on-demand $0.625/M write units; us-east-1",
        })));
        self.named = named;
    }
}
