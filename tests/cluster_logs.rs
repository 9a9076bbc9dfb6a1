//! The cluster-log API, end to end through the handlers, against DynamoDB Local.

use integration_tests::{
    ApiRequest, CUSTOMER_ORGANIZATION, Caller, LOCAL_SECRET, cluster_logs_state, gunzip,
    register_cluster,
};
use serde_json::{Value, json};
use shared::cluster_logs::ClusterLogsState;

const UUID: &str = "2d1c5f8a-7b3e-4f19-9c2d-6e8a0b4f7d13";
const CLUSTER_ID: &str = "2a7bq3k9m1d5f8h0j2l4n6p8r0t2v4x6";

fn osdctl_body() -> Value {
    json!({
        "severity": "Warning", "service_name": "SREManualAction", "cluster_uuid": UUID, "cluster_id": CLUSTER_ID,
        "summary": "Cluster upgrade paused",
        "description": "The upgrade was paused:\n- a node drain is blocked by a `PodDisruptionBudget`.",
        "internal_only": false, "event_stream_id": "", "subscription_id": "1xyzsub", "doc_references": null,
    })
}

fn post(body: &Value) -> ApiRequest {
    ApiRequest::new("POST", "/cluster_logs", "/cluster_logs").json(body)
}

fn get(id: &str) -> ApiRequest {
    ApiRequest::new("GET", "/cluster_logs/{id}", &format!("/cluster_logs/{id}"))
        .path_parameter("id", id)
}

fn delete(id: &str) -> ApiRequest {
    ApiRequest::new(
        "DELETE",
        "/cluster_logs/{id}",
        &format!("/cluster_logs/{id}"),
    )
    .path_parameter("id", id)
}

fn list_all() -> ApiRequest {
    ApiRequest::new("GET", "/cluster_logs", "/cluster_logs")
}

fn list_by_uuid(uuid: &str) -> ApiRequest {
    ApiRequest::new(
        "GET",
        "/clusters/{uuid}/cluster_logs",
        &format!("/clusters/{uuid}/cluster_logs"),
    )
    .path_parameter("uuid", uuid)
}

fn list_by_cluster() -> ApiRequest {
    ApiRequest::new("GET", "/clusters/cluster_logs", "/clusters/cluster_logs")
}

/// Posts a log as a writer and returns its id.
async fn create(state: &ClusterLogsState, body: Value) -> String {
    let (status, log) = post(&body).send(state).await;
    assert_eq!(status, 201, "{log}");
    log["id"].as_str().expect("an id").to_owned()
}

fn log_for(uuid: &str, summary: &str, timestamp: &str) -> Value {
    json!({"cluster_uuid": uuid, "service_name": "hive", "severity": "Info", "summary": summary, "timestamp": timestamp})
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

fn assert_error(body: &Value, status: u16, request: &ApiRequest) {
    assert_eq!(body["kind"], "Error");
    assert_eq!(
        body["id"],
        status.to_string(),
        "id is the status as a JSON string"
    );
    assert_eq!(
        body["href"],
        format!("/api/service_logs/v1/errors/{status}")
    );
    assert_eq!(body["code"], format!("OCM-SL-{status}"));
    assert!(
        body["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
    assert_eq!(body["operation_id"], request.request_id());
}

#[tokio::test]
async fn osdctl_post_returns_201_with_its_fields_unchanged() {
    let state = cluster_logs_state().await;
    let body = osdctl_body();
    let (status, log) = post(&body).send(&state).await;
    assert_eq!(status, 201);
    for field in [
        "severity",
        "service_name",
        "cluster_uuid",
        "summary",
        "description",
    ] {
        assert_eq!(log[field], body[field], "{field} comes back unchanged");
    }
    assert_eq!(log["kind"], "ClusterLog");
    let id = log["id"].as_str().expect("id");
    assert!(ulid::Ulid::from_string(id).is_ok(), "ids are ULIDs");
    assert_eq!(
        log["href"],
        format!("/api/service_logs/v1/cluster_logs/{id}")
    );
    assert!(
        log["event_stream_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "a fresh event stream id"
    );
    assert_eq!(log["doc_references"], json!([]));
    assert_eq!(log["internal_only"], false);
    for time in ["timestamp", "created_at"] {
        let text = log[time].as_str().expect("a time");
        assert!(
            text.ends_with('Z') && text.contains('.'),
            "{time} is RFC 3339 with fractions and Z: {text}"
        );
    }
}

#[tokio::test]
async fn go_sdk_body_with_kind_log_entry_and_only_set_fields_is_accepted() {
    let state = cluster_logs_state().await;
    let body = json!({"kind": "LogEntry", "cluster_uuid": UUID, "severity": "Info", "service_name": "hive",
                      "summary": "Hibernating", "timestamp": "2025-06-01T08:30:00.123Z",
                      "doc_references": ["https://docs.example.com/upgrade"]});
    let (status, log) = post(&body).send(&state).await;
    assert_eq!(status, 201, "{log}");
    assert_eq!(log["kind"], "ClusterLog");
    assert_eq!(log["timestamp"], "2025-06-01T08:30:00.123000Z");
    assert_eq!(
        log["doc_references"],
        json!(["https://docs.example.com/upgrade"])
    );
    assert_eq!(
        log["cluster_id"], "",
        "a field without a value is sent as \"\", as the production service sends it"
    );
}

#[tokio::test]
async fn identity_fields_come_from_the_token_never_from_the_body() {
    let state = cluster_logs_state().await;
    let mut body = osdctl_body();
    body["created_by"] = json!("mallory");
    body["email"] = json!("mallory@evil.example");
    body["id"] = json!("01AAAAAAAAAAAAAAAAAAAAAAAA");
    body["created_at"] = json!("2001-01-01T00:00:00Z");
    let (status, log) = post(&body).send(&state).await;
    assert_eq!(status, 201);
    assert_eq!(log["created_by"], "jdoe");
    assert_eq!(log["email"], "jdoe@example.com");
    assert_eq!(log["first_name"], "Jane");
    assert_eq!(log["last_name"], "Doe");
    assert_ne!(log["id"], "01AAAAAAAAAAAAAAAAAAAAAAAA");
    assert_ne!(log["created_at"], "2001-01-01T00:00:00Z");
}

#[tokio::test]
async fn bad_bodies_get_400_error_bodies_and_store_nothing() {
    let state = cluster_logs_state().await;
    let long_summary = "x".repeat(256);
    let cases: Vec<(&str, String)> = vec![
        ("not JSON", "{severity: Info".to_owned()),
        ("empty", String::new()),
        ("an array", "[]".to_owned()),
        ("a string", "\"log\"".to_owned()),
        ("trailing garbage", format!("{} x", osdctl_body())),
        (
            "wrong type",
            json!({"cluster_uuid": UUID, "service_name": "hive", "severity": "Info", "summary": 5}).to_string(),
        ),
        (
            "wrong boolean",
            json!({"cluster_uuid": UUID, "service_name": "hive", "summary": "a log", "severity": "Info", "internal_only": "yes"}).to_string(),
        ),
        (
            "unknown severity",
            json!({"cluster_uuid": UUID, "service_name": "hive", "summary": "a log", "severity": "Catastrophic"}).to_string(),
        ),
        (
            "lowercase severity",
            json!({"cluster_uuid": UUID, "service_name": "hive", "summary": "a log", "severity": "info"}).to_string(),
        ),
        (
            "missing severity",
            json!({"cluster_uuid": UUID}).to_string(),
        ),
        ("missing cluster", json!({"service_name": "hive", "summary": "a log", "severity": "Info"}).to_string()),
        (
            "summary of 256",
            json!({"cluster_uuid": UUID, "service_name": "hive", "severity": "Info", "summary": long_summary}).to_string(),
        ),
        (
            "bad timestamp",
            json!({"cluster_uuid": UUID, "service_name": "hive", "summary": "a log", "severity": "Info", "timestamp": "yesterday"}).to_string(),
        ),
        (
            "huge description",
            json!({"cluster_uuid": UUID, "service_name": "hive", "summary": "a log", "severity": "Info", "description": "d".repeat(70_000)})
                .to_string(),
        ),
    ];
    for (case, body) in cases {
        let request = post(&Value::Null).body(body);
        let (status, error) = request.send(&state).await;
        assert_eq!(status, 400, "{case}: {error}");
        assert_error(&error, 400, &request);
    }
    let (_, list) = list_all().caller(Caller::internal()).send(&state).await;
    assert_eq!(list["total"], 0, "nothing was stored");
}

#[tokio::test]
async fn wrong_types_name_the_field() {
    let state = cluster_logs_state().await;
    let (_, error) = post(
        &json!({"cluster_uuid": UUID, "service_name": "hive", "severity": "Info", "summary": 5}),
    )
    .send(&state)
    .await;
    assert!(
        error["reason"]
            .as_str()
            .is_some_and(|r| r.contains("summary")),
        "{error}"
    );
}

#[tokio::test]
async fn get_returns_the_log_and_404_error_when_missing() {
    let state = cluster_logs_state().await;
    register_cluster(&state, UUID, CLUSTER_ID, CUSTOMER_ORGANIZATION).await;
    let id = create(&state, osdctl_body()).await;
    let (status, log) = get(&id).caller(Caller::customer()).send(&state).await;
    assert_eq!(status, 200);
    assert_eq!(log["id"], id.as_str());
    assert_eq!(log["summary"], "Cluster upgrade paused");

    for missing in ["01JD6Q9V8Y3C5T2W4X6Z8B0N1M", "not-a-ulid", "%23count%230"] {
        let request = get(missing);
        let (status, error) = request.send(&state).await;
        assert_eq!(status, 404, "{missing}");
        assert_error(&error, 404, &request);
    }
}

#[tokio::test]
async fn the_osdctl_flow_posts_lists_gets_and_deletes_a_log() {
    let state = cluster_logs_state().await;
    let id = create(&state, osdctl_body()).await;

    let (status, by_uuid) = list_by_uuid(UUID).send(&state).await;
    assert_eq!(status, 200);
    assert_eq!(by_uuid["kind"], "ClusterLogList");
    assert_eq!(ids(&by_uuid), vec![id.clone()]);
    let (status, by_query) = list_by_cluster()
        .query("cluster_uuid", UUID)
        .query("orderBy", "timestamp desc")
        .query("search", "")
        .send(&state)
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&by_query), vec![id.clone()]);

    let (status, body) = delete(&id).caller(Caller::admin()).send(&state).await;
    assert_eq!((status, body), (204, Value::Null));
    let request = get(&id);
    let (status, error) = request.send(&state).await;
    assert_eq!(status, 404);
    assert_error(&error, 404, &request);
    let request = delete(&id).caller(Caller::admin());
    let (status, error) = request.send(&state).await;
    assert_eq!(status, 404, "a second delete finds nothing");
    assert_error(&error, 404, &request);
    let (_, all) = list_all().send(&state).await;
    assert_eq!(all["total"], 0, "the delete was uncounted");
}

#[tokio::test]
async fn per_cluster_lists_are_newest_first_and_paged_with_totals() {
    let state = cluster_logs_state().await;
    let mut created = Vec::new();
    for minute in 0..7 {
        let at = format!("2025-05-01T10:{minute:02}:00Z");
        created.push(create(&state, log_for(UUID, &format!("step {minute}"), &at)).await);
    }
    create(
        &state,
        log_for("another-cluster", "elsewhere", "2025-05-01T10:30:00Z"),
    )
    .await;
    created.reverse(); // newest first

    let (_, first) = list_by_uuid(UUID).query("size", "3").send(&state).await;
    assert_eq!(
        (
            first["page"].clone(),
            first["size"].clone(),
            first["total"].clone()
        ),
        (json!(1), json!(3), json!(7))
    );
    assert_eq!(ids(&first), created[0..3]);
    let (_, third) = list_by_uuid(UUID)
        .query("size", "3")
        .query("page", "3")
        .send(&state)
        .await;
    assert_eq!(ids(&third), created[6..7]);
    assert_eq!(
        (third["size"].clone(), third["total"].clone()),
        (json!(1), json!(7))
    );
    let (_, past) = list_by_uuid(UUID)
        .query("size", "3")
        .query("page", "9")
        .send(&state)
        .await;
    assert_eq!(
        (past["size"].clone(), past["total"].clone()),
        (json!(0), json!(7))
    );
    let (_, none) = list_by_uuid(UUID).query("size", "0").send(&state).await;
    assert_eq!(
        (none["size"].clone(), none["total"].clone()),
        (json!(0), json!(7))
    );
    let (_, most) = list_by_uuid(UUID).query("size", "-1").send(&state).await;
    assert_eq!(ids(&most), created);
    let (_, default) = list_by_uuid(UUID).send(&state).await;
    assert_eq!(ids(&default), created, "default size holds them all");
}

#[tokio::test]
async fn total_counts_every_match_even_when_the_page_stops_early() {
    let state = cluster_logs_state().await;
    for n in 0..25 {
        create(
            &state,
            log_for(UUID, &format!("n{n}"), &format!("2025-05-01T11:{n:02}:00Z")),
        )
        .await;
    }
    let (_, page) = list_by_uuid(UUID).query("size", "2").send(&state).await;
    assert_eq!(
        (page["size"].clone(), page["total"].clone()),
        (json!(2), json!(25))
    );
}

#[tokio::test]
async fn the_query_route_needs_a_cluster_and_finds_its_logs_by_either_name() {
    let state = cluster_logs_state().await;
    // Posted under one name each while nobody knew the pair, then a log that names both.
    let uuid_only = create(&state, json!({"cluster_uuid": UUID, "service_name": "hive", "summary": "a log", "severity": "Info"})).await;
    let id_only = create(
        &state,
        json!({"cluster_id": CLUSTER_ID, "service_name": "hive", "summary": "a log", "severity": "Info"}),
    )
    .await;
    let both = create(
        &state,
        json!({"cluster_uuid": UUID, "cluster_id": CLUSTER_ID, "service_name": "hive", "summary": "a log", "severity": "Info"}),
    )
    .await;

    let request = list_by_cluster();
    let (status, error) = request.send(&state).await;
    assert_eq!(status, 400);
    assert_error(&error, 400, &request);
    let (status, _) = list_by_cluster().query("cluster_id", "").send(&state).await;
    assert_eq!(status, 400, "an empty id is no id");

    let mut every = vec![both, uuid_only, id_only];
    every.sort();
    for request in [
        list_by_cluster().query("cluster_id", CLUSTER_ID),
        list_by_cluster().query("cluster_uuid", UUID),
        list_by_cluster()
            .query("cluster_uuid", UUID)
            .query("cluster_id", CLUSTER_ID),
        list_by_uuid(UUID),
    ] {
        let (_, list) = request.clone().send(&state).await;
        let mut found = ids(&list);
        found.sort();
        assert_eq!(found, every, "{request:?}");
        assert_eq!(list["total"], 3, "{request:?}");
    }
}

#[tokio::test]
async fn the_all_clusters_list_merges_every_shard_newest_first() {
    let state = cluster_logs_state().await;
    let mut created = Vec::new();
    for n in 0..23 {
        let uuid = format!("cluster-{}", n % 5);
        created.push(
            create(
                &state,
                log_for(&uuid, "x", &format!("2025-07-01T09:{n:02}:00Z")),
            )
            .await,
        );
    }
    created.reverse();
    let mut seen = Vec::new();
    for page in 1..=5 {
        let (status, list) = list_all()
            .query("size", "5")
            .query("page", &page.to_string())
            .send(&state)
            .await;
        assert_eq!(status, 200);
        assert_eq!(list["total"], 23);
        seen.extend(ids(&list));
    }
    assert_eq!(seen, created, "pages walk every log once, newest first");
}

#[tokio::test]
async fn paging_parameters_are_validated() {
    let state = cluster_logs_state().await;
    for (name, value) in [
        ("page", "0"),
        ("page", "abc"),
        ("size", "many"),
        ("page", "999999"),
    ] {
        let request = list_all()
            .query(name, value)
            .query("size", if name == "size" { value } else { "100" });
        let (status, error) = request.send(&state).await;
        assert_eq!(status, 400, "{name}={value}: {error}");
        assert_error(&error, 400, &request);
    }
}

#[tokio::test]
async fn internal_logs_do_not_exist_for_customers() {
    let state = cluster_logs_state().await;
    let public = create(
        &state,
        json!({"cluster_uuid": UUID, "cluster_id": CLUSTER_ID, "service_name": "hive", "summary": "a log", "severity": "Info"}),
    )
    .await;
    let internal =
        create(&state, json!({"cluster_uuid": UUID, "cluster_id": CLUSTER_ID, "service_name": "hive", "summary": "a log", "severity": "Info", "internal_only": true})).await;

    register_cluster(&state, UUID, CLUSTER_ID, CUSTOMER_ORGANIZATION).await;
    let public_views = [
        (list_all(), Caller::reader()),
        (list_by_uuid(UUID), Caller::customer()),
        (list_by_uuid(UUID), Caller::reader()),
        (
            list_by_cluster().query("cluster_id", CLUSTER_ID),
            Caller::customer(),
        ),
        (
            list_by_cluster().query("cluster_uuid", UUID),
            Caller::customer(),
        ),
    ];
    for (request, caller) in public_views {
        let (_, list) = request.clone().caller(caller).send(&state).await;
        assert_eq!(ids(&list), vec![public.clone()], "{request:?}");
        assert_eq!(list["total"], 1, "internal logs are not counted");
        let (_, list) = request.caller(Caller::internal()).send(&state).await;
        assert_eq!(list["total"], 2);
    }
    let (status, _) = get(&internal).caller(Caller::customer()).send(&state).await;
    assert_eq!(status, 404);
    let (status, _) = get(&internal).caller(Caller::internal()).send(&state).await;
    assert_eq!(status, 200);
    let (status, _) = delete(&internal)
        .caller(Caller::with_roles(&["service-logs-admin"]))
        .send(&state)
        .await;
    assert_eq!(
        status, 404,
        "an admin without the internal role cannot see it to delete it"
    );
    let (status, _) = delete(&internal).caller(Caller::admin()).send(&state).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn no_identity_is_401_and_a_missing_role_is_403() {
    let state = cluster_logs_state().await;
    let id = create(&state, osdctl_body()).await;
    let anonymous = [
        post(&osdctl_body()),
        get(&id),
        delete(&id),
        list_all(),
        list_by_uuid(UUID),
        list_by_cluster().query("cluster_uuid", UUID),
    ];
    for request in anonymous {
        let request = request.caller(Caller::Anonymous);
        let (status, error) = request.send(&state).await;
        assert_eq!(status, 401, "{request:?}");
        assert_error(&error, 401, &request);
    }
    let request = post(&osdctl_body()).caller(Caller::customer());
    let (status, error) = request.send(&state).await;
    assert_eq!(status, 403);
    assert_error(&error, 403, &request);
    let request = delete(&id).caller(Caller::writer());
    let (status, error) = request.send(&state).await;
    assert_eq!(status, 403);
    assert_error(&error, 403, &request);
    let (status, _) = get(&id).send(&state).await;
    assert_eq!(status, 200, "the log is still there");
}

#[tokio::test]
async fn local_tokens_work_only_when_signed_with_the_local_secret() {
    use devtools::local_token::LocalClaims;
    let state = cluster_logs_state().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let writer = LocalClaims::new("alice", &["service-logs-writer"], now, 600);
    let good = writer.sign(LOCAL_SECRET, "groups").expect("signed");
    let (status, log) = post(&osdctl_body())
        .caller(Caller::LocalToken(good))
        .send(&state)
        .await;
    assert_eq!(status, 201, "{log}");
    assert_eq!(log["created_by"], "alice");

    let forged = writer.sign("another-secret", "groups").expect("signed");
    let expired = LocalClaims::new("alice", &["service-logs-writer"], now - 7_200, 60)
        .sign(LOCAL_SECRET, "groups")
        .expect("signed");
    for token in [forged, expired, "not.a.token".to_owned()] {
        let (status, _) = post(&osdctl_body())
            .caller(Caller::LocalToken(token))
            .send(&state)
            .await;
        assert_eq!(status, 401);
    }

    // With the secret unset, as template.yaml pins it, even a well-signed local token is refused.
    let deployed = ClusterLogsState {
        auth: shared::identity::Authenticator::new("groups", Some("")),
        ..state.clone()
    };
    let token = writer.sign(LOCAL_SECRET, "groups").expect("signed");
    let (status, _) = post(&osdctl_body())
        .caller(Caller::LocalToken(token))
        .send(&deployed)
        .await;
    assert_eq!(status, 401);
}

/// Which of the posted bodies a search should find.
type Expectation<'a> = dyn Fn(&Value) -> bool + 'a;

/// Twelve logs over two clusters, three services, four severities, some internal.
async fn searchable(state: &ClusterLogsState) -> Vec<Value> {
    let mut logs = Vec::new();
    for n in 0..12 {
        let (uuid, cluster_id) = if n % 2 == 0 {
            (UUID, CLUSTER_ID)
        } else {
            ("other-uuid", "other-id")
        };
        let service = ["SREManualAction", "LimitedSupport", "hive"][n % 3];
        let severity = ["Info", "Warning", "Error", "Critical"][n % 4];
        let mood = ["quiet", "Noisy", "odd"][n % 3];
        let body = json!({
            "cluster_uuid": uuid,
            "cluster_id": cluster_id,
            "service_name": service,
            "severity": severity,
            "summary": format!("Log {n:02}: it's {mood}"),
            "internal_only": n % 5 == 0,
            "timestamp": format!("2025-01-{:02}T10:00:00.000Z", n + 1),
        });
        create(state, body.clone()).await;
        logs.push(body);
    }
    logs
}

fn summaries(list: &Value) -> Vec<String> {
    let mut found: Vec<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["summary"].as_str().unwrap_or_default().to_owned())
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn searches_from_osdctl_and_the_web_ui_find_exactly_their_logs() {
    let state = cluster_logs_state().await;
    let logs = searchable(&state).await;
    let expected = |keep: &Expectation<'_>| -> Vec<String> {
        let mut found: Vec<String> = logs
            .iter()
            .filter(|log| keep(log))
            .map(|log| log["summary"].as_str().unwrap_or_default().to_owned())
            .collect();
        found.sort();
        found
    };
    let cases: Vec<(&str, Box<Expectation<'static>>)> = vec![
        (
            "service_name='SREManualAction' and internal_only='true'",
            Box::new(|l: &Value| {
                l["service_name"] == "SREManualAction" && l["internal_only"] == true
            }),
        ),
        (
            "severity IN ('Info','Warning')",
            Box::new(|l: &Value| l["severity"] == "Info" || l["severity"] == "Warning"),
        ),
        (
            "(username ILIKE '%x%' OR (username = '' AND created_by ILIKE '%JDOE%'))",
            Box::new(|_: &Value| true),
        ),
        (
            "timestamp >= '2025-01-07T00:00:00.000Z'",
            Box::new(|l: &Value| l["timestamp"].as_str() >= Some("2025-01-07")),
        ),
        (
            "summary ILIKE '%noisy%' AND NOT severity = 'Warning'",
            Box::new(|l: &Value| {
                l["summary"].as_str().is_some_and(|s| s.contains("Noisy"))
                    && l["severity"] != "Warning"
            }),
        ),
        // What DynamoDB checks (FilterExpression) must agree with the search on absent fields.
        ("username = ''", Box::new(|_: &Value| true)),
        ("username <> ''", Box::new(|_: &Value| false)),
        ("subscription_id < 'z'", Box::new(|_: &Value| true)),
        (
            "doc_references = 'https://docs/x'",
            Box::new(|_: &Value| false),
        ),
        (
            "severity NOT IN ('Info')",
            Box::new(|l: &Value| l["severity"] != "Info"),
        ),
        (
            "summary LIKE 'Log 0%' AND internal_only != 'true'",
            Box::new(|l: &Value| {
                l["summary"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("Log 0"))
                    && l["internal_only"] != true
            }),
        ),
        (
            "NOT (service_name = 'hive' OR severity = 'Error')",
            Box::new(|l: &Value| l["service_name"] != "hive" && l["severity"] != "Error"),
        ),
        (
            "summary LIKE '%it''s odd'",
            Box::new(|l: &Value| {
                l["summary"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("it's odd"))
            }),
        ),
    ];
    for (search, keep) in cases {
        for (route, request) in [
            ("all", list_all()),
            ("by uuid", list_by_uuid(UUID)),
            (
                "by cluster",
                list_by_cluster().query("cluster_id", CLUSTER_ID),
            ),
        ] {
            let in_scope = |log: &Value| route == "all" || log["cluster_uuid"] == UUID;
            let (status, list) = request
                .query("search", search)
                .query("size", "5")
                .caller(Caller::internal())
                .send(&state)
                .await;
            assert_eq!(status, 200, "{search} ({route}): {list}");
            let all = expected(&|log| in_scope(log) && keep(log));
            assert_eq!(
                list["total"],
                all.len(),
                "{search} ({route}): total counts every match"
            );
            assert!(
                summaries(&list).iter().all(|s| all.contains(s)),
                "{search} ({route}): {list}"
            );
            assert_eq!(list["size"], all.len().min(5));
        }
    }
}

#[tokio::test]
async fn a_search_on_cluster_uuid_narrows_the_all_clusters_list() {
    let state = cluster_logs_state().await;
    searchable(&state).await;
    let (status, list) = list_all()
        .query(
            "search",
            &format!("cluster_uuid = '{UUID}' AND severity = 'Info'"),
        )
        .caller(Caller::internal())
        .send(&state)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 3, "{list}");
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|l| l["cluster_uuid"] == UUID)
    );
}

#[tokio::test]
async fn customers_searching_for_internal_logs_find_nothing() {
    let state = cluster_logs_state().await;
    searchable(&state).await;
    register_cluster(&state, UUID, CLUSTER_ID, CUSTOMER_ORGANIZATION).await;
    for (request, caller) in [
        (list_all(), Caller::reader()),
        (list_by_uuid(UUID), Caller::customer()),
    ] {
        let (status, list) = request
            .query("search", "internal_only = 'true'")
            .caller(caller)
            .send(&state)
            .await;
        assert_eq!(status, 200);
        assert_eq!(list["total"], 0, "{list}");
        assert_eq!(list["items"], json!([]));
    }
}

#[tokio::test]
async fn malformed_searches_are_400_error_bodies_that_point_at_the_problem() {
    let state = cluster_logs_state().await;
    for (search, words) in [
        ("severity = ", "position 11"),
        ("colour = 'red'", "unknown field 'colour'"),
        ("severity IN ('Info'", "expected ',' or ')'"),
        ("timestamp > 'soon'", "RFC 3339"),
    ] {
        let request = list_all()
            .query("search", search)
            .caller(Caller::internal());
        let (status, body) = request.send(&state).await;
        assert_eq!(status, 400, "{search}");
        assert_error(&body, 400, &request);
        assert!(
            body["reason"].as_str().is_some_and(|r| r.contains(words)),
            "{search}: {body}"
        );
    }
}

#[tokio::test]
async fn order_by_any_fields_sorts_every_match_and_bad_ones_are_400() {
    let state = cluster_logs_state().await;
    let logs = searchable(&state).await;
    let mut expected: Vec<(String, String)> = logs
        .iter()
        .map(|log| {
            (
                log["severity"].as_str().unwrap_or_default().to_owned(),
                log["summary"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    for parameter in ["orderBy", "order"] {
        let mut seen = Vec::new();
        for page in ["1", "2", "3"] {
            let (status, list) = list_all()
                .query(parameter, "severity asc, summary desc")
                .query("size", "5")
                .query("page", page)
                .caller(Caller::internal())
                .send(&state)
                .await;
            assert_eq!(status, 200, "{list}");
            assert_eq!(list["total"], 12);
            for item in list["items"].as_array().expect("items") {
                seen.push((
                    item["severity"].as_str().unwrap_or_default().to_owned(),
                    item["summary"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
        assert_eq!(seen, expected, "{parameter}");
    }
    let (_, newest) = list_by_uuid(UUID)
        .query("orderBy", "timestamp desc")
        .caller(Caller::internal())
        .send(&state)
        .await;
    let times: Vec<&str> = newest["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["timestamp"].as_str())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    for bad in ["colour asc", "severity sideways", "severity asc extra"] {
        let request = list_all().query("orderBy", bad).caller(Caller::internal());
        let (status, body) = request.send(&state).await;
        assert_eq!(status, 400, "{bad}");
        assert_error(&body, 400, &request);
    }
}

#[tokio::test]
async fn fields_limits_items_to_those_fields_and_the_id() {
    let state = cluster_logs_state().await;
    searchable(&state).await;
    let (status, list) = list_all()
        .query("fields", "summary,severity")
        .caller(Caller::internal())
        .send(&state)
        .await;
    assert_eq!(status, 200);
    for item in list["items"].as_array().expect("items") {
        let mut keys: Vec<&String> = item.as_object().expect("an object").keys().collect();
        keys.sort();
        assert_eq!(keys, vec!["id", "severity", "summary"]);
    }
    let (status, _) = list_all()
        .query("fields", "summary,colour")
        .caller(Caller::internal())
        .send(&state)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn csv_has_a_header_and_one_properly_quoted_row_per_log() {
    let state = cluster_logs_state().await;
    let tricky = "Line one, with a comma\nand \"quotes\"\r\nand a second line";
    let mut body = osdctl_body();
    body["description"] = json!(tricky);
    body["doc_references"] = json!(["https://docs/a", "https://docs/b"]);
    let id = create(&state, body).await;
    searchable(&state).await;
    let request = list_by_uuid(UUID)
        .query("format", "csv")
        .query("search", "service_name = 'SREManualAction'")
        .caller(Caller::internal());
    let response =
        integration_tests::invoke(&state, "cluster-logs-list-by-uuid", request.build()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let mut reader = csv::Reader::from_reader(response.body().as_ref());
    let header: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, shared::cluster_logs::search::SEARCH_FIELDS);
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    let (_, json) = list_by_uuid(UUID)
        .query("search", "service_name = 'SREManualAction'")
        .caller(Caller::internal())
        .send(&state)
        .await;
    assert_eq!(rows.len(), json["items"].as_array().map_or(0, Vec::len));
    let column = |name: &str| header.iter().position(|h| h == name).expect("a column");
    let row = rows
        .iter()
        .find(|row| &row[column("id")] == id.as_str())
        .expect("the posted log's row");
    assert_eq!(
        &row[column("description")],
        tricky,
        "quotes, commas and newlines survive"
    );
    assert_eq!(
        &row[column("doc_references")],
        "https://docs/a https://docs/b"
    );
    assert_eq!(&row[column("internal_only")], "false");
    let selected = list_by_uuid(UUID)
        .query("format", "csv")
        .query("fields", "severity")
        .caller(Caller::internal());
    let response =
        integration_tests::invoke(&state, "cluster-logs-list-by-uuid", selected.build()).await;
    let mut reader = csv::Reader::from_reader(response.body().as_ref());
    assert_eq!(
        reader
            .headers()
            .expect("a header")
            .iter()
            .collect::<Vec<_>>(),
        vec!["id", "severity"]
    );
}

#[tokio::test]
async fn readers_never_see_internal_logs_in_csv_or_selected_fields() {
    let state = cluster_logs_state().await;
    searchable(&state).await;
    let request = list_all().query("format", "csv").caller(Caller::reader());
    let response = integration_tests::invoke(&state, "cluster-logs-list", request.build()).await;
    let mut reader = csv::Reader::from_reader(response.body().as_ref());
    let internal = reader
        .headers()
        .expect("a header")
        .iter()
        .position(|h| h == "internal_only")
        .expect("a column");
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 9, "12 logs, 3 internal");
    assert!(rows.iter().all(|row| &row[internal] == "false"));
    let (_, list) = list_all()
        .query("fields", "internal_only")
        .query("orderBy", "summary asc")
        .caller(Caller::reader())
        .send(&state)
        .await;
    assert_eq!(list["total"], 9);
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["internal_only"] == false)
    );
}

/// Records every Query's key condition and FilterExpression as sent to DynamoDB.
#[derive(Debug, Clone, Default)]
struct SentExpressions(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl aws_sdk_dynamodb::config::Intercept for SentExpressions {
    fn name(&self) -> &'static str {
        "SentExpressions"
    }

    fn modify_before_serialization(
        &self,
        context: &mut aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextMut<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if let Some(query) = context
            .input()
            .downcast_ref::<aws_sdk_dynamodb::operation::query::QueryInput>()
            && let Ok(mut sent) = self.0.lock()
        {
            sent.push(format!(
                "{} | {} | {}",
                query.index_name().unwrap_or_default(),
                query.key_condition_expression().unwrap_or_default(),
                query.filter_expression().unwrap_or_default()
            ));
        }
        Ok(())
    }
}

impl SentExpressions {
    /// `state` with a client that records what it sends.
    fn watching(state: &ClusterLogsState) -> (ClusterLogsState, SentExpressions) {
        let sent = SentExpressions::default();
        let config = state
            .store
            .client()
            .config()
            .to_builder()
            .interceptor(sent.clone())
            .build();
        let watched = integration_tests::cluster_logs_through(
            state,
            aws_sdk_dynamodb::Client::from_conf(config),
        );
        (watched, sent)
    }

    fn taken(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn searches_reach_dynamodb_only_as_bound_names_and_values() {
    let state = cluster_logs_state().await;
    searchable(&state).await;
    let (watched, sent) = SentExpressions::watching(&state);
    let hostile = "summary = 'x) OR attribute_exists(id) OR (summary = ''y' OR service_name IN ('hive', 'a OR b') OR severity LIKE 'Crit%'";
    let (status, list) = list_all()
        .query("search", hostile)
        .caller(Caller::internal())
        .send(&watched)
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 6, "the hive and Critical logs: {list}");
    let sent = sent.taken();
    assert!(
        sent.iter().any(|s| s.contains("#s")),
        "the search was pushed down: {sent:?}"
    );
    for expression in &sent {
        for written in [
            "attribute_exists(id)",
            "summary",
            "service_name",
            "hive",
            "Crit",
            "a OR b",
        ] {
            assert!(
                !expression.contains(written),
                "{written} reached {expression}"
            );
        }
    }
}

#[tokio::test]
async fn a_time_range_in_the_search_is_read_as_a_key_range_in_either_direction() {
    let state = cluster_logs_state().await;
    searchable(&state).await;
    let (watched, sent) = SentExpressions::watching(&state);
    let range = "timestamp >= '2025-01-02T00:00:00Z' AND severity <> 'Error' AND timestamp < '2025-01-11T10:00:00Z'";
    for (route, request) in [
        ("all", list_all()),
        ("by uuid", list_by_uuid(UUID)),
        (
            "by cluster",
            list_by_cluster().query("cluster_id", CLUSTER_ID),
        ),
    ] {
        let (status, list) = request
            .query("search", range)
            .query("orderBy", "timestamp asc")
            .caller(Caller::internal())
            .send(&watched)
            .await;
        assert_eq!(status, 200, "{list}");
        let days: Vec<&str> = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| &i["timestamp"].as_str().unwrap_or_default()[8..10])
            .collect();
        // Days 2 to 10 (day 11 at 10:00 is excluded by `<`), without the Error days 3 and 7;
        // the cluster has the odd days.
        let expected = if route == "all" {
            vec!["02", "04", "05", "06", "08", "09", "10"]
        } else {
            vec!["05", "09"]
        };
        assert_eq!(days, expected, "{route}: oldest first, in range");
        assert_eq!(list["total"], expected.len(), "{route}");
        let queries = sent.taken();
        assert!(
            !queries.is_empty()
                && queries
                    .iter()
                    .all(|q| q.contains("#sk BETWEEN :lower AND :upper")),
            "{route}: the range is the key condition: {queries:?}"
        );
    }
    let (status, list) = list_all()
        .query(
            "search",
            "timestamp > '2025-02-01T00:00:00Z' AND timestamp < '2025-01-01T00:00:00Z'",
        )
        .caller(Caller::internal())
        .send(&watched)
        .await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(0)), "{list}");
    assert!(sent.taken().is_empty(), "an empty range reads nothing");
}

#[tokio::test]
async fn created_at_orders_are_read_from_the_creation_indexes_page_by_page() {
    let state = cluster_logs_state().await;
    let (watched, sent) = SentExpressions::watching(&state);
    // Each log's own timestamp is older than the one before, so the two orders are opposite.
    let mut created = Vec::new();
    for n in 0..7 {
        let mut log = log_for(
            UUID,
            &format!("sent {n}"),
            &format!("2025-05-01T10:0{}:00Z", 9 - n),
        );
        log["cluster_id"] = json!(CLUSTER_ID);
        created.push(create(&state, log).await);
    }
    create(
        &state,
        log_for("another-cluster", "elsewhere", "2025-05-01T09:00:00Z"),
    )
    .await;
    let oldest_first = created.clone();
    let newest_first: Vec<String> = created.into_iter().rev().collect();
    for (route, request, index) in [
        ("by uuid", list_by_uuid(UUID), "cluster-uuid-created-index"),
        (
            // The registry knows the id's UUID, and no log stood under the id alone.
            "by cluster id",
            list_by_cluster().query("cluster_id", CLUSTER_ID),
            "cluster-uuid-created-index",
        ),
        (
            "all, searched by uuid",
            list_all().query("search", &format!("cluster_uuid = '{UUID}'")),
            "cluster-uuid-created-index",
        ),
    ] {
        for (order, expected) in [
            ("created_at desc", &newest_first),
            ("created_at asc", &oldest_first),
        ] {
            let mut read = Vec::new();
            for page in 1..=3 {
                let (status, list) = request
                    .clone()
                    .query("orderBy", order)
                    .query("size", "3")
                    .query("page", &page.to_string())
                    .send(&watched)
                    .await;
                assert_eq!(status, 200, "{route}: {list}");
                assert_eq!(list["total"], 7, "{route} {order} page {page}");
                read.extend(ids(&list));
            }
            assert_eq!(&read, expected, "{route}: {order}, page by page");
            let queries = sent.taken();
            // A cluster's list also reads its id's logs without a UUID, from the id's index; its
            // total comes from its counters.
            assert!(
                queries.iter().any(|q| q.starts_with(index))
                    && queries.iter().all(|q| q
                        .split(' ')
                        .next()
                        .is_some_and(|i| i.ends_with("-created-index") || i == "counter-index")),
                "{route}: {order} is read from {index}: {queries:?}"
            );
        }
    }
    let (status, list) = list_all()
        .query("orderBy", "created_at desc")
        .query("size", "2")
        .send(&watched)
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 8);
    let queries: Vec<String> = sent
        .taken()
        .into_iter()
        .filter(|q| !q.starts_with("counter-index"))
        .collect();
    assert!(
        queries.len() >= 4 && queries.iter().all(|q| q.starts_with("time-created-index")),
        "the all-clusters list merges the time shards by creation: {queries:?}"
    );
    let (_, first) = list_all()
        .query("orderBy", "created_at")
        .query("size", "1")
        .send(&watched)
        .await;
    assert_eq!(
        ids(&first),
        oldest_first[..1],
        "the first log created comes first"
    );
    // A window of creation times is the key range of the created_at indexes (a FilterExpression
    // may not name an index's key), and a filter on created_at while reading by timestamp.
    let since = "created_at >= '2000-01-01T00:00:00Z' AND severity = 'Info'";
    sent.taken();
    for order in ["created_at desc", "timestamp desc"] {
        let (status, list) = list_by_uuid(UUID)
            .query("search", since)
            .query("orderBy", order)
            .send(&watched)
            .await;
        assert_eq!(
            (status, list["total"].as_u64()),
            (200, Some(7)),
            "{order}: {list}"
        );
        let queries = sent.taken();
        let by_creation = order.starts_with("created_at");
        assert!(
            queries
                .iter()
                .all(|q| q.contains("#sk") == by_creation && !q.contains("created_at")),
            "{order}: {queries:?}"
        );
    }
}

/// A value of `field` in a log as the API returns it: absent text is `''`, a list gives its first
/// element, a boolean `true`/`false`.
fn search_value(log: &Value, field: &str) -> String {
    match &log[field] {
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Array(items) => items
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn every_field_and_operator_finds_what_the_search_itself_finds_under_every_order() {
    use shared::cluster_logs::search::{SEARCH_FIELDS, Search};
    let state = cluster_logs_state().await;
    searchable(&state).await;
    let (status, all) = list_all()
        .query("size", "-1")
        .caller(Caller::internal())
        .send(&state)
        .await;
    assert_eq!(status, 200, "{all}");
    let logs: Vec<Value> = all["items"].as_array().expect("items").clone();
    let stored: Vec<shared::cluster_logs::ClusterLog> = logs
        .iter()
        .map(|log| serde_json::from_value(log.clone()).expect("a ClusterLog"))
        .collect();
    let quote = |text: &str| text.replace('\'', "''");
    let (mut sent, mut refused) = (0, 0);
    for field in SEARCH_FIELDS {
        let value = search_value(&logs[3], field);
        let (v, start) = (
            quote(&value),
            quote(&value.chars().take(3).collect::<String>()),
        );
        let searches = [
            format!("{field} = '{v}'"),
            format!("{field} <> '{v}'"),
            format!("{field} < '{v}'"),
            format!("{field} >= '{v}'"),
            format!("{field} LIKE '{start}%'"),
            format!("{field} ILIKE '%{}%'", start.to_uppercase()),
            format!("{field} IN ('{v}', 'none')"),
            format!("NOT ({field} NOT IN ('{v}') OR severity = 'Error')"),
        ];
        for text in searches {
            let Ok(Some(search)) = Search::parse(&text) else {
                // Not every operator fits every field (`internal_only LIKE`): a 400, as parsed.
                let (status, error) = list_all()
                    .query("search", &text)
                    .caller(Caller::internal())
                    .send(&state)
                    .await;
                assert_eq!(status, 400, "{text}: {error}");
                assert!(
                    ["internal_only", "timestamp", "created_at"].contains(&field),
                    "only booleans and times refuse some operators: {text}"
                );
                refused += 1;
                continue;
            };
            for (route, request, cluster) in [
                ("all", list_all(), None),
                ("by uuid", list_by_uuid(UUID), Some(UUID)),
            ] {
                let mut expected: Vec<&str> = stored
                    .iter()
                    .filter(|log| cluster.is_none_or(|c| log.cluster_uuid.as_deref() == Some(c)))
                    .filter(|log| search.matches(log))
                    .map(|log| log.id.as_str())
                    .collect();
                expected.sort_unstable();
                for order in [
                    "timestamp desc",
                    "timestamp asc",
                    "created_at desc",
                    "created_at asc",
                    "severity desc",
                ] {
                    let (status, list) = request
                        .clone()
                        .query("search", &text)
                        .query("orderBy", order)
                        .query("size", "-1")
                        .caller(Caller::internal())
                        .send(&state)
                        .await;
                    sent += 1;
                    assert_eq!(status, 200, "{route}, {order}: {text}: {list}");
                    let mut found = ids(&list);
                    found.sort_unstable();
                    assert_eq!(found, expected, "{route}, {order}: {text}");
                    assert_eq!(list["total"], expected.len(), "{route}, {order}: {text}");
                }
            }
        }
    }
    assert_eq!(sent + refused * 10, SEARCH_FIELDS.len() * 8 * 2 * 5);
}

// What the consoles, agents and strict clients send and expect (issue 15).

/// The summaries of a page's items, in the page's order.
fn summaries_in_order(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["summary"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A ClusterLog as qontract-reconcile's model reads it: these fields are required, as strings
/// (`null` or a missing one fails the whole list), and the Go SDK parses both times.
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // read only to prove they parse
struct StrictClusterLog {
    id: String,
    href: String,
    event_stream_id: String,
    username: String,
    cluster_id: String,
    cluster_uuid: String,
    service_name: String,
    severity: String,
    summary: String,
    description: String,
    timestamp: String,
    created_at: String,
    doc_references: Vec<String>,
    internal_only: bool,
}

fn strictly(item: &Value) -> StrictClusterLog {
    let log: StrictClusterLog =
        serde_json::from_value(item.clone()).unwrap_or_else(|e| panic!("{e}: {item}"));
    for moment in [&log.timestamp, &log.created_at] {
        time::OffsetDateTime::parse(moment, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{moment} is a time: {e}"));
    }
    log
}

#[tokio::test]
async fn qontract_reconciles_strict_model_reads_every_log_whole() {
    let state = cluster_logs_state().await;
    // As little as a writer may send: one name, severity, service_name and summary.
    let sparse = create(
        &state,
        json!({"cluster_uuid": UUID, "severity": "Info", "service_name": "hive", "summary": "Sparse"}),
    )
    .await;
    let full = create(&state, osdctl_body()).await;
    let (_, one) = get(&sparse).send(&state).await;
    let log = strictly(&one);
    assert_eq!(
        (log.description.as_str(), log.username.as_str()),
        ("", ""),
        "empty text is \"\""
    );
    assert_eq!(
        log.cluster_id, CLUSTER_ID,
        "the name it lacks, from the registry"
    );
    for field in [
        "subscription_id",
        "log_type",
        "created_by",
        "email",
        "first_name",
        "last_name",
    ] {
        assert!(one[field].is_string(), "{field} is always a string: {one}");
    }
    assert_eq!(log.doc_references, Vec::<String>::new());
    for list in [
        list_by_uuid(UUID),
        list_by_cluster().query("cluster_uuid", UUID),
        list_all(),
    ] {
        let (status, page) = list.send(&state).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().expect("items");
        let read: Vec<String> = items.iter().map(|item| strictly(item).id).collect();
        assert_eq!(read, vec![full.clone(), sparse.clone()]);
    }
}

#[tokio::test]
async fn posts_without_service_name_or_summary_are_400_and_store_nothing() {
    let state = cluster_logs_state().await;
    for missing in ["service_name", "summary"] {
        for sent in [Value::Null, json!("")] {
            let mut body = osdctl_body();
            if !sent.is_null() {
                body[missing] = sent;
            } else if let Some(fields) = body.as_object_mut() {
                fields.remove(missing);
            }
            let request = post(&body);
            let (status, error) = request.send(&state).await;
            assert_eq!(status, 400, "{body}");
            assert_error(&error, 400, &request);
            assert_eq!(error["reason"], format!("Field '{missing}' is required"));
        }
    }
    let (_, list) = list_all().send(&state).await;
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn the_consoles_logged_by_column_orders_by_username_then_created_by() {
    let state = cluster_logs_state().await;
    let writer = |user: &str| Caller::Gateway {
        user: user.to_owned(),
        roles: vec!["service-logs-writer".to_owned()],
        organization: None,
    };
    // (username sent, writer): the column shows the username, else who wrote it.
    for (username, user) in [
        (Some("dave"), "zed"),
        (None, "carol"),
        (Some("alice"), "bob"),
        (None, "bea"),
    ] {
        let mut body = osdctl_body();
        body["username"] = json!(username);
        body["summary"] = json!(format!("by {}", username.unwrap_or(user)));
        let (status, log) = post(&body).caller(writer(user)).send(&state).await;
        assert_eq!(status, 201, "{log}");
    }
    for (direction, expected) in [
        ("asc", ["by alice", "by bea", "by carol", "by dave"]),
        ("desc", ["by dave", "by carol", "by bea", "by alice"]),
    ] {
        // As the console's cluster history asks it.
        let (status, page) = list_by_cluster()
            .query("cluster_uuid", UUID)
            .query("cluster_id", CLUSTER_ID)
            .query("size", "10")
            .query("page", "1")
            .query("orderBy", &format!("username||created_by {direction}"))
            .send(&state)
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(summaries_in_order(&page), expected, "{direction}");
    }
}

#[tokio::test]
async fn the_consoles_download_history_is_every_log_in_json_and_csv_compressed() {
    let state = cluster_logs_state().await;
    const LOGS: usize = 520;
    for chunk in (0..LOGS).collect::<Vec<_>>().chunks(26) {
        let posts = chunk.iter().map(|n| {
            let mut body = osdctl_body();
            body["summary"] = json!(format!("log {n:03}"));
            body["timestamp"] = json!(format!("2026-11-{:02}T10:{:02}:00Z", 1 + n / 60, n % 60));
            let state = &state;
            async move { post(&body).send(state).await.0 }
        });
        let statuses = futures::future::join_all(posts).await;
        assert!(statuses.iter().all(|status| *status == 201), "{statuses:?}");
    }
    let download = || {
        list_by_cluster()
            .query("cluster_uuid", UUID)
            .query("cluster_id", CLUSTER_ID)
            .query("size", "-1")
            .header("Accept-Encoding", "gzip, deflate, br")
    };
    let response = download().respond(&state).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let list: Value = serde_json::from_slice(&gunzip(response.body().as_ref())).expect("JSON");
    assert_eq!(list["total"], LOGS);
    assert_eq!(list["size"], LOGS, "every log, not a page of 500");
    let summaries = summaries_in_order(&list);
    assert_eq!(summaries.first().map(String::as_str), Some("log 519"));
    assert_eq!(summaries.last().map(String::as_str), Some("log 000"));
    let csv = download().query("format", "csv").respond(&state).await;
    assert_eq!(csv.status(), 200);
    let text = gunzip(csv.body().as_ref());
    let rows = csv::Reader::from_reader(text.as_slice()).records().count();
    assert_eq!(rows, LOGS, "a header and every log");
    // A client that does not take gzip gets the same list as it is.
    let (status, plain) = download()
        .header("Accept-Encoding", "identity")
        .send(&state)
        .await;
    assert_eq!(status, 200);
    assert_eq!(plain, list);
}

#[tokio::test]
async fn answers_are_compressed_only_for_clients_that_accept_gzip() {
    let state = cluster_logs_state().await;
    for n in 0..5 {
        create(
            &state,
            log_for(UUID, &format!("log {n}"), "2026-11-01T10:00:00Z"),
        )
        .await;
    }
    for (accept, compressed) in [
        (None, false),
        (Some("gzip"), true),
        (Some("deflate, gzip;q=0.5"), true),
        (Some("*"), true),
        (Some("identity"), false),
        (Some("gzip;q=0"), false),
    ] {
        let mut request = list_by_uuid(UUID);
        if let Some(accept) = accept {
            request = request.header("Accept-Encoding", accept);
        }
        let response = request.respond(&state).await;
        assert_eq!(response.status(), 200);
        let encoding = response
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok());
        assert_eq!(encoding == Some("gzip"), compressed, "{accept:?}");
        assert_eq!(
            response.headers().get("vary").and_then(|v| v.to_str().ok()),
            Some("Accept-Encoding")
        );
        let body = if compressed {
            gunzip(response.body().as_ref())
        } else {
            response.body().as_ref().to_vec()
        };
        let list: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(list["total"], 5, "{accept:?}");
    }
}

#[tokio::test]
async fn the_api_metadata_and_the_contract_as_json_are_served_where_production_serves_them() {
    let auth = shared::identity::Authenticator::new("groups", Some(LOCAL_SECRET));
    let request = |path: &str| {
        ApiRequest::at("GET", path)
            .caller(Caller::customer())
            .build()
    };
    let answer = |response: lambda_http::Response<lambda_http::Body>| -> (u16, Value) {
        (
            response.status().as_u16(),
            serde_json::from_slice(response.body().as_ref()).expect("JSON"),
        )
    };
    let (status, metadata) = answer(
        functions::openapi_spec::handler(&auth, request("/api/service_logs/v1"))
            .await
            .expect("answered"),
    );
    assert_eq!(status, 200);
    assert_eq!(metadata["kind"], "Metadata");
    assert_eq!(metadata["id"], "v1");
    assert_eq!(metadata["href"], "/api/service_logs/v1");
    assert!(
        metadata["server_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    let (status, contract) = answer(
        functions::openapi_spec::handler(&auth, request("/api/service_logs/v1/openapi"))
            .await
            .expect("answered"),
    );
    assert_eq!(status, 200);
    let file = std::fs::read_to_string(integration_tests::workspace_root().join("openapi.yaml"))
        .expect("openapi.yaml");
    let written: Value = serde_norway::from_str(&file).expect("openapi.yaml parses");
    assert_eq!(contract, written, "the same document as openapi.yaml");
    let anonymous = ApiRequest::at("GET", "/api/service_logs/v1")
        .caller(Caller::Anonymous)
        .build();
    let response = functions::openapi_spec::handler(&auth, anonymous)
        .await
        .expect("answered");
    assert_eq!(response.status(), 401);
}

/// The console's default view: a cluster's history, no search. Its `total` comes from the
/// cluster's counters, changed in the transaction of every create, delete and queued log, so the
/// list reads its page and one small item whatever the cluster holds, and the total equals what
/// is listed through posts, deletes, redelivered queue messages, id-only logs and expiry.
#[tokio::test]
async fn a_clusters_total_is_read_from_its_counters_and_always_equals_its_logs() {
    use shared::retention::{Clock, Lifetime, Retention};
    let base = cluster_logs_state().await;
    let state = ClusterLogsState {
        store: base.store.clone().with_lifetime(Lifetime {
            retention: Retention::days(2),
            clock: Clock::ahead(time::Duration::ZERO),
        }),
        auth: base.auth.clone(),
    };
    integration_tests::register_cluster(&state, UUID, CLUSTER_ID, CUSTOMER_ORGANIZATION).await;
    let mut public = Vec::new();
    for n in 0..6 {
        public.push(
            create(
                &state,
                log_for(UUID, &format!("public {n}"), "2026-11-30T10:00:00Z"),
            )
            .await,
        );
    }
    let mut internal = log_for(UUID, "internal", "2026-11-30T10:00:00Z");
    internal["internal_only"] = json!(true);
    create(&state, internal).await;
    // Posted by id alone: counted for the cluster once the registry knows the pair.
    let by_id = json!({"cluster_id": CLUSTER_ID, "service_name": "hive", "severity": "Info", "summary": "by id"});
    create(&state, by_id.clone()).await;
    // Another cluster's logs change nothing here.
    create(
        &state,
        log_for("another-cluster", "elsewhere", "2026-11-30T10:00:00Z"),
    )
    .await;
    let (status, _) = delete(&public[0])
        .caller(Caller::admin())
        .send(&state)
        .await;
    assert_eq!(status, 204);
    // Queued twice: stored and counted once.
    let ingest = functions::cluster_logs_ingest::IngestState {
        store: state.store.clone(),
        service: shared::cluster_logs::ingest::service_identity_from_env(),
    };
    let queued: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(json!({"Records": [
        integration_tests::sqs_message("q-1", &log_for(UUID, "queued", "2026-11-30T11:00:00Z").to_string()),
    ]}))
    .unwrap();
    for _ in 0..2 {
        functions::cluster_logs_ingest::handler(
            &ingest,
            lambda_runtime::LambdaEvent::new(queued.clone(), lambda_runtime::Context::default()),
        )
        .await
        .unwrap();
    }
    // 5 public + 1 by id + 1 queued for customers; and the internal one for SREs.
    for (caller, expected) in [(Caller::customer(), 7), (Caller::internal(), 8)] {
        let (client, calls) =
            integration_tests::dynamo_calls::CallLog::watching(state.store.client());
        let watched = integration_tests::cluster_logs_through(&state, client);
        let (status, page) = list_by_uuid(UUID)
            .caller(caller.clone())
            .query("size", "3")
            .send(&watched)
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], expected, "{caller:?}: {page}");
        let (_, everything) = list_by_uuid(UUID)
            .caller(caller.clone())
            .query("size", "100")
            .send(&state)
            .await;
        assert_eq!(everything["items"].as_array().unwrap().len(), expected);
        let queried: Vec<String> = calls
            .permissions()
            .into_iter()
            .filter(|(action, _)| action == "dynamodb:Query")
            .map(|(_, resource)| resource)
            .collect();
        assert!(
            queried.iter().any(|r| r.ends_with("counter-index")),
            "the total is the counters': {queried:?}"
        );
    }
    let (_, by_cluster) = list_by_cluster()
        .query("cluster_id", CLUSTER_ID)
        .caller(Caller::internal())
        .send(&state)
        .await;
    assert_eq!(by_cluster["total"], 8, "{by_cluster}");
    // Three days on, every one of these logs is past its retention: gone, and uncounted.
    let later = ClusterLogsState {
        store: base.store.clone().with_lifetime(Lifetime {
            retention: Retention::days(2),
            clock: Clock::ahead(time::Duration::days(3)),
        }),
        auth: base.auth.clone(),
    };
    let (_, page) = list_by_uuid(UUID)
        .caller(Caller::internal())
        .send(&later)
        .await;
    assert_eq!(
        (
            page["total"].clone(),
            page["items"].as_array().unwrap().len()
        ),
        (json!(0), 0),
        "{page}"
    );
}
