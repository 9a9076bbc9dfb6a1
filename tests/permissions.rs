//! Least privilege, checked against the code: every function runs through what it does (every
//! route shape, filter, order, delivery and schedule) on a client that records each DynamoDB call
//! as the IAM permission it needs, and template.yaml must grant exactly those, no more.

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::event::cloudwatch_logs::{LogData, LogEntry};
use integration_tests::dynamo_calls::CallLog;
use integration_tests::dynamo_calls::{REFUSED_MARKER, Refusing};
use integration_tests::{
    ApiRequest, Caller, cluster_logs_state, cluster_logs_through, invoke, sqs_message,
    system_logs_state, system_logs_through, template,
};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use serde_norway::Value as Yaml;
use shared::cluster_logs::ClusterLogsState;
use shared::system_logs::{SystemLogRecord, SystemLogStore, SystemLogsState};

type Permissions = BTreeSet<(String, String)>;

/// `ClusterLogsTable` for a table the tests made from it (`ClusterLogsTable-<ulid>`).
fn logical(resource: &str) -> String {
    match resource.split_once('-') {
        Some((table, rest)) => match rest.split_once('/') {
            Some((_, index)) => format!("{table}/{index}"),
            None => table.to_owned(),
        },
        None => resource.to_owned(),
    }
}

fn logical_permissions(log: &CallLog) -> Permissions {
    log.permissions()
        .into_iter()
        .map(|(action, resource)| (action, logical(&resource)))
        .collect()
}

/// `!GetAtt ClusterLogsTable.Arn` as `ClusterLogsTable`; `!Sub "${T.Arn}/index/i"` as `T/index/i`.
fn resource_of(value: &Yaml) -> String {
    match value {
        Yaml::Tagged(tagged) => {
            let inner = tagged.value.as_str().unwrap_or_default();
            inner
                .replace("${", "")
                .replace(".Arn}", "")
                .replace(".Arn", "")
        }
        Yaml::String(text) => text.clone(),
        other => format!("{other:?}"),
    }
}

fn sequence(value: Option<&Yaml>) -> Vec<&Yaml> {
    match value {
        Some(Yaml::Sequence(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// What template.yaml grants each function, by binary name.
fn granted() -> BTreeMap<String, Permissions> {
    let template = template();
    let mut granted = BTreeMap::new();
    for (_, function) in template.functions() {
        let binary = function.metadata["BuildProperties"]["Binary"]
            .as_str()
            .expect("a binary")
            .to_owned();
        let mut permissions = Permissions::new();
        for policy in sequence(function.properties.get("Policies")) {
            for statement in sequence(policy.get("Statement")) {
                for action in sequence(statement.get("Action")) {
                    for resource in sequence(statement.get("Resource")) {
                        permissions.insert((
                            action.as_str().expect("an action").to_owned(),
                            resource_of(resource),
                        ));
                    }
                }
            }
        }
        granted.insert(binary, permissions);
    }
    granted
}

fn watched_cluster_state(state: &ClusterLogsState) -> (ClusterLogsState, CallLog) {
    let (client, log) = CallLog::watching(state.store.client());
    (cluster_logs_through(state, client), log)
}

fn watched_system_store(state: &SystemLogsState) -> (SystemLogStore, CallLog) {
    let (client, log) = CallLog::watching(state.store.client());
    (system_logs_through(state, client).store, log)
}

fn draft(n: usize, internal: bool) -> Value {
    json!({"cluster_uuid": format!("uuid-{}", n % 2), "cluster_id": format!("id-{}", n % 2),
           "service_name": "hive", "severity": (["Info", "Warning"][n % 2]), "summary": format!("log {n}"),
           "internal_only": internal, "timestamp": format!("2026-11-0{}T10:00:00Z", 1 + n % 5)})
}

/// The requests of one cluster-log function: every shape its route takes.
fn cluster_requests(function: &str, id: &str) -> Vec<ApiRequest> {
    let list_variants = |base: ApiRequest| -> Vec<ApiRequest> {
        let variants: [&[(&str, &str)]; 10] = [
            &[],
            &[("search", "severity IN ('Info') AND summary ILIKE '%log%'")],
            &[("search", "cluster_uuid = 'uuid-1'")],
            &[("search", "cluster_id = 'id-1'")],
            &[("orderBy", "created_at desc")],
            &[
                ("search", "cluster_uuid = 'uuid-1'"),
                ("orderBy", "created_at"),
            ],
            &[
                ("search", "cluster_id = 'id-1'"),
                ("orderBy", "created_at desc"),
            ],
            &[
                ("search", "timestamp >= '2026-11-02T00:00:00Z'"),
                ("orderBy", "timestamp asc"),
            ],
            &[("orderBy", "severity desc"), ("format", "csv")],
            &[("page", "2"), ("size", "1"), ("fields", "summary")],
        ];
        variants
            .iter()
            .map(|params| {
                params.iter().fold(base.clone(), |request, (name, value)| {
                    request.query(name, value)
                })
            })
            .chain([base.clone().caller(Caller::customer())])
            .collect()
    };
    match function {
        "cluster-logs-create" => vec![
            ApiRequest::new("POST", "/cluster_logs", "/cluster_logs").json(&draft(9, false)),
            // A new pair the registry learns, and a log under one name it completes.
            ApiRequest::new("POST", "/cluster_logs", "/cluster_logs").json(
                &json!({"cluster_uuid": "uuid-new", "cluster_id": "id-new", "service_name": "hive", "summary": "a log", "severity": "Info"}),
            ),
            ApiRequest::new("POST", "/cluster_logs", "/cluster_logs")
                .json(&json!({"cluster_id": "id-new", "service_name": "hive", "summary": "a log", "severity": "Info"})),
        ],
        "cluster-logs-get" => ["missing", id]
            .into_iter()
            .flat_map(|id| {
                let get =
                    ApiRequest::new("GET", "/cluster_logs/{id}", &format!("/cluster_logs/{id}"))
                        .path_parameter("id", id);
                [
                    get.clone().caller(Caller::internal()),
                    get.caller(Caller::customer()),
                ]
            })
            .collect(),
        "cluster-logs-delete" => ["missing", id]
            .into_iter()
            .map(|id| {
                ApiRequest::new(
                    "DELETE",
                    "/cluster_logs/{id}",
                    &format!("/cluster_logs/{id}"),
                )
                .path_parameter("id", id)
                .caller(Caller::admin())
            })
            .collect(),
        "cluster-logs-list" => list_variants(
            ApiRequest::new("GET", "/cluster_logs", "/cluster_logs").caller(Caller::internal()),
        ),
        "cluster-logs-list-by-uuid" => list_variants(
            ApiRequest::new(
                "GET",
                "/clusters/{uuid}/cluster_logs",
                "/clusters/uuid-1/cluster_logs",
            )
            .path_parameter("uuid", "uuid-1")
            .caller(Caller::internal()),
        ),
        "cluster-logs-list-by-cluster" => [
            vec![("cluster_id", "id-1")],
            vec![("cluster_uuid", "uuid-1")],
            vec![("cluster_id", "id-1"), ("cluster_uuid", "uuid-1")],
        ]
        .into_iter()
        .flat_map(|params| {
            let mut base =
                ApiRequest::new("GET", "/clusters/cluster_logs", "/clusters/cluster_logs")
                    .caller(Caller::internal());
            for (name, value) in params {
                base = base.query(name, value);
            }
            list_variants(base)
        })
        .collect(),
        other => panic!("no requests for {other}"),
    }
}

async fn cluster_function_permissions(function: &str) -> Permissions {
    let state = cluster_logs_state().await;
    // Logs under an id alone, before anybody knew the id's cluster: its lists then read the id's
    // index too.
    for id in ["id-0", "id-1"] {
        let (status, log) = ApiRequest::new("POST", "/cluster_logs", "/cluster_logs")
            .json(&json!({"cluster_id": id, "service_name": "hive", "severity": "Info", "summary": "alone"}))
            .send(&state)
            .await;
        assert_eq!(status, 201, "{log}");
    }
    let mut ids = Vec::new();
    for n in 0..6 {
        let (status, log) = ApiRequest::new("POST", "/cluster_logs", "/cluster_logs")
            .json(&draft(n, n % 3 == 0))
            .send(&state)
            .await;
        assert_eq!(status, 201, "{log}");
        ids.push(log["id"].as_str().unwrap_or_default().to_owned());
    }
    let (watched, log) = watched_cluster_state(&state);
    for request in cluster_requests(function, &ids[1]) {
        let response = invoke(&watched, function, request.build()).await;
        assert!(
            response.status().as_u16() < 500,
            "{function}: {:?}",
            request.event()
        );
    }
    logical_permissions(&log)
}

async fn cluster_ingest_permissions() -> Permissions {
    let state = cluster_logs_state().await;
    let (watched, log) = watched_cluster_state(&state);
    let ingest = functions::cluster_logs_ingest::IngestState {
        store: watched.store.clone(),
        service: shared::cluster_logs::ingest::service_identity_from_env(),
    };
    let mut records: Vec<Value> = (0..30)
        .map(|n| sqs_message(&format!("m-{n}"), &draft(n, false).to_string()))
        .collect();
    // A log under one name only, which the registry completes.
    records.push(sqs_message(
        "m-id-only",
        &json!({"cluster_id": "id-1", "service_name": "hive", "severity": "Info", "summary": "by id"}).to_string(),
    ));
    for round in 0..2 {
        // The second delivery finds every log message claimed, and a cluster message that gives
        // uuid-0 a new id (the old one stops naming it).
        let mut batch = records.clone();
        batch.push(sqs_message(
            &format!("cluster-{round}"),
            &json!({"kind": "Cluster", "cluster_uuid": "uuid-0", "cluster_id": format!("id-0-{round}"),
                    "organization_id": "acme"})
            .to_string(),
        ));
        let event = serde_json::from_value(json!({"Records": batch})).expect("an SQS event");
        functions::cluster_logs_ingest::handler(
            &ingest,
            LambdaEvent::new(event, Context::default()),
        )
        .await
        .expect("answered");
    }
    // A log DynamoDB refuses after its claim: put alone, then its claim and count undone.
    let (refusing, _) = Refusing::client(watched.store.client());
    let refused = functions::cluster_logs_ingest::IngestState {
        store: shared::cluster_logs::ClusterLogStore::new(refusing, watched.store.table()),
        service: shared::cluster_logs::ingest::service_identity_from_env(),
    };
    let mut marked = draft(99, false);
    marked["summary"] = json!(REFUSED_MARKER);
    let event = serde_json::from_value(
        json!({"Records": [sqs_message("m-refused", &marked.to_string()), sqs_message("m-0", &draft(0, false).to_string())]}),
    )
    .expect("an SQS event");
    functions::cluster_logs_ingest::handler(&refused, LambdaEvent::new(event, Context::default()))
        .await
        .expect("answered");
    logical_permissions(&log)
}

fn system_record(n: usize) -> SystemLogRecord {
    let sources = ["api", "worker", "beat"];
    SystemLogRecord::from_json(
        &json!({"created": format!("2026-11-0{}T10:00:{:02}Z", 1 + n % 5, n % 60),
                "source": sources[n % 3], "instance": format!("pod-{}", n % 4),
                "level": (["INFO", "WARNING", "ERROR"][n % 3]), "logger_name": "waldur_core",
                "message": format!("message {n}"), "context": {}})
        .to_string(),
    )
    .expect("a record")
}

async fn seeded_system_state() -> SystemLogsState {
    let state = system_logs_state().await;
    let records = (0..24)
        .map(|n| (format!("seed#{n}"), system_record(n)))
        .collect();
    for result in state.store.write(records).await {
        assert!(result.is_ok(), "seeded");
    }
    state
}

async fn system_api_permissions(function: &str) -> Permissions {
    let state = seeded_system_state().await;
    let (store, log) = watched_system_store(&state);
    let watched = SystemLogsState {
        store,
        auth: state.auth.clone(),
    };
    let first = ApiRequest::system("GET", "/", "/").answer(&state).await;
    let id = first.body[0]["id"].as_u64().unwrap_or(1).to_string();
    let requests: Vec<ApiRequest> = match function {
        "system-logs-list" => [
            vec![],
            vec![("source", "api")],
            vec![("instance", "pod-1")],
            vec![("level", "ERROR")],
            vec![("level_gte", "30"), ("source", "worker")],
            vec![("o", "instance,-created")],
            vec![("o", "-level_number")],
            vec![("o", "created"), ("instance", "pod-2")],
            vec![("created_from", "1793500000"), ("created_to", "1793900000")],
            vec![("message", "MESSAGE 1"), ("logger_name", "waldur")],
            vec![("page", "2"), ("page_size", "5")],
            vec![("page", "last")],
        ]
        .into_iter()
        .map(|params| {
            params.into_iter().fold(
                ApiRequest::system("GET", "/", "/"),
                |request, (name, value)| request.query(name, value),
            )
        })
        .collect(),
        "system-logs-retrieve" => [id.as_str(), "999999999", "abc"]
            .into_iter()
            .map(|id| {
                ApiRequest::system("GET", "/{id}/", &format!("/{id}/"))
                    .path_parameter("id", id)
                    .query("source", "api")
            })
            .collect(),
        "system-logs-instances" => vec![
            ApiRequest::system("GET", "/instances/", "/instances/"),
            ApiRequest::system("GET", "/instances/", "/instances/").query("page_size", "2"),
        ],
        "system-logs-stats" => vec![ApiRequest::system("GET", "/stats/", "/stats/")],
        other => panic!("no requests for {other}"),
    };
    for request in requests {
        let answer = ApiRequest::dispatch_system(&watched, function, request.build()).await;
        assert!(answer.status < 500, "{function}: {}", answer.body);
    }
    // The cursor a `next` link carries.
    if function == "system-logs-list" {
        let page = ApiRequest::system("GET", "/", "/").answer(&watched).await;
        let link = page.header("link").unwrap_or_default().to_owned();
        if let Some(cursor) = link
            .split("cursor=")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
        {
            let next = ApiRequest::system("GET", "/", "/")
                .query("cursor", cursor)
                .query("page", "2");
            ApiRequest::dispatch_system(&watched, function, next.build()).await;
        }
    }
    logical_permissions(&log)
}

async fn system_ingest_permissions() -> Permissions {
    let state = system_logs_state().await;
    let (store, log) = watched_system_store(&state);
    let ingest = functions::system_logs_ingest::IngestState {
        store,
        mapping: Default::default(),
    };
    let messages: Vec<Value> = (0..30)
        .map(|n| {
            let record = json!({"created": "2026-11-01T10:00:00Z", "source": "api", "instance": "pod-1",
                                "level": "INFO", "logger_name": "x", "message": format!("m {n}"), "context": {}});
            sqs_message(&format!("s-{n}"), &record.to_string())
        })
        .collect();
    let mut data = LogData::default();
    data.log_group = "/waldur/platform".into();
    data.log_stream = "waldur-worker-5d8f7c-abcde".into();
    data.message_type = "DATA_MESSAGE".into();
    for n in 0..30 {
        let mut entry = LogEntry::default();
        entry.id = format!("e-{n}");
        entry.timestamp = 1_793_500_000_000 + n;
        entry.message = format!(r#"{{"event": "line {n}", "level": "warning"}}"#);
        data.log_events.push(entry);
    }
    let delivery = devtools::cloudwatch::subscription_event(&data).expect("encoded");
    for _ in 0..2 {
        // Delivered twice: the second finds every record claimed.
        for event in [json!({"Records": messages.clone()}), delivery.clone()] {
            functions::system_logs_ingest::handler(
                &ingest,
                LambdaEvent::new(event, Context::default()),
            )
            .await
            .expect("answered");
        }
    }
    let (refusing, _) = Refusing::client(ingest.store.client());
    let refused = functions::system_logs_ingest::IngestState {
        store: SystemLogStore::new(refusing, ingest.store.table()),
        mapping: Default::default(),
    };
    let marked = json!({"created": "2026-11-01T10:00:00Z", "source": "api", "instance": "pod-1",
                        "level": "INFO", "message": REFUSED_MARKER});
    let event =
        json!({"Records": [sqs_message("s-refused", &marked.to_string()), messages[0].clone()]});
    functions::system_logs_ingest::handler(&refused, LambdaEvent::new(event, Context::default()))
        .await
        .expect("answered");
    logical_permissions(&log)
}

async fn system_cap_permissions() -> Permissions {
    let state = seeded_system_state().await;
    let (store, log) = watched_system_store(&state);
    let cap = functions::system_logs_cap::CapState {
        store,
        max_per_source: Some(3),
    };
    for _ in 0..2 {
        functions::system_logs_cap::handler(&cap, LambdaEvent::new(json!({}), Context::default()))
            .await
            .expect("answered");
    }
    logical_permissions(&log)
}

#[tokio::test]
async fn each_function_is_granted_exactly_the_dynamodb_calls_its_code_makes() {
    let granted = granted();
    let mut used = BTreeMap::new();
    for function in [
        "cluster-logs-create",
        "cluster-logs-get",
        "cluster-logs-delete",
        "cluster-logs-list",
        "cluster-logs-list-by-uuid",
        "cluster-logs-list-by-cluster",
    ] {
        used.insert(
            function.to_owned(),
            cluster_function_permissions(function).await,
        );
    }
    used.insert(
        "cluster-logs-ingest".into(),
        cluster_ingest_permissions().await,
    );
    for function in [
        "system-logs-list",
        "system-logs-retrieve",
        "system-logs-instances",
        "system-logs-stats",
    ] {
        used.insert(function.to_owned(), system_api_permissions(function).await);
    }
    used.insert(
        "system-logs-ingest".into(),
        system_ingest_permissions().await,
    );
    used.insert("system-logs-cap".into(), system_cap_permissions().await);
    // openapi-spec has no DynamoDB client at all: the contract is built into it. The authorizer
    // neither: it asks Waldur and the issuer, over HTTPS, and nothing of AWS.
    used.insert("openapi-spec".into(), Permissions::new());
    used.insert("system-logs-authorizer".into(), Permissions::new());
    assert_eq!(
        granted.keys().collect::<Vec<_>>(),
        used.keys().collect::<Vec<_>>(),
        "every deployed function is exercised"
    );
    let mut differences = Vec::new();
    for (function, needs) in &used {
        let grants = &granted[function];
        let missing: Vec<_> = needs.difference(grants).collect();
        let unused: Vec<_> = grants.difference(needs).collect();
        if !missing.is_empty() || !unused.is_empty() {
            differences.push(format!(
                "{function}: needs but not granted {missing:?}; granted but never used {unused:?}"
            ));
        }
        assert!(
            !needs.iter().any(|(action, _)| action == "dynamodb:Scan"),
            "{function} scans"
        );
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
