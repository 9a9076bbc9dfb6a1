//! system-logs-ingest and system-logs-cap: CloudWatch Logs deliveries, SQS batches and scheduled
//! runs replayed through the handlers against DynamoDB Local, then read back through the API.

use aws_lambda_events::event::cloudwatch_logs::{LogData, LogEntry};
use aws_sdk_dynamodb::types::AttributeValue;
use functions::system_logs_ingest::{IngestState, handler};
use integration_tests::{ApiRequest, system_logs_state, workspace_root};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::retention::{Clock, Lifetime, Retention};
use shared::system_logs::SystemLogsState;
use shared::system_logs::cloudwatch::StreamMapping;
use time::OffsetDateTime;

const STREAM: &str = "waldur-worker-5d8f7c-abcde";

fn ingest_state(state: &SystemLogsState) -> IngestState {
    IngestState {
        store: state.store.clone(),
        mapping: StreamMapping::default(),
    }
}

/// A CloudWatch Logs subscription event (gzip + base64, as CloudWatch sends it) of `lines`.
fn delivery(stream: &str, lines: &[(&str, &str)], at: OffsetDateTime) -> Value {
    let mut data = LogData::default();
    data.owner = "123456789012".into();
    data.log_group = "/waldur/platform".into();
    data.log_stream = stream.into();
    data.message_type = "DATA_MESSAGE".into();
    for (n, (id, line)) in lines.iter().enumerate() {
        let mut entry = LogEntry::default();
        entry.id = (*id).to_owned();
        entry.timestamp = (at.unix_timestamp_nanos() / 1_000_000) as i64 + n as i64;
        entry.message = (*line).to_owned();
        data.log_events.push(entry);
    }
    devtools::cloudwatch::subscription_event(&data).expect("encoded")
}

fn with_message_type(data_type: &str, stream: &str) -> Value {
    let mut data = LogData::default();
    data.log_group = "/waldur/platform".into();
    data.log_stream = stream.into();
    data.message_type = data_type.into();
    devtools::cloudwatch::subscription_event(&data).expect("encoded")
}

fn sqs_message(message_id: &str, body: &str) -> Value {
    json!({
        "messageId": message_id, "receiptHandle": "handle", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795255200123"},
        "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:queue", "awsRegion": "eu-west-1",
    })
}

fn log_body(source: &str, instance: &str, level: &str, message: &str, created: &str) -> String {
    json!({
        "created": created, "source": source, "instance": instance, "level": level,
        "logger_name": "waldur_core.tests", "message": message, "context": {"n": 1},
    })
    .to_string()
}

fn now_text() -> String {
    shared::timestamp::format(OffsetDateTime::now_utc())
}

async fn invoke(state: &IngestState, event: Value) -> Result<Value, lambda_runtime::Error> {
    handler(state, LambdaEvent::new(event, Context::default())).await
}

/// The ids an SQS batch reports as failed.
async fn deliver_sqs(state: &IngestState, records: Vec<Value>) -> Vec<String> {
    let response = invoke(state, json!({ "Records": records }))
        .await
        .expect("an SQS batch is always answered");
    response["batchItemFailures"]
        .as_array()
        .map(|failures| {
            failures
                .iter()
                .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Count per (source, instance) from the stats route, and the list's X-Result-Count, which must agree.
async fn counted(state: &SystemLogsState) -> (u64, Vec<(String, u64)>) {
    let stats = ApiRequest::system("GET", "/stats/", "/stats/")
        .answer(state)
        .await;
    let rows: Vec<(String, u64)> = stats.body["instances"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            (
                format!(
                    "{}/{}",
                    row["source"].as_str().unwrap_or_default(),
                    row["instance"].as_str().unwrap_or_default()
                ),
                row["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let list = ApiRequest::system("GET", "/", "/")
        .query("page_size", "100")
        .answer(state)
        .await;
    let header: u64 = list
        .header("x-result-count")
        .and_then(|count| count.parse().ok())
        .expect("X-Result-Count");
    let total: u64 = rows.iter().map(|(_, count)| count).sum();
    assert_eq!(header, total, "X-Result-Count and stats agree");
    if header <= 100 {
        assert_eq!(
            list.body.as_array().map(|logs| logs.len() as u64),
            Some(header),
            "the list holds what is counted"
        );
    }
    (total, rows)
}

#[tokio::test]
async fn a_cloudwatch_delivery_is_parsed_and_stored_once_however_often_it_comes() {
    let state = system_logs_state().await;
    let ingest = ingest_state(&state);
    let at = OffsetDateTime::now_utc();
    let event = delivery(
        STREAM,
        &[
            (
                "36845734561234567890123456789012345678901234567890123401",
                r#"{"event": "Task failed", "level": "error", "logger": "celery.app.trace", "task_id": "t-1", "exc_info": "Traceback (most recent call last):\n  boom"}"#,
            ),
            (
                "36845734561234567890123456789012345678901234567890123402",
                "[10:00:02: WARNING/MainProcess] consumer: Connection to broker lost",
            ),
        ],
        at,
    );
    for _ in 0..3 {
        invoke(&ingest, event.clone()).await.expect("stored");
    }
    let (total, rows) = counted(&state).await;
    assert_eq!(total, 2, "three deliveries, each line stored once");
    assert_eq!(rows, vec![(format!("worker/{STREAM}"), 2)]);

    let list = ApiRequest::system("GET", "/", "/")
        .query("level", "ERROR")
        .answer(&state)
        .await;
    let error = &list.body[0];
    assert_eq!(error["message"], "Task failed");
    assert_eq!(error["logger_name"], "celery.app.trace");
    assert_eq!(error["source"], "worker");
    assert_eq!(error["instance"], STREAM);
    assert_eq!(error["context"]["task_id"], "t-1");
    assert!(
        error["context"]["traceback"]
            .as_str()
            .is_some_and(|t| t.contains("boom"))
    );
    let warning = ApiRequest::system("GET", "/", "/")
        .query("level", "WARNING")
        .answer(&state)
        .await;
    assert_eq!(
        warning.body[0]["message"],
        "[10:00:02: WARNING/MainProcess] consumer: Connection to broker lost"
    );
}

#[tokio::test]
async fn a_stream_that_maps_to_no_source_fails_the_delivery_so_it_is_kept() {
    let state = system_logs_state().await;
    let event = delivery(
        "postgres-0",
        &[("1", "LOG: checkpoint starting")],
        OffsetDateTime::now_utc(),
    );
    let outcome = invoke(&ingest_state(&state), event).await;
    assert!(
        outcome.is_err_and(|e| e.to_string().contains("SYSTEM_LOGS_SOURCE_MAP")),
        "the error says how to map it"
    );
    assert_eq!(counted(&state).await.0, 0);
    let control = with_message_type("CONTROL_MESSAGE", "CloudwatchLogsHealthCheck");
    assert!(
        invoke(&ingest_state(&state), control).await.is_ok(),
        "CloudWatch's health checks are acknowledged"
    );
}

#[tokio::test]
async fn redelivered_sqs_messages_are_stored_once_and_invalid_ones_are_reported_without_blocking() {
    let state = system_logs_state().await;
    let ingest = ingest_state(&state);
    let created = now_text();
    let batch = vec![
        sqs_message("m-1", &log_body("api", "api-1", "INFO", "one", &created)),
        sqs_message("m-bad-json", "{not json"),
        sqs_message(
            "m-2",
            &log_body("worker", "worker-1", "ERROR", "two", &created),
        ),
        sqs_message(
            "m-bad-source",
            &log_body("cron", "cron-1", "INFO", "three", &created),
        ),
        sqs_message("m-3", &log_body("api", "api-1", "warn", "four", &created)),
    ];
    let mut failed = deliver_sqs(&ingest, batch.clone()).await;
    failed.sort();
    assert_eq!(failed, vec!["m-bad-json", "m-bad-source"]);
    let again = deliver_sqs(&ingest, batch).await;
    assert_eq!(
        again.len(),
        2,
        "invalid messages fail every time, toward the DLQ"
    );
    let (total, rows) = counted(&state).await;
    assert_eq!(total, 3, "each valid message stored once");
    assert_eq!(
        rows,
        vec![
            ("api/api-1".to_owned(), 2),
            ("worker/worker-1".to_owned(), 1)
        ]
    );
}

#[tokio::test]
async fn concurrent_deliveries_of_one_batch_store_and_count_each_record_once() {
    let state = system_logs_state().await;
    let ingest = ingest_state(&state);
    let created = now_text();
    let batch: Vec<Value> = (0..120)
        .map(|n| {
            sqs_message(
                &format!("m-{n}"),
                &log_body("beat", "beat-1", "INFO", &format!("tick {n}"), &created),
            )
        })
        .collect();
    let (a, b, c) = tokio::join!(
        deliver_sqs(&ingest, batch.clone()),
        deliver_sqs(&ingest, batch.clone()),
        deliver_sqs(&ingest, batch),
    );
    assert!(
        a.is_empty() && b.is_empty() && c.is_empty(),
        "{a:?} {b:?} {c:?}"
    );
    let (total, _) = counted(&state).await;
    assert_eq!(total, 120);
    let everything = ApiRequest::system("GET", "/", "/")
        .query("page_size", "200")
        .answer(&state)
        .await;
    let mut messages: Vec<&str> = everything
        .body
        .as_array()
        .expect("logs")
        .iter()
        .filter_map(|log| log["message"].as_str())
        .collect();
    messages.sort();
    messages.dedup();
    assert_eq!(messages.len(), 120, "no record stored twice");
}

#[tokio::test]
async fn a_delivery_cut_short_is_finished_by_its_redelivery_under_the_same_id() {
    let state = system_logs_state().await;
    let ingest = ingest_state(&state);
    // What a delivery that stopped after its first step leaves behind: the record's claim and its
    // count, written in one transaction, and no log yet (key layout: docs/data-model.md).
    let claimed_id: u64 = 4_242;
    let client = state.store.client();
    let claim = aws_sdk_dynamodb::types::Put::builder()
        .table_name(state.store.table())
        .item("pk", AttributeValue::S("claim#sqs#m-cut".into()))
        .item("log_id", AttributeValue::S(claimed_id.to_string()))
        .build()
        .expect("a put");
    let count = aws_sdk_dynamodb::types::Update::builder()
        .table_name(state.store.table())
        .key("pk", AttributeValue::S("instance#api#api-1#forever".into()))
        .update_expression("SET aggregate_kind = :kind, source_instance = :si, #source = :source, instance = :instance ADD count_ERROR :one")
        .expression_attribute_names("#source", "source")
        .expression_attribute_values(":kind", AttributeValue::S("instance".into()))
        .expression_attribute_values(":si", AttributeValue::S("api#api-1".into()))
        .expression_attribute_values(":source", AttributeValue::S("api".into()))
        .expression_attribute_values(":instance", AttributeValue::S("api-1".into()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .expect("an update");
    client
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(claim)
                .build(),
        )
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(count)
                .build(),
        )
        .send()
        .await
        .expect("first step written");
    assert_eq!(
        ApiRequest::system("GET", "/", "/")
            .answer(&state)
            .await
            .body,
        json!([]),
        "counted, not yet visible"
    );
    let body = log_body("api", "api-1", "ERROR", "cut short", &now_text());
    assert!(
        deliver_sqs(&ingest, vec![sqs_message("m-cut", &body)])
            .await
            .is_empty()
    );
    assert!(
        deliver_sqs(&ingest, vec![sqs_message("m-cut", &body)])
            .await
            .is_empty()
    );
    let retrieved = ApiRequest::system("GET", "/{id}/", &format!("/{claimed_id}/"))
        .path_parameter("id", &claimed_id.to_string())
        .answer(&state)
        .await;
    assert_eq!(retrieved.status, 200, "stored under the id the claim holds");
    assert_eq!(retrieved.body["message"], "cut short");
    assert_eq!(counted(&state).await.0, 1, "counted once");
}

#[tokio::test]
async fn a_failing_store_reports_every_record_and_a_redelivery_stores_them() {
    let state = system_logs_state().await;
    let broken = IngestState {
        store: shared::system_logs::SystemLogStore::new(
            state.store.client().clone(),
            "no-such-table",
        ),
        mapping: StreamMapping::default(),
    };
    let created = now_text();
    let batch: Vec<Value> = (0..3)
        .map(|n| {
            sqs_message(
                &format!("m-{n}"),
                &log_body("api", "api-1", "INFO", "x", &created),
            )
        })
        .collect();
    let mut failed = deliver_sqs(&broken, batch.clone()).await;
    failed.sort();
    assert_eq!(failed, vec!["m-0", "m-1", "m-2"], "nothing acknowledged");
    let logs = delivery(
        STREAM,
        &[("e-1", "INFO starting")],
        OffsetDateTime::now_utc(),
    );
    assert!(
        invoke(&broken, logs.clone()).await.is_err(),
        "a CloudWatch delivery fails so Lambda retries it"
    );
    assert!(deliver_sqs(&ingest_state(&state), batch).await.is_empty());
    invoke(&ingest_state(&state), logs).await.expect("stored");
    assert_eq!(counted(&state).await.0, 4);
}

#[tokio::test]
async fn expired_logs_leave_lists_counts_and_retrieve_together() {
    let base = system_logs_state().await;
    let state = SystemLogsState {
        store: base.store.clone().with_lifetime(Lifetime {
            retention: Retention::days(1),
            ..base.store.lifetime()
        }),
        ..base
    };
    let ingest = ingest_state(&state);
    let now = OffsetDateTime::now_utc();
    let yesterday = shared::timestamp::format(now - time::Duration::days(1));
    let today = shared::timestamp::format(now);
    let long_ago = shared::timestamp::format(now - time::Duration::days(30));
    let failed = deliver_sqs(
        &ingest,
        vec![
            sqs_message(
                "y-1",
                &log_body("api", "api-1", "INFO", "yesterday", &yesterday),
            ),
            sqs_message(
                "y-2",
                &log_body("api", "api-1", "ERROR", "yesterday", &yesterday),
            ),
            sqs_message("t-1", &log_body("api", "api-1", "INFO", "today", &today)),
            sqs_message(
                "old",
                &log_body("api", "api-1", "INFO", "too old", &long_ago),
            ),
        ],
    )
    .await;
    assert!(
        failed.is_empty(),
        "a log past its retention is acknowledged, not stored"
    );
    assert_eq!(counted(&state).await.0, 3);
    let yesterdays = ApiRequest::system("GET", "/", "/")
        .query("level", "ERROR")
        .answer(&state)
        .await;
    let expiring_id = yesterdays.body[0]["id"].as_u64().expect("an id");

    // A day later, yesterday's logs are past their retention: gone from every read at once.
    let later = SystemLogsState {
        store: state.store.clone().with_lifetime(Lifetime {
            clock: Clock::ahead(time::Duration::days(1)),
            ..state.store.lifetime()
        }),
        ..state
    };
    let (total, rows) = counted(&later).await;
    assert_eq!(total, 1);
    assert_eq!(rows, vec![("api/api-1".to_owned(), 1)]);
    let gone = ApiRequest::system("GET", "/{id}/", &format!("/{expiring_id}/"))
        .path_parameter("id", &expiring_id.to_string())
        .answer(&later)
        .await;
    assert_eq!(gone.status, 404);
    let items = later
        .store
        .client()
        .get_item()
        .table_name(later.store.table())
        .key("pk", AttributeValue::S(format!("log#{expiring_id}")))
        .send()
        .await
        .expect("read")
        .item
        .expect("still stored until DynamoDB's TTL deletes it");
    let log_expiry = items.get("expires_at").cloned();
    assert!(log_expiry.is_some(), "each log carries its TTL");
}

#[tokio::test]
async fn the_per_source_cap_keeps_the_newest_logs_of_each_source() {
    let state = system_logs_state().await;
    let ingest = ingest_state(&state);
    let start = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let mut batch = Vec::new();
    for n in 0..12 {
        let created = shared::timestamp::format(start + time::Duration::minutes(n));
        let level = ["INFO", "ERROR", "WARNING"][n as usize % 3];
        batch.push(sqs_message(
            &format!("w-{n}"),
            &log_body(
                "worker",
                &format!("worker-{}", n % 2),
                level,
                &format!("worker {n:02}"),
                &created,
            ),
        ));
    }
    for n in 0..4 {
        let created = shared::timestamp::format(start + time::Duration::minutes(n));
        batch.push(sqs_message(
            &format!("a-{n}"),
            &log_body("api", "api-1", "INFO", &format!("api {n}"), &created),
        ));
    }
    assert!(deliver_sqs(&ingest, batch).await.is_empty());

    let cap = functions::system_logs_cap::CapState {
        store: state.store.clone(),
        max_per_source: Some(5),
    };
    let schedule = event_file("system-logs-cap.json");
    let report = functions::system_logs_cap::handler(
        &cap,
        LambdaEvent::new(schedule.clone(), Context::default()),
    )
    .await
    .expect("enforced");
    assert_eq!(report["cap"], 5);
    let worker = ApiRequest::system("GET", "/", "/")
        .query("source", "worker")
        .answer(&state)
        .await;
    let kept: Vec<&str> = worker
        .body
        .as_array()
        .expect("logs")
        .iter()
        .filter_map(|log| log["message"].as_str())
        .collect();
    assert_eq!(
        kept,
        vec![
            "worker 11",
            "worker 10",
            "worker 09",
            "worker 08",
            "worker 07"
        ],
        "the five newest are kept"
    );
    let (total, rows) = counted(&state).await;
    assert_eq!(total, 9, "worker down to 5, api's 4 untouched");
    assert_eq!(
        rows.iter()
            .filter(|(k, _)| k.starts_with("worker/"))
            .map(|(_, c)| c)
            .sum::<u64>(),
        5
    );

    // A capped log's claim went with it: delivered again, it is stored and counted afresh.
    let oldest = log_body(
        "worker",
        "worker-0",
        "INFO",
        "worker 00",
        &shared::timestamp::format(start),
    );
    assert!(
        deliver_sqs(&ingest, vec![sqs_message("w-0", &oldest)])
            .await
            .is_empty()
    );
    assert_eq!(counted(&state).await.0, 10, "visible and counted alike");

    let again =
        functions::system_logs_cap::handler(&cap, LambdaEvent::new(schedule, Context::default()))
            .await
            .expect("enforced");
    assert!(
        again["sources"]
            .as_array()
            .expect("reports")
            .iter()
            .map(|r| r["deleted"].as_u64().unwrap_or(0))
            .sum::<u64>()
            == 1,
        "only the redelivered one is over the cap: {again}"
    );
    assert_eq!(counted(&state).await.0, 9);
}

fn event_file(name: &str) -> Value {
    let path = workspace_root().join("events").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("event file")).expect("JSON")
}

#[tokio::test]
async fn the_sample_events_are_stored() {
    let state = system_logs_state().await;
    let ingest = ingest_state(&state);
    let logs = invoke(&ingest, event_file("system-logs-ingest-cloudwatch.json"))
        .await
        .expect("stored");
    assert_eq!(logs["stored"], 3);
    let queued = invoke(&ingest, event_file("system-logs-ingest-sqs.json"))
        .await
        .expect("stored");
    assert_eq!(queued["batchItemFailures"], json!([]));
    assert_eq!(counted(&state).await.0, 5);
}

#[tokio::test]
async fn a_ten_thousand_record_batch_is_stored_in_one_invocation() {
    let state = system_logs_state().await;
    let ingest = ingest_state(&state);
    let created = now_text();
    let batch: Vec<Value> = (0..10_000)
        .map(|n| {
            sqs_message(
                &format!("bulk-{n}"),
                &log_body(
                    ["api", "worker", "beat"][n % 3],
                    &format!("pod-{}", n % 7),
                    ["INFO", "WARNING", "ERROR"][n % 3],
                    &format!("line {n}"),
                    &created,
                ),
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let failed = deliver_sqs(&ingest, batch).await;
    let seconds = started.elapsed().as_secs_f64();
    // Reported, not asserted: benchmarks measure speed (make bench), tests measure outcomes.
    eprintln!(
        "10,000-record SQS batch: {seconds:.1} s, {:.0} records/s",
        10_000.0 / seconds
    );
    assert!(failed.is_empty(), "{} failed", failed.len());
    assert_eq!(counted(&state).await.0, 10_000);
}
