//! Every sample event in events/ replayed through its function's handler against DynamoDB Local.

use integration_tests::{
    ApiRequest, cluster_logs_state, invoke, read, sample_event, sample_event_files,
    system_logs_state,
};
use shared::cluster_logs::{ClusterLogDraft, ClusterLogsState};
use shared::identity::Caller;

/// The log the get and delete events name.
const EVENT_LOG_ID: &str = "01JD6Q9V8Y3C5T2W4X6Z8B0N1M";

async fn seed_the_log_the_events_name(state: &ClusterLogsState) {
    let draft = ClusterLogDraft {
        cluster_uuid: Some("2d1c5f8a-7b3e-4f19-9c2d-6e8a0b4f7d13".into()),
        severity: Some("Info".into()),
        service_name: Some("hive".into()),
        summary: Some("The log the events name".into()),
        ..Default::default()
    };
    let mut log = draft
        .into_cluster_log(&Caller::default(), std::time::SystemTime::now().into())
        .expect("a valid log");
    log.id = EVENT_LOG_ID.to_owned();
    state.store.create(&log).await.expect("seeded");
}

#[tokio::test]
async fn every_sample_event_gets_the_status_its_route_promises() {
    let state = cluster_logs_state().await;
    seed_the_log_the_events_name(&state).await;
    // Reads before the delete, so the get still finds the log.
    let expected = [
        ("cluster-logs-create", 201),
        ("cluster-logs-list", 200),
        ("cluster-logs-list-by-uuid", 200),
        ("cluster-logs-list-by-cluster", 200),
        ("cluster-logs-get", 200),
        ("cluster-logs-delete", 204),
    ];
    let mut replayed = Vec::new();
    for (function, status) in expected {
        let request = sample_event(function);
        let (got, body) = read(invoke(&state, function, request).await);
        assert_eq!(got, status, "{function}: {body}");
        replayed.push(format!("{function}.json"));
    }
    replayed.sort();
    let http_events: Vec<String> = sample_event_files("cluster-logs-")
        .into_iter()
        .filter(|name| !name.starts_with("cluster-logs-ingest"))
        .collect();
    assert_eq!(
        http_events, replayed,
        "every cluster-log event file was replayed"
    );
}

/// The log the system-logs retrieve event names: the first id of the minute 2026-11-21 10:00 UTC
/// (ids are the minute since 2024-01-01 shifted 26 bits, plus the position in that minute).
const EVENT_SYSTEM_LOG_ID: u64 = 1_519_800 << 26;

#[tokio::test]
async fn every_system_log_event_gets_200() {
    let state = system_logs_state().await;
    let record = shared::system_logs::SystemLogRecord {
        created: time::macros::datetime!(2026-11-21 10:00:00.5 UTC),
        source: "worker".into(),
        instance: "waldur-worker-5d8f7c-abcde".into(),
        level: "ERROR".into(),
        logger_name: "celery.worker.strategy".into(),
        message: "Task failed".into(),
        context: serde_json::json!({}),
    };
    let written = state.store.write(vec![("event-test".into(), record)]).await;
    assert!(
        matches!(&written[..], [Ok(shared::system_logs::Written::Stored(log))] if log.id == EVENT_SYSTEM_LOG_ID),
        "{written:?}"
    );
    let mut replayed = Vec::new();
    for function in [
        "system-logs-list",
        "system-logs-retrieve",
        "system-logs-instances",
        "system-logs-stats",
    ] {
        let request = sample_event(function);
        let answer = ApiRequest::dispatch_system(&state, function, request).await;
        assert_eq!(answer.status, 200, "{function}: {}", answer.body);
        replayed.push(format!("{function}.json"));
    }
    replayed.sort();
    let http_events: Vec<String> = sample_event_files("system-logs-")
        .into_iter()
        .filter(|name| {
            !name.starts_with("system-logs-ingest")
                && !name.starts_with("system-logs-cap")
                && !name.starts_with("system-logs-authorizer")
        })
        .collect();
    assert_eq!(
        http_events, replayed,
        "every system-log API event file was replayed (tests/system_logs_ingest.rs replays the rest)"
    );
}

/// HomePort's list request as the system-log routes' Lambda authorizer receives it: the verdict
/// on its Waldur token goes into the context, and the request goes on to the function.
#[tokio::test]
async fn the_authorizer_event_gets_its_waldur_tokens_verdict_in_the_context() {
    let waldur = integration_tests::stand_ins::waldur().await;
    let authorizer = shared::authorizer::Authorizer::new(shared::authorizer::JwtKeys::None)
        .with_waldur(shared::waldur::WaldurUsers::new(&waldur.url).unwrap(), 60);
    let event: aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_str(
            &std::fs::read_to_string(
                integration_tests::workspace_root().join("events/system-logs-authorizer.json"),
            )
            .unwrap(),
        )
        .unwrap();
    let answer = functions::system_logs_authorizer::handler(
        &authorizer,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(answer["isAuthorized"], true);
    let verdict: serde_json::Value =
        serde_json::from_str(answer["context"]["verdict"].as_str().unwrap()).unwrap();
    assert_eq!(verdict["outcome"], "waldur");
    assert_eq!(verdict["username"], "staff");
    assert_eq!(verdict["reads_system_logs"], true);
    assert_eq!(waldur.requests_for("/api/users/me/"), 1);
}

#[tokio::test]
async fn the_contract_event_gets_the_openapi_file() {
    let auth = shared::identity::Authenticator::new("groups", None);
    let response = functions::openapi_spec::handler(&auth, sample_event("openapi-spec"))
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    let served = String::from_utf8_lossy(response.body().as_ref()).into_owned();
    assert!(
        served.starts_with("openapi: 3.1"),
        "{}",
        &served[..40.min(served.len())]
    );
}

#[test]
fn every_function_has_a_sample_event() {
    let events = integration_tests::file_names("events");
    for function in integration_tests::function_names() {
        assert!(
            events
                .iter()
                .any(|event| event
                    .strip_suffix(".json")
                    .is_some_and(|name| name == function
                        || name
                            .strip_prefix(&function)
                            .is_some_and(|rest| rest.starts_with('-')))),
            "events/ has no sample event for {function}"
        );
    }
}
