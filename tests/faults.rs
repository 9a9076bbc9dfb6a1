//! DynamoDB failing under the functions: throttling, an endpoint that refuses or hangs, and
//! DynamoDB Local killed (as a crash) and started again on the same data in the middle of a load.
//! Callers get a 503 that says to retry, in bounded time; queued records are reported for
//! redelivery; nothing acknowledged is lost (but what DynamoDB Local itself had not kept when it
//! was killed, see [`KILL_WINDOW`]); the same state (the same clients) works again afterwards.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use integration_tests::dynamo_calls::Throttling;
use integration_tests::{
    ApiRequest, Caller, LOCAL_SECRET, cluster_logs_state, cluster_logs_through, invoke,
    sqs_message, system_logs_state, system_logs_through, template,
};
use lambda_http::{Body, Response};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::cluster_logs::{ClusterLogStore, ClusterLogsState};
use shared::identity::Authenticator;

/// Longest a request may take while DynamoDB is down or hanging: the SDK's operation timeout (4 s)
/// for the one call that hits the outage, with room for a loaded 2-core machine.
const BOUND: Duration = Duration::from_secs(10);

fn post(summary: &str) -> ApiRequest {
    ApiRequest::new("POST", "/cluster_logs", "/cluster_logs").json(&json!({
        "cluster_uuid": "c-faults", "service_name": "hive", "severity": "Info", "summary": summary,
    }))
}

fn list() -> ApiRequest {
    ApiRequest::new("GET", "/cluster_logs", "/cluster_logs").caller(Caller::internal())
}

fn header(response: &Response<Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Asserts the 503 a caller gets when DynamoDB is unavailable: the API's error body saying to
/// retry, and Retry-After.
fn assert_unavailable(response: Response<Body>, what: &str) {
    assert_eq!(response.status().as_u16(), 503, "{what}");
    assert_eq!(
        header(&response, "retry-after").as_deref(),
        Some("1"),
        "{what}"
    );
    let body: Value = serde_json::from_slice(response.body().as_ref()).expect("a JSON body");
    let says_retry = body["reason"]
        .as_str()
        .or(body["detail"].as_str())
        .is_some_and(|text| text.contains("retry"));
    assert!(says_retry, "{what}: {body}");
    if body.get("kind").is_some() {
        assert_eq!(body["code"], "OCM-SL-503", "{what}");
    }
}

fn cluster_ingest(state: &ClusterLogsState) -> functions::cluster_logs_ingest::IngestState {
    functions::cluster_logs_ingest::IngestState {
        store: state.store.clone(),
        service: shared::cluster_logs::ingest::service_identity_from_env(),
    }
}

/// Delivers `messages` (id, body) to cluster-logs-ingest; the ids it reports as failed.
async fn deliver(state: &ClusterLogsState, messages: &[(String, String)]) -> Vec<String> {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| sqs_message(id, body))
        .collect();
    let event = serde_json::from_value(json!({ "Records": records })).expect("an SQS event");
    functions::cluster_logs_ingest::handler(
        &cluster_ingest(state),
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .expect("a batch is always answered")
    .batch_item_failures
    .into_iter()
    .map(|failure| failure.item_identifier)
    .collect()
}

fn queued(prefix: &str, count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|n| {
            let body = json!({"cluster_uuid": "c-faults", "service_name": "hive", "severity": "Info", "summary": format!("{prefix} {n}")});
            (format!("{prefix}-{n}"), body.to_string())
        })
        .collect()
}

async fn total(state: &ClusterLogsState) -> u64 {
    let (status, body) = list().query("size", "0").send(state).await;
    assert_eq!(status, 200, "{body}");
    body["total"].as_u64().expect("a total")
}

#[tokio::test]
async fn throttling_is_retried_briefly_then_answered_503_with_retry_after() {
    let state = cluster_logs_state().await;
    let (client, throttling) = Throttling::client(state.store.client(), 0);
    let throttled = cluster_logs_through(&state, client);

    throttling.throttle(2);
    let (status, _) = post("absorbed").send(&throttled).await;
    assert_eq!(status, 201, "two throttled attempts are retried by the SDK");
    assert_eq!(throttling.throttled(), 2);

    throttling.throttle(u64::MAX);
    for (function, request) in [
        ("cluster-logs-create", post("refused")),
        ("cluster-logs-list", list()),
        (
            "cluster-logs-get",
            ApiRequest::new(
                "GET",
                "/cluster_logs/{id}",
                "/cluster_logs/01KAQ3Z0000000000000000000",
            )
            .path_parameter("id", "01KAQ3Z0000000000000000000")
            .caller(Caller::internal()),
        ),
    ] {
        let started = Instant::now();
        let response = invoke(&throttled, function, request.build()).await;
        assert!(
            started.elapsed() < BOUND,
            "{function} took {:?}",
            started.elapsed()
        );
        assert_unavailable(response, function);
    }

    let system = system_logs_state().await;
    let (client, system_throttling) = Throttling::client(system.store.client(), u64::MAX);
    let throttled_system = system_logs_through(&system, client);
    for (route, path) in [
        ("/", "/"),
        ("/stats/", "/stats/"),
        ("/instances/", "/instances/"),
    ] {
        let answer = ApiRequest::system("GET", route, path)
            .answer(&throttled_system)
            .await;
        assert_eq!(answer.status, 503, "{path}");
        assert_eq!(answer.header("retry-after"), Some("1"));
        assert!(
            answer.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("retry"))
        );
    }
    assert!(system_throttling.throttled() >= 3);

    throttling.throttle(0);
    let (status, _) = post("after").send(&throttled).await;
    assert_eq!(status, 201, "the same client works once DynamoDB does");
    assert_eq!(total(&state).await, 2, "the refused POST stored nothing");
}

#[tokio::test]
async fn throttled_ingest_reports_every_record_and_stores_each_once_when_redelivered() {
    let state = cluster_logs_state().await;
    let (client, throttling) = Throttling::client(state.store.client(), u64::MAX);
    let throttled = cluster_logs_through(&state, client);
    let batch = queued("throttled", 10);
    let failed = deliver(&throttled, &batch).await;
    assert_eq!(failed.len(), 10, "every record goes back to the queue");
    throttling.throttle(0);
    assert!(deliver(&throttled, &batch).await.is_empty());
    assert_eq!(total(&state).await, 10);

    // System logs: an SQS batch reports its records; a CloudWatch delivery fails as a whole, so
    // Lambda delivers it again.
    let system = system_logs_state().await;
    let (client, throttling) = Throttling::client(system.store.client(), u64::MAX);
    let ingest = functions::system_logs_ingest::IngestState {
        store: system_logs_through(&system, client).store,
        mapping: Default::default(),
    };
    let record = json!({"created": "2026-11-01T10:00:00Z", "source": "api", "instance": "pod-1",
                        "level": "INFO", "logger_name": "x", "message": "m", "context": {}});
    let event = json!({"Records": [sqs_message("s-1", &record.to_string()), sqs_message("s-2", &record.to_string())]});
    let response = functions::system_logs_ingest::handler(
        &ingest,
        LambdaEvent::new(event.clone(), Context::default()),
    )
    .await
    .expect("answered");
    assert_eq!(
        response["batchItemFailures"],
        json!([{"itemIdentifier": "s-1"}, {"itemIdentifier": "s-2"}])
    );
    throttling.throttle(0);
    let response = functions::system_logs_ingest::handler(
        &ingest,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .expect("answered");
    assert_eq!(response["batchItemFailures"], json!([]));
    let stats = ApiRequest::system("GET", "/stats/", "/stats/")
        .answer(&system)
        .await;
    assert_eq!(stats.body["instances"][0]["count"], 2);
}

/// A client with the functions' own configuration (timeouts, retries) aimed at `endpoint`.
async fn client_at(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&shared::dynamo::sdk_config().await)
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn a_dynamodb_that_refuses_or_hangs_gets_503s_and_failed_records_in_bounded_time() {
    let state = cluster_logs_state().await;
    // Refuses: a port nothing listens on. Hangs: a listener that never answers.
    let closed = TcpListener::bind("127.0.0.1:0").expect("a port");
    let refused_at = format!("http://{}", closed.local_addr().expect("an address"));
    drop(closed);
    let hanging = TcpListener::bind("127.0.0.1:0").expect("a port");
    let hangs_at = format!("http://{}", hanging.local_addr().expect("an address"));
    for endpoint in [refused_at, hangs_at] {
        let broken = cluster_logs_through(&state, client_at(&endpoint).await);
        for (function, request) in [
            ("cluster-logs-create", post("lost?")),
            ("cluster-logs-list", list()),
        ] {
            let started = Instant::now();
            let response = invoke(&broken, function, request.build()).await;
            let took = started.elapsed();
            assert!(took < BOUND, "{function} at {endpoint} took {took:?}");
            assert_unavailable(response, function);
        }
        let started = Instant::now();
        let failed = deliver(&broken, &queued("outage", 5)).await;
        assert_eq!(failed.len(), 5, "{endpoint}: every record is reported");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "within the function's timeout"
        );
    }
    drop(hanging);
    assert_eq!(total(&state).await, 0);
}

/// DynamoDB Local on its own port and data folder, so it can be stopped and started again.
struct OwnDynamoDb {
    port: u16,
    data: PathBuf,
    process: Option<Child>,
}

impl OwnDynamoDb {
    fn start(data: PathBuf) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut own = OwnDynamoDb {
            port,
            data,
            process: None,
        };
        own.restart();
        own
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) {
        let dir = PathBuf::from(std::env::var("DYNAMODB_LOCAL_DIR").expect(
            "DYNAMODB_LOCAL_DIR names DynamoDB Local's folder: run the tests with `make test`",
        ));
        std::fs::create_dir_all(&self.data).expect("a data folder");
        // -disableTelemetry: otherwise it reaches for the internet. It listens on all interfaces;
        // only 127.0.0.1 is used.
        let child = Command::new("java")
            .arg(format!(
                "-Djava.library.path={}",
                dir.join("DynamoDBLocal_lib").display()
            ))
            .arg("-jar")
            .arg(dir.join("DynamoDBLocal.jar"))
            .args([
                "-port",
                &self.port.to_string(),
                "-sharedDb",
                "-disableTelemetry",
                "-dbPath",
            ])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("java starts DynamoDB Local");
        self.process = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "DynamoDB Local did not start in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Takes it away as a crash would (SIGKILL), and waits until it is gone. Not SIGTERM: its own
    /// shutdown can answer 200 to a transaction it then does not keep (seen under `make load`).
    fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnDynamoDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// How long before a kill DynamoDB Local's answers are not yet kept: it answered 200 to a
/// transaction a few milliseconds before its process was killed and kept none of it (seen under
/// `make load`). Writes acknowledged this close to the kill are counted, not required; a loss of
/// anything acknowledged earlier or after the restart fails the test.
const KILL_WINDOW: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
struct Outcomes {
    /// Acknowledged ids, with when their answer came.
    created: Vec<(String, Instant)>,
    unavailable: usize,
    other: Vec<String>,
    slowest: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_stopped_and_started_again_mid_load_loses_nothing_acknowledged() {
    let data = std::env::temp_dir().join(format!("faults-dynamodb-{}", ulid::Ulid::new()));
    let mut dynamodb = OwnDynamoDb::start(data);
    let client = client_at(&dynamodb.endpoint()).await;
    let table = format!("ClusterLogsTable-{}", ulid::Ulid::new());
    template().tables().expect("tables")["ClusterLogsTable"]
        .create(&client, &table)
        .await
        .expect("created");
    let state = Arc::new(ClusterLogsState {
        store: ClusterLogStore::new(client, table),
        auth: Authenticator::new("groups", Some(LOCAL_SECRET)),
    });

    // 32 writers POST without pause, one task delivers queued batches, for ~9 s; DynamoDB is
    // stopped at 2 s and started again (same data) at 5 s.
    let stop_at = Instant::now() + Duration::from_secs(9);
    let mut writers = Vec::new();
    for writer in 0..32 {
        let state = Arc::clone(&state);
        writers.push(tokio::spawn(async move {
            let mut outcomes = Outcomes::default();
            let mut n = 0;
            while Instant::now() < stop_at {
                let started = Instant::now();
                let response = invoke(
                    &state,
                    "cluster-logs-create",
                    post(&format!("w{writer}-{n}")).build(),
                )
                .await;
                outcomes.slowest = outcomes.slowest.max(started.elapsed());
                match response.status().as_u16() {
                    201 => {
                        let body: Value =
                            serde_json::from_slice(response.body().as_ref()).expect("JSON");
                        outcomes.created.push((
                            body["id"].as_str().expect("an id").to_owned(),
                            Instant::now(),
                        ));
                    }
                    503 => {
                        assert_unavailable(response, "POST during the outage");
                        outcomes.unavailable += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    other => outcomes.other.push(format!("{other}")),
                }
                n += 1;
            }
            outcomes
        }));
    }
    let queue_state = Arc::clone(&state);
    let queue = tokio::spawn(async move {
        // What SQS would do: failed records come again in a later batch.
        let mut pending: Vec<(String, String)> = Vec::new();
        let (mut generated, mut reported, mut batches) = (0usize, 0usize, 0usize);
        // Deliveries as (sent, answered, records acknowledged), to tell those around the kill.
        let mut deliveries = Vec::new();
        while Instant::now() < stop_at {
            pending.extend(queued(&format!("q{batches}"), 10));
            generated += 10;
            let batch: Vec<(String, String)> = pending.drain(..pending.len().min(10)).collect();
            let sent = Instant::now();
            let failed = deliver(&queue_state, &batch).await;
            deliveries.push((sent, Instant::now(), batch.len() - failed.len()));
            reported += failed.len();
            pending.extend(batch.into_iter().filter(|(id, _)| failed.contains(id)));
            batches += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (generated, reported, pending, deliveries)
    });

    tokio::time::sleep(Duration::from_secs(2)).await;
    let stopped = Instant::now();
    tokio::task::block_in_place(|| dynamodb.stop());
    let gone = Instant::now();
    let around_the_kill = |at: Instant| at + KILL_WINDOW >= stopped && at <= gone;
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(stopped.elapsed())).await;
    tokio::task::block_in_place(|| dynamodb.restart());
    let restarted = Instant::now();

    let mut all = Outcomes::default();
    for writer in writers {
        let outcomes = writer.await.expect("a writer");
        all.created.extend(outcomes.created);
        all.unavailable += outcomes.unavailable;
        all.other.extend(outcomes.other);
        all.slowest = all.slowest.max(outcomes.slowest);
    }
    let (generated, reported, mut pending, deliveries) = queue.await.expect("the queue");
    // Queued records acknowledged by a delivery that was answered around the kill.
    let queued_at_kill: usize = deliveries
        .iter()
        .filter(|(sent, answered, _)| {
            around_the_kill(*answered) || (*sent <= stopped && *answered >= gone)
        })
        .map(|(_, _, acknowledged)| acknowledged)
        .sum();
    // The rest of the queue, now that DynamoDB is back.
    while !pending.is_empty() {
        let batch: Vec<(String, String)> = pending.drain(..pending.len().min(10)).collect();
        let failed = deliver(&state, &batch).await;
        assert!(
            failed.is_empty(),
            "redelivered after the outage: {failed:?}"
        );
    }

    assert!(all.other.is_empty(), "only 201 and 503: {:?}", all.other);
    assert!(all.unavailable > 0, "the outage was seen");
    assert!(
        reported > 0,
        "queued records were reported during the outage"
    );
    assert!(all.slowest < BOUND, "slowest request {:?}", all.slowest);
    assert!(
        restarted.elapsed() > Duration::from_secs(1),
        "load continued after the restart"
    );
    // Every acknowledged log is readable, once; those acknowledged around the kill are counted.
    let mut ids: Vec<&String> = all.created.iter().map(|(id, _)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.created.len(), "ids are unique");
    let (mut at_kill, mut lost_at_kill) = (0u64, 0u64);
    for (id, acknowledged_at) in &all.created {
        let (status, body) =
            ApiRequest::new("GET", "/cluster_logs/{id}", &format!("/cluster_logs/{id}"))
                .path_parameter("id", id)
                .send(&state)
                .await;
        if around_the_kill(*acknowledged_at) {
            at_kill += 1;
            lost_at_kill += u64::from(status == 404);
            continue;
        }
        assert_eq!(status, 200, "acknowledged {id} was lost: {body}");
    }
    // Each queued record is stored once however often it came; a POST answered 503 may have been
    // stored before DynamoDB went away (the caller retries it as a new log).
    let stored = total(&state).await;
    let acknowledged = all.created.len() as u64;
    let floor = acknowledged + generated as u64 - lost_at_kill - queued_at_kill as u64;
    assert!(stored >= floor, "stored {stored} < {floor} acknowledged");
    assert!(
        stored <= floor + all.unavailable as u64,
        "stored {stored}: more than was sent"
    );
    eprintln!(
        "outage load: {acknowledged} POSTs acknowledged, {} answered 503 (slowest {:?}); {generated} queued records, {reported} reported and delivered again; {stored} logs stored, 0 lost; 1 kill and restart; {at_kill} POSTs and {queued_at_kill} queued records acknowledged within {KILL_WINDOW:?} of the kill, {lost_at_kill} of those POSTs not kept by DynamoDB Local",
        all.unavailable, all.slowest
    );
}
