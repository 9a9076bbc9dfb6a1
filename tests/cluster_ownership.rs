//! Cluster ownership: the registry learns each cluster's two names from its logs and its owner
//! from cluster messages on the queue; every log is found under both names; customers read only
//! their organization's clusters, and for them everything else does not exist.

use functions::cluster_logs_ingest::{IngestState, handler};
use integration_tests::{ApiRequest, Caller, cluster_logs_state, invoke, read, sqs_message};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::cluster_logs::ClusterLogsState;

const UUID_A: &str = "2d1c5f8a-7b3e-4f19-9c2d-6e8a0b4f7d13";
const ID_A: &str = "2a7bq3k9m1d5f8h0j2l4n6p8r0t2v4x6";
const UUID_B: &str = "8f3e2b1a-4c5d-4e6f-8a7b-9c0d1e2f3a4b";
const ID_B: &str = "2b8cr4l0n2e6g9i1k3m5o7q9s1u3w5y7";
/// When the provisioning system first sent each cluster message (ms).
const SENT: u64 = 1_795_255_200_000;

fn ingest(state: &ClusterLogsState) -> IngestState {
    IngestState {
        store: state.store.clone(),
        service: shared::cluster_logs::ingest::service_identity_from_env(),
    }
}

/// A cluster message as the provisioning system queues it, sent at `sent_at` (ms).
fn cluster_message(
    message_id: &str,
    uuid: &str,
    id: &str,
    organization: &str,
    sent_at: u64,
) -> Value {
    let body = json!({"kind": "Cluster", "cluster_uuid": uuid, "cluster_id": id,
        "subscription_id": format!("sub-{}", id.chars().take(6).collect::<String>()), "organization_id": organization});
    let mut message = sqs_message(message_id, &body.to_string());
    message["attributes"]["SentTimestamp"] = json!(sent_at.to_string());
    message
}

/// One SQS batch through cluster-logs-ingest; the ids it reports as failed.
async fn deliver(state: &ClusterLogsState, records: Vec<Value>) -> Vec<String> {
    let event = serde_json::from_value(json!({"Records": records})).expect("an SQS event");
    let response = handler(&ingest(state), LambdaEvent::new(event, Context::default()))
        .await
        .expect("handled");
    response
        .batch_item_failures
        .into_iter()
        .map(|failure| failure.item_identifier)
        .collect()
}

async fn register(
    state: &ClusterLogsState,
    uuid: &str,
    id: &str,
    organization: &str,
    sent_at: u64,
) {
    let message = cluster_message(
        &format!("cluster-{uuid}-{sent_at}"),
        uuid,
        id,
        organization,
        sent_at,
    );
    assert_eq!(deliver(state, vec![message]).await, Vec::<String>::new());
}

/// Posts a log as an SRE tool does and returns it.
async fn post(state: &ClusterLogsState, body: Value) -> Value {
    let (status, log) = ApiRequest::new("POST", "/cluster_logs", "/cluster_logs")
        .json(&body)
        .send(state)
        .await;
    assert_eq!(status, 201, "{log}");
    log
}

fn id_of(log: &Value) -> String {
    log["id"].as_str().expect("an id").to_owned()
}

fn get(id: &str) -> ApiRequest {
    ApiRequest::new("GET", "/cluster_logs/{id}", &format!("/cluster_logs/{id}"))
        .path_parameter("id", id)
}

fn by_uuid(uuid: &str) -> ApiRequest {
    ApiRequest::new(
        "GET",
        "/clusters/{uuid}/cluster_logs",
        &format!("/clusters/{uuid}/cluster_logs"),
    )
    .path_parameter("uuid", uuid)
}

fn by_cluster(names: &[(&str, &str)]) -> ApiRequest {
    names.iter().fold(
        ApiRequest::new("GET", "/clusters/cluster_logs", "/clusters/cluster_logs"),
        |request, (name, value)| request.query(name, value),
    )
}

fn all() -> ApiRequest {
    ApiRequest::new("GET", "/cluster_logs", "/cluster_logs")
}

/// Every way to list one cluster's logs: its route by UUID, by id, by both, and a search.
fn every_list_of(uuid: &str, id: &str) -> Vec<ApiRequest> {
    vec![
        by_uuid(uuid),
        by_cluster(&[("cluster_uuid", uuid)]),
        by_cluster(&[("cluster_id", id)]),
        // osdctl and the web console send both.
        by_cluster(&[("cluster_id", id), ("cluster_uuid", uuid)]),
        all().query("search", &format!("cluster_uuid = '{uuid}'")),
        all().query(
            "search",
            &format!("cluster_id = '{id}' AND severity <> 'Debug'"),
        ),
    ]
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id_of)
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn a_log_posted_by_cluster_id_only_is_stored_and_listed_under_both_names() {
    let state = cluster_logs_state().await;
    register(&state, UUID_A, ID_A, "acme", SENT).await;
    // configuration-anomaly-detection posts with the cluster's internal id only.
    let log = post(
        &state,
        json!({"cluster_id": ID_A, "severity": "Warning", "service_name": "CAD", "summary": "Cluster has gone missing"}),
    )
    .await;
    assert_eq!(
        log["cluster_uuid"], UUID_A,
        "stored with the UUID the registry knows"
    );
    for request in every_list_of(UUID_A, ID_A) {
        let (status, list) = request.clone().send(&state).await;
        assert_eq!(status, 200, "{request:?}: {list}");
        assert_eq!(ids(&list), vec![id_of(&log)], "{request:?}");
        assert_eq!(list["total"], 1, "{request:?}");
    }
}

#[tokio::test]
async fn logs_posted_before_the_pair_was_known_are_found_under_both_names_afterwards() {
    let state = cluster_logs_state().await;
    let by_id = post(
        &state,
        json!({"cluster_id": ID_A, "service_name": "hive", "severity": "Info", "summary": "by id"}),
    )
    .await;
    let by_uuid_only = post(
        &state,
        json!({"cluster_uuid": UUID_A, "service_name": "hive", "severity": "Info", "summary": "by uuid"}),
    )
    .await;
    assert_eq!(by_id["cluster_uuid"], "", "nobody knew the pair yet");
    let (_, before) = by_uuid(UUID_A).send(&state).await;
    assert_eq!(ids(&before), vec![id_of(&by_uuid_only)]);

    register(&state, UUID_A, ID_A, "acme", SENT).await;
    let both = sorted(vec![id_of(&by_id), id_of(&by_uuid_only)]);
    for request in every_list_of(UUID_A, ID_A) {
        for caller in [
            Caller::reader(),
            Caller::internal(),
            Caller::customer_of("acme"),
        ] {
            if caller_is_customer(&caller)
                && request.event()["routeKey"] == "GET /api/service_logs/v1/cluster_logs"
            {
                continue;
            }
            let (status, list) = request.clone().caller(caller).send(&state).await;
            assert_eq!(status, 200, "{request:?}: {list}");
            assert_eq!(ids(&list), both, "{request:?}");
            assert_eq!(list["total"], 2, "each log counted once: {request:?}");
            for item in list["items"].as_array().expect("items") {
                assert_eq!(
                    (&item["cluster_uuid"], &item["cluster_id"]),
                    (&json!(UUID_A), &json!(ID_A))
                );
            }
        }
    }
    let (_, read_back) = get(&id_of(&by_id)).send(&state).await;
    assert_eq!(read_back["cluster_uuid"], UUID_A);
    // A log naming the same id with another UUID is that UUID's cluster's, and stored as sent.
    let conflicting = post(
        &state,
        json!({"cluster_uuid": UUID_B, "cluster_id": ID_A, "service_name": "hive", "severity": "Info", "summary": "elsewhere"}),
    )
    .await;
    assert_eq!(
        (&conflicting["cluster_uuid"], &conflicting["cluster_id"]),
        (&json!(UUID_B), &json!(ID_A))
    );
    let (_, list) = by_cluster(&[("cluster_id", ID_A)]).send(&state).await;
    assert_eq!(
        ids(&list),
        both,
        "the registry still names the pair it was told"
    );
}

fn caller_is_customer(caller: &Caller) -> bool {
    matches!(caller, Caller::Gateway { roles, .. } if roles.is_empty())
}

#[tokio::test]
async fn cads_duplicate_check_finds_the_log_it_posted_by_cluster_id() {
    let state = cluster_logs_state().await;
    register(&state, UUID_A, ID_A, "acme", SENT).await;
    let summary = "Action required: cluster has gone missing";
    // CAD posts with the internal id, then looks for its own log by the cluster's UUID.
    let (status, _) = ApiRequest::new("POST", "/cluster_logs", "/cluster_logs")
        .caller(Caller::sre())
        .json(&json!({"severity": "Warning", "service_name": "SREManualAction", "cluster_id": ID_A,
            "summary": summary, "description": "Your cluster is no longer reporting.", "internal_only": false}))
        .send(&state)
        .await;
    assert_eq!(status, 201);
    let (status, list) = by_uuid(UUID_A)
        .query("search", &format!("summary='{summary}'"))
        .caller(Caller::sre())
        .send(&state)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1, "the duplicate check finds it: {list}");
}

#[tokio::test]
async fn a_customer_reads_their_clusters_and_no_other_organizations_by_any_route_search_or_format()
{
    let state = cluster_logs_state().await;
    register(&state, UUID_A, ID_A, "acme", SENT).await;
    register(&state, UUID_B, ID_B, "globex", SENT).await;
    let mine = post(
        &state,
        json!({"cluster_uuid": UUID_A, "service_name": "hive", "severity": "Info", "summary": "ours"}),
    )
    .await;
    let theirs = post(&state, json!({"cluster_uuid": UUID_B, "cluster_id": ID_B, "service_name": "hive", "severity": "Info", "summary": "SECRET-GLOBEX"})).await;
    let customer = Caller::customer_of("acme");

    let (status, list) = by_uuid(UUID_A).caller(customer.clone()).send(&state).await;
    assert_eq!((status, ids(&list)), (200, vec![id_of(&mine)]));
    let (status, _) = get(&id_of(&mine))
        .caller(customer.clone())
        .send(&state)
        .await;
    assert_eq!(status, 200);

    let mut probes = vec![by_uuid(UUID_B), by_uuid("a-cluster-nobody-knows")];
    for names in [
        vec![("cluster_uuid", UUID_B)],
        vec![("cluster_id", ID_B)],
        vec![("cluster_id", ID_B), ("cluster_uuid", UUID_B)],
        vec![("cluster_id", ID_B), ("cluster_uuid", UUID_A)],
        vec![("cluster_id", ID_A), ("cluster_uuid", UUID_B)],
    ] {
        probes.push(by_cluster(&names));
    }
    let mut requests = Vec::new();
    for probe in probes {
        for extra in [
            vec![],
            vec![("format", "csv")],
            vec![("fields", "id,summary")],
            vec![("orderBy", "summary desc")],
            vec![("search", "summary ILIKE '%secret%'"), ("size", "-1")],
        ] {
            requests.push(extra.iter().fold(probe.clone(), |r, (n, v)| r.query(n, v)));
        }
    }
    for request in requests {
        let (status, body) = request.clone().caller(customer.clone()).send(&state).await;
        assert_eq!(status, 404, "{request:?}: {body}");
        assert_eq!(
            (&body["kind"], &body["code"]),
            (&json!("Error"), &json!("OCM-SL-404"))
        );
        assert!(!body.to_string().contains("SECRET-GLOBEX"));
    }
    for search in [
        format!("cluster_uuid = '{UUID_B}'"),
        format!("cluster_id = '{ID_B}'"),
        "summary ILIKE '%SECRET%'".into(),
    ] {
        let (status, list) = by_uuid(UUID_A)
            .query("search", &search)
            .caller(customer.clone())
            .send(&state)
            .await;
        assert_eq!(
            (status, &list["total"]),
            (200, &json!(0)),
            "{search}: {list}"
        );
    }
    let (status, _) = get(&id_of(&theirs))
        .caller(customer.clone())
        .send(&state)
        .await;
    assert_eq!(
        status, 404,
        "another organization's log does not exist for them"
    );
    for request in [
        all(),
        all().query("search", &format!("cluster_uuid = '{UUID_A}'")),
    ] {
        let (status, body) = request.caller(customer.clone()).send(&state).await;
        assert_eq!(
            (status, &body["code"]),
            (403, &json!("OCM-SL-403")),
            "{body}"
        );
    }

    // A cluster the registry learned from a log, whose owner nobody has said yet: nobody's.
    post(
        &state,
        json!({"cluster_uuid": "u-unowned", "cluster_id": "i-unowned", "service_name": "hive", "summary": "a log", "severity": "Info"}),
    )
    .await;
    let (status, _) = by_uuid("u-unowned")
        .caller(customer.clone())
        .send(&state)
        .await;
    assert_eq!(status, 404);
    // A cluster of theirs with no logs yet is an empty list.
    register(&state, "u-new", "i-new", "acme", SENT).await;
    let (status, list) = by_uuid("u-new").caller(customer).send(&state).await;
    assert_eq!(
        (status, &list["total"], &list["items"]),
        (200, &json!(0), &json!([]))
    );
}

#[tokio::test]
async fn after_a_transfer_the_old_organization_sees_nothing_and_the_new_one_everything() {
    let state = cluster_logs_state().await;
    register(&state, UUID_A, ID_A, "acme", SENT).await;
    let old = post(
        &state,
        json!({"cluster_id": ID_A, "service_name": "hive", "severity": "Info", "summary": "before"}),
    )
    .await;
    register(&state, UUID_A, ID_A, "globex", SENT + 60_000).await;
    let new = post(
        &state,
        json!({"cluster_uuid": UUID_A, "service_name": "hive", "severity": "Info", "summary": "after"}),
    )
    .await;
    // The first message delivered again, late: the transfer stands.
    register(&state, UUID_A, ID_A, "acme", SENT).await;

    let (status, _) = by_uuid(UUID_A)
        .caller(Caller::customer_of("acme"))
        .send(&state)
        .await;
    assert_eq!(status, 404);
    let (status, _) = get(&id_of(&old))
        .caller(Caller::customer_of("acme"))
        .send(&state)
        .await;
    assert_eq!(status, 404);
    let (status, list) = by_cluster(&[("cluster_id", ID_A)])
        .caller(Caller::customer_of("globex"))
        .send(&state)
        .await;
    assert_eq!(
        (status, ids(&list)),
        (200, sorted(vec![id_of(&old), id_of(&new)]))
    );
    let (status, _) = get(&id_of(&old))
        .caller(Caller::customer_of("globex"))
        .send(&state)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_token_without_an_organization_reads_no_cluster() {
    let state = cluster_logs_state().await;
    register(&state, UUID_A, ID_A, "acme", SENT).await;
    let log = post(&state, json!({"cluster_uuid": UUID_A, "service_name": "hive", "summary": "a log", "severity": "Info"})).await;
    for (request, expected) in [
        (by_uuid(UUID_A), 404),
        (by_cluster(&[("cluster_id", ID_A)]), 404),
        (get(&id_of(&log)), 404),
        (all(), 403),
    ] {
        let (status, body) = request.clone().caller(Caller::nobody()).send(&state).await;
        assert_eq!(status, expected, "{request:?}: {body}");
    }
}

#[tokio::test]
async fn cluster_messages_are_registered_once_and_invalid_ones_reported() {
    let state = cluster_logs_state().await;
    let valid = cluster_message("cluster-a", UUID_A, ID_A, "acme", SENT);
    let event = json!({"version": "0", "id": "e-1", "detail-type": "Cluster", "source": "com.example.provisioning",
        "detail": {"cluster_uuid": UUID_B, "cluster_id": ID_B, "organization_id": "globex"}});
    let invalid = [
        ("not-json", "{\"kind\": \"Cluster\""),
        (
            "no-owner",
            "{\"kind\": \"Cluster\", \"cluster_uuid\": \"u\", \"cluster_id\": \"i\"}",
        ),
        (
            "numeric-id",
            "{\"kind\": \"Cluster\", \"cluster_uuid\": \"u\", \"cluster_id\": 7, \"organization_id\": \"o\"}",
        ),
        (
            "empty-uuid",
            "{\"kind\": \"Cluster\", \"cluster_uuid\": \"\", \"cluster_id\": \"i\", \"organization_id\": \"o\"}",
        ),
    ];
    let mut batch = vec![valid.clone(), sqs_message("event-b", &event.to_string())];
    batch.extend(invalid.iter().map(|(id, body)| sqs_message(id, body)));
    let mut failed = deliver(&state, batch).await;
    failed.sort();
    assert_eq!(
        failed,
        vec!["empty-uuid", "no-owner", "not-json", "numeric-id"]
    );
    // Delivered again: nothing changes, nothing fails.
    assert_eq!(deliver(&state, vec![valid]).await, Vec::<String>::new());

    post(&state, json!({"cluster_uuid": UUID_A, "service_name": "hive", "summary": "a log", "severity": "Info"})).await;
    let log_b = post(
        &state,
        json!({"cluster_id": ID_B, "service_name": "hive", "summary": "a log", "severity": "Info"}),
    )
    .await;
    assert_eq!(
        log_b["cluster_uuid"], UUID_B,
        "the EventBridge event registered B"
    );
    for (uuid, organization) in [(UUID_A, "acme"), (UUID_B, "globex")] {
        let (status, list) = by_uuid(uuid)
            .caller(Caller::customer_of(organization))
            .send(&state)
            .await;
        assert_eq!((status, &list["total"]), (200, &json!(1)), "{organization}");
    }
    let (status, _) = read(
        invoke(
            &state,
            "cluster-logs-list-by-uuid",
            by_uuid(UUID_B).caller(Caller::customer_of("acme")).build(),
        )
        .await,
    );
    assert_eq!(status, 404);
}

/// Staff read every cluster, so a log that carries both names is answered from its item alone. A
/// customer's read still asks the registry who owns the cluster, and a log stored under one name
/// still gets the other from it.
#[tokio::test]
async fn staff_read_a_log_with_both_names_without_asking_the_registry() {
    let state = cluster_logs_state().await;
    register(&state, UUID_A, ID_A, "acme", SENT).await;
    let both = post(
        &state,
        json!({"cluster_uuid": UUID_A, "cluster_id": ID_A, "service_name": "hive", "severity": "Info", "summary": "both names"}),
    )
    .await;
    // Posted under the id alone while nobody knew the cluster, then the cluster is registered.
    let early = post(
        &state,
        json!({"cluster_id": ID_B, "service_name": "hive", "severity": "Info", "summary": "early"}),
    )
    .await;
    register(&state, UUID_B, ID_B, "globex", SENT).await;
    let read_through_registry = |caller: Caller, id: String| {
        let state = &state;
        async move {
            let (client, calls) =
                integration_tests::dynamo_calls::CallLog::watching(state.store.client());
            let watched = integration_tests::cluster_logs_through(state, client);
            let (status, log) = get(&id).caller(caller).send(&watched).await;
            assert_eq!(status, 200, "{log}");
            let asked = calls
                .permissions()
                .iter()
                .any(|(action, _)| action == "dynamodb:BatchGetItem");
            (asked, log)
        }
    };
    let (asked, log) = read_through_registry(Caller::sre(), id_of(&both)).await;
    assert!(
        !asked,
        "an SRE's read of a complete log needs only its item"
    );
    assert_eq!(
        (log["cluster_uuid"].clone(), log["cluster_id"].clone()),
        (json!(UUID_A), json!(ID_A))
    );
    let (asked, _) = read_through_registry(Caller::customer_of("acme"), id_of(&both)).await;
    assert!(asked, "a customer's read checks who owns the cluster");
    let (asked, log) = read_through_registry(Caller::sre(), id_of(&early)).await;
    assert!(asked);
    assert_eq!(
        log["cluster_uuid"], UUID_B,
        "the registry completes the name: {log}"
    );
}

/// The indexes a list Queries, reached through a client that records every call.
async fn indexes_read(state: &ClusterLogsState, request: ApiRequest) -> Vec<String> {
    let (client, calls) = integration_tests::dynamo_calls::CallLog::watching(state.store.client());
    let watched = integration_tests::cluster_logs_through(state, client);
    let (status, body) = read(invoke(&watched, "cluster-logs-list-by-uuid", request.build()).await);
    assert_eq!(status, 200, "{body}");
    calls
        .permissions()
        .into_iter()
        .filter(|(action, _)| action == "dynamodb:Query")
        .filter_map(|(_, resource)| resource.rsplit('/').next().map(str::to_owned))
        // The total is read from the cluster's counters whatever the partitions.
        .filter(|index| index != "counter-index")
        .collect()
}

#[tokio::test]
async fn a_cluster_list_reads_its_ids_partition_only_once_a_log_stood_under_the_id_alone() {
    let state = cluster_logs_state().await;
    register(&state, UUID_A, ID_A, "acme", SENT).await;
    post(
        &state,
        json!({"cluster_uuid": UUID_A, "cluster_id": ID_A, "service_name": "hive", "summary": "a log", "severity": "Info"}),
    )
    .await;
    post(
        &state,
        json!({"cluster_id": ID_A, "service_name": "hive", "summary": "a log", "severity": "Info"}),
    )
    .await;
    assert_eq!(
        indexes_read(&state, by_uuid(UUID_A)).await,
        vec!["cluster-uuid-index"],
        "every log carries the UUID: the id's partition would hold nothing more"
    );
    // A log under the id alone, while nobody knew that id's cluster.
    post(
        &state,
        json!({"cluster_id": ID_B, "service_name": "hive", "severity": "Info", "summary": "early"}),
    )
    .await;
    register(&state, UUID_B, ID_B, "globex", SENT).await;
    assert_eq!(
        indexes_read(&state, by_uuid(UUID_B)).await,
        vec!["cluster-id-index", "cluster-uuid-index"]
    );
    let (_, list) = by_uuid(UUID_B).send(&state).await;
    assert_eq!(list["total"], 1, "{list}");
}
