//! cluster-logs-ingest: SQS batches, replayed through the handler against DynamoDB Local.

use functions::cluster_logs_ingest::{IngestState, handler};
use integration_tests::{ApiRequest, Caller, cluster_logs_state, workspace_root};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::cluster_logs::{ClusterLogStore, ClusterLogsState};

fn ingest_state(state: &ClusterLogsState) -> IngestState {
    IngestState {
        store: state.store.clone(),
        service: shared::cluster_logs::ingest::service_identity_from_env(),
    }
}

fn sqs_record(message_id: &str, body: &str, attributes: &[(&str, &str)]) -> Value {
    let message_attributes: serde_json::Map<String, Value> = attributes
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                json!({"stringValue": value, "dataType": "String"}),
            )
        })
        .collect();
    json!({
        "messageId": message_id, "receiptHandle": "handle", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795255200123"},
        "messageAttributes": message_attributes, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:queue", "awsRegion": "eu-west-1",
    })
}

/// Runs one SQS batch through the handler; the ids it reports as failed.
async fn deliver(state: &IngestState, records: Vec<Value>) -> Vec<String> {
    let event = serde_json::from_value(json!({"Records": records})).expect("an SQS event");
    let response = handler(state, LambdaEvent::new(event, Context::default()))
        .await
        .expect("handled");
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

async fn stored(state: &ClusterLogsState) -> Vec<Value> {
    let (_, list) = ApiRequest::new("GET", "/cluster_logs", "/cluster_logs")
        .caller(Caller::internal())
        .send(state)
        .await;
    assert_eq!(
        list["total"].as_u64(),
        list["items"].as_array().map(|i| i.len() as u64),
        "total matches the items"
    );
    list["items"].as_array().cloned().unwrap_or_default()
}

fn body(summary: &str) -> String {
    json!({"cluster_uuid": "c-1", "service_name": "hive", "severity": "Info", "summary": summary})
        .to_string()
}

#[tokio::test]
async fn a_redelivered_batch_is_stored_and_counted_once() {
    let api = cluster_logs_state().await;
    let state = ingest_state(&api);
    let batch = vec![
        sqs_record("m-1", &body("one"), &[]),
        sqs_record("m-2", &body("two"), &[]),
        sqs_record("m-3", &body("three"), &[]),
    ];
    assert!(deliver(&state, batch.clone()).await.is_empty());
    assert!(
        deliver(&state, batch.clone()).await.is_empty(),
        "a redelivery is acknowledged"
    );
    assert!(deliver(&state, batch[1..2].to_vec()).await.is_empty());
    let logs = stored(&api).await;
    assert_eq!(logs.len(), 3, "stored once: {logs:?}");
}

#[tokio::test]
async fn an_invalid_message_is_reported_and_never_blocks_the_valid_ones() {
    let api = cluster_logs_state().await;
    let state = ingest_state(&api);
    let batch = vec![
        sqs_record("good-1", &body("first"), &[]),
        sqs_record("not-json", "{oops", &[]),
        sqs_record(
            "bad-severity",
            &json!({"cluster_uuid": "c-1", "service_name": "hive", "summary": "a log", "severity": "Apocalyptic"}).to_string(),
            &[],
        ),
        sqs_record("no-cluster", &json!({"service_name": "hive", "summary": "a log", "severity": "Info"}).to_string(), &[]),
        sqs_record("no-summary", &json!({"cluster_uuid": "c-1", "service_name": "hive", "severity": "Info"}).to_string(), &[]),
        sqs_record("no-service", &json!({"cluster_uuid": "c-1", "summary": "a log", "severity": "Info"}).to_string(), &[]),
        sqs_record("good-2", &body("second"), &[]),
    ];
    let mut failed = deliver(&state, batch).await;
    failed.sort();
    assert_eq!(
        failed,
        vec![
            "bad-severity",
            "no-cluster",
            "no-service",
            "no-summary",
            "not-json"
        ]
    );
    let summaries: Vec<Value> = stored(&api)
        .await
        .iter()
        .map(|log| log["summary"].clone())
        .collect();
    assert_eq!(summaries.len(), 2);
    assert!(summaries.contains(&json!("first")) && summaries.contains(&json!("second")));
}

#[tokio::test]
async fn identity_comes_from_message_attributes_or_the_service_never_the_body() {
    let api = cluster_logs_state().await;
    let state = ingest_state(&api);
    let forged = json!({"cluster_uuid": "c-1", "service_name": "hive", "summary": "a log", "severity": "Info", "created_by": "mallory", "email": "m@evil.example"}).to_string();
    let batch = vec![
        sqs_record(
            "attributed",
            &forged,
            &[
                ("created_by", "alertmanager"),
                ("email", "alerts@example.com"),
            ],
        ),
        sqs_record("plain", &forged, &[]),
    ];
    assert!(deliver(&state, batch).await.is_empty());
    let mut writers: Vec<(Value, Value)> = stored(&api)
        .await
        .iter()
        .map(|log| {
            (
                log["created_by"].clone(),
                log.get("email").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    writers.sort_by_key(|(name, _)| name.to_string());
    assert_eq!(
        writers,
        vec![
            (json!("alertmanager"), json!("alerts@example.com")),
            (json!("service-account-cluster-logs-ingest"), json!(""))
        ]
    );
}

#[tokio::test]
async fn a_store_that_fails_reports_every_message_for_redelivery() {
    let api = cluster_logs_state().await;
    let broken = IngestState {
        store: ClusterLogStore::new(integration_tests::dynamodb().await, "no-such-table"),
        service: shared::cluster_logs::ingest::service_identity_from_env(),
    };
    let mut failed = deliver(
        &broken,
        vec![
            sqs_record("a", &body("a"), &[]),
            sqs_record("b", &body("b"), &[]),
        ],
    )
    .await;
    failed.sort();
    assert_eq!(
        failed,
        vec!["a", "b"],
        "nothing is acknowledged that was not stored"
    );
    assert!(stored(&api).await.is_empty());
}

#[tokio::test]
async fn the_sample_sqs_and_eventbridge_events_are_stored() {
    let api = cluster_logs_state().await;
    let state = ingest_state(&api);
    for file in [
        "cluster-logs-ingest-cluster.json",
        "cluster-logs-ingest-cluster-eventbridge.json",
        "cluster-logs-ingest.json",
        "cluster-logs-ingest-eventbridge.json",
    ] {
        let text = std::fs::read_to_string(workspace_root().join("events").join(file))
            .expect("sample event");
        let event = serde_json::from_str(&text).expect("an SQS event");
        let response = handler(&state, LambdaEvent::new(event, Context::default()))
            .await
            .expect("handled");
        assert!(response.batch_item_failures.is_empty(), "{file}");
    }
    let logs = stored(&api).await;
    assert_eq!(logs.len(), 3);
    let upgrade = logs
        .iter()
        .find(|log| log["service_name"] == "ManagedUpgradeOperator")
        .expect("the EventBridge detail");
    assert_eq!(upgrade["summary"], "Upgrade to 4.17.3 paused");
    assert_eq!(
        upgrade["cluster_id"], "2a7bq3k9m1d5f8h0j2l4n6p8r0t2v4x6",
        "the sample cluster message registered the cluster's id first"
    );
    let alert = logs
        .iter()
        .find(|log| log["service_name"] == "AlertManager")
        .expect("the plain message");
    assert_eq!(
        (alert["created_by"].clone(), alert["internal_only"].clone()),
        (json!("alertmanager"), json!(true))
    );
}

#[tokio::test]
async fn expired_cluster_logs_leave_lists_totals_and_reads_together() {
    let base = cluster_logs_state().await;
    let api = ClusterLogsState {
        store: base
            .store
            .clone()
            .with_lifetime(shared::retention::Lifetime {
                retention: shared::retention::Retention::days(1),
                ..base.store.lifetime()
            }),
        ..base
    };
    let state = ingest_state(&api);
    let now = time::OffsetDateTime::now_utc();
    let at = |t: time::OffsetDateTime| shared::timestamp::format(t);
    let dated = |summary: &str, when: String| {
        json!({"cluster_uuid": "c-1", "service_name": "hive", "severity": "Info", "summary": summary, "timestamp": when})
            .to_string()
    };
    let failed = deliver(
        &state,
        vec![
            sqs_record(
                "y-1",
                &dated("yesterday", at(now - time::Duration::days(1))),
                &[],
            ),
            sqs_record("t-1", &dated("today", at(now)), &[]),
            sqs_record(
                "old",
                &dated("too old", at(now - time::Duration::days(30))),
                &[],
            ),
        ],
    )
    .await;
    assert!(
        failed.is_empty(),
        "past its retention: acknowledged, not stored"
    );
    let logs = stored(&api).await;
    assert_eq!(logs.len(), 2);
    let yesterdays = logs
        .iter()
        .find(|log| log["summary"] == "yesterday")
        .and_then(|log| log["id"].as_str())
        .expect("yesterday's log")
        .to_owned();

    // A day later yesterday's log is past its retention: gone from lists, totals and reads at once.
    let later = ClusterLogsState {
        store: api
            .store
            .clone()
            .with_lifetime(shared::retention::Lifetime {
                clock: shared::retention::Clock::ahead(time::Duration::days(1)),
                ..api.store.lifetime()
            }),
        ..api
    };
    let logs = stored(&later).await;
    assert_eq!(
        logs.iter()
            .map(|l| l["summary"].clone())
            .collect::<Vec<_>>(),
        vec![json!("today")]
    );
    let (status, _) = ApiRequest::new(
        "GET",
        "/cluster_logs/{id}",
        &format!("/cluster_logs/{yesterdays}"),
    )
    .path_parameter("id", &yesterdays)
    .caller(Caller::internal())
    .send(&later)
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_deleted_queued_log_delivered_again_is_stored_and_counted_afresh() {
    let api = cluster_logs_state().await;
    let state = ingest_state(&api);
    let batch = vec![sqs_record("m-1", &body("one"), &[])];
    assert!(deliver(&state, batch.clone()).await.is_empty());
    let id = stored(&api).await[0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let (status, _) = ApiRequest::new(
        "DELETE",
        "/cluster_logs/{id}",
        &format!("/cluster_logs/{id}"),
    )
    .path_parameter("id", &id)
    .caller(Caller::admin())
    .send(&api)
    .await;
    assert_eq!(status, 204);
    assert!(stored(&api).await.is_empty(), "deleted and uncounted");
    assert!(deliver(&state, batch).await.is_empty());
    assert_eq!(stored(&api).await.len(), 1, "visible and counted alike");
}
