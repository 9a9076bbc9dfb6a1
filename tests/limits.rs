//! Every limit answers a clear 4xx that says which limit, never a 500 and never a request DynamoDB
//! would reject: body size, field lengths, item size, search size and nesting, paging, times.

use integration_tests::{ApiRequest, Caller, cluster_logs_state, sqs_message, system_logs_state};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::cluster_logs::ingest::service_identity_from_env;

fn post(body: &Value) -> ApiRequest {
    ApiRequest::new("POST", "/cluster_logs", "/cluster_logs").json(body)
}

fn list(search: &str) -> ApiRequest {
    ApiRequest::new("GET", "/cluster_logs", "/cluster_logs")
        .caller(Caller::internal())
        .query("search", search)
}

fn draft() -> Value {
    json!({"cluster_uuid": "c-limits", "service_name": "hive", "severity": "Info", "summary": "limits"})
}

fn with(field: &str, value: Value) -> Value {
    let mut body = draft();
    body[field] = value;
    body
}

/// Asserts an OCM Error body of `status` whose reason mentions `words`.
fn assert_error(answer: &(u16, Value), status: u16, words: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["kind"], "Error");
    assert_eq!(body["id"], status.to_string());
    assert_eq!(body["code"], format!("OCM-SL-{status}"));
    let reason = body["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(words),
        "{reason:?} should mention {words:?}"
    );
}

#[tokio::test]
async fn a_body_over_256_kb_is_a_413_and_nothing_is_stored() {
    let state = cluster_logs_state().await;
    let padding = "x".repeat(256 * 1024);
    let answer = post(&with("padding", json!(padding))).send(&state).await;
    assert_error(&answer, 413, "at most 262144 bytes");
    let (_, listed) = list("").send(&state).await;
    assert_eq!(listed["total"], 0);
}

#[tokio::test]
async fn fields_longer_than_their_limits_are_400s_naming_the_field() {
    let state = cluster_logs_state().await;
    let cases = [
        ("summary", json!("s".repeat(256)), "summary"),
        (
            "description",
            json!("d".repeat(64 * 1024 + 1)),
            "description",
        ),
        ("service_name", json!("n".repeat(1025)), "service_name"),
        ("cluster_uuid", json!("u".repeat(1025)), "cluster_uuid"),
        // Within 1,024 characters, but 3 KB: past what a DynamoDB key holds (a 500 before).
        (
            "cluster_uuid",
            json!("€".repeat(1024)),
            "longer than 2048 bytes",
        ),
        (
            "cluster_id",
            json!("€".repeat(1024)),
            "longer than 2048 bytes",
        ),
        (
            "doc_references",
            json!(vec!["https://docs"; 51]),
            "doc_references",
        ),
        (
            "doc_references",
            json!(["r".repeat(1025)]),
            "doc_references",
        ),
    ];
    for (field, value, words) in cases {
        let answer = post(&with(field, value)).send(&state).await;
        assert_error(&answer, 400, words);
    }
    // At the limits, the log is stored.
    let fits = json!({
        "cluster_uuid": "c-limits", "service_name": "hive", "severity": "Info", "summary": "s".repeat(255),
        "description": "d".repeat(64 * 1024), "doc_references": vec!["r".repeat(1024); 50],
    });
    let (status, _) = post(&fits).send(&state).await;
    assert_eq!(status, 201);
    // Cluster names at their limit, both of them: stored, the pair too long for the registry.
    let long_names = json!({"cluster_uuid": "0".repeat(1024), "cluster_id": "0", "service_name": "hive", "summary": "a log", "severity": "Debug"});
    let (status, log) = post(&long_names).send(&state).await;
    assert_eq!(status, 201, "{log}");
    let (status, log) = post(
        &json!({"cluster_id": "0", "service_name": "hive", "summary": "a log", "severity": "Info"}),
    )
    .send(&state)
    .await;
    assert_eq!((status, &log["cluster_uuid"]), (201, &json!("")));
}

#[tokio::test]
async fn a_body_that_is_not_json_text_is_a_400() {
    let state = cluster_logs_state().await;
    let request = ApiRequest::new("POST", "/cluster_logs", "/cluster_logs");
    for bytes in [&b"\xff\xfe\x00{"[..], b"[1,2]", b"{\"severity\": ", b"   "] {
        let answer = request.clone().binary_body(bytes).send(&state).await;
        assert_eq!(answer.0, 400, "{bytes:?}: {}", answer.1);
    }
}

#[tokio::test]
async fn a_queued_log_too_large_for_one_item_is_refused_before_dynamodb_sees_it() {
    let api = cluster_logs_state().await;
    let ingest = functions::cluster_logs_ingest::IngestState {
        store: api.store.clone(),
        service: service_identity_from_env(),
    };
    // Within every field's character limit, but four bytes a character: about 460 KB.
    let huge = json!({
        "cluster_uuid": "c-limits", "service_name": "hive", "severity": "Info", "summary": "huge",
        "description": "😀".repeat(64 * 1024),
        "doc_references": vec!["😀".repeat(1024); 50],
    });
    let event = serde_json::from_value(json!({"Records": [
        sqs_message("m-huge", &huge.to_string()),
        sqs_message("m-fine", &draft().to_string()),
    ]}))
    .expect("an SQS event");
    let response = functions::cluster_logs_ingest::handler(
        &ingest,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .expect("the batch is answered");
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .map(|failure| failure.item_identifier)
        .collect();
    assert_eq!(
        failed,
        vec!["m-huge".to_owned()],
        "only the huge one goes back"
    );
    let (_, listed) = list("").send(&api).await;
    assert_eq!(listed["total"], 1);
}

#[tokio::test]
async fn a_system_log_too_large_to_store_is_cut_and_kept() {
    let state = system_logs_state().await;
    let ingest = functions::system_logs_ingest::IngestState {
        store: state.store.clone(),
        mapping: Default::default(),
    };
    let record = json!({
        "created": shared::timestamp::format(time::OffsetDateTime::now_utc()),
        "source": "worker", "instance": "pod-1", "level": "ERROR", "logger_name": "waldur_core.tasks",
        "message": "m".repeat(300_000),
        "context": {"traceback": "t".repeat(300_000), "lineno": 7, "payload": "p".repeat(300_000)},
    });
    let event = json!({"Records": [sqs_message("m-big", &record.to_string())]});
    let response = functions::system_logs_ingest::handler(
        &ingest,
        LambdaEvent::new(event, Context::default()),
    )
    .await
    .expect("the batch is answered");
    assert_eq!(
        response["batchItemFailures"],
        json!([]),
        "stored, not refused"
    );
    let listed = ApiRequest::system("GET", "/", "/").answer(&state).await;
    let log = &listed.body[0];
    assert_eq!(log["message"].as_str().map(str::len), Some(10_000));
    assert_eq!(log["context"]["lineno"], 7);
    assert_eq!(
        log["context"]["traceback"].as_str().map(str::len),
        Some(5_000)
    );
    assert!(log["context"]["context_truncated_bytes"].as_u64() > Some(300_000));
    assert!(log["context"].get("payload").is_none());
}

#[tokio::test]
async fn searches_past_their_limits_are_400s_that_say_which_limit() {
    let state = cluster_logs_state().await;
    let values: Vec<String> = (0..101).map(|n| format!("'v{n}'")).collect();
    let too_many = format!("summary IN ({})", values.join(","));
    assert_error(&list(&too_many).send(&state).await, 400, "100");
    let deep = format!("{}severity = 'Info'{}", "(".repeat(33), ")".repeat(33));
    assert_error(
        &list(&deep).send(&state).await,
        400,
        "nesting deeper than 32",
    );
    let long = format!("summary = '{}'", "x".repeat(4_096));
    assert_error(
        &list(&long).send(&state).await,
        400,
        "longer than 4096 bytes",
    );
    // Found here: 100 values, each an OR of its own, overflowed DynamoDB's 4 KB expression limit.
    let (status, _) = list(&format!("summary IN ({})", values[..100].join(",")))
        .send(&state)
        .await;
    assert_eq!(status, 200, "100 values are allowed");
    // As long a search as allowed, all of it said to DynamoDB, would be too: it is applied while
    // reading instead.
    let equalities: Vec<String> = (0..200).map(|n| format!("summary = 'v{n}'")).collect();
    let widest = equalities.join(" OR ");
    assert!(widest.len() <= 4_096);
    let (status, _) = list(&widest).send(&state).await;
    assert_eq!(
        status, 200,
        "a search within its limit never overflows DynamoDB's"
    );
}

#[tokio::test]
async fn page_and_size_bounds_are_4xx_on_both_apis() {
    let state = cluster_logs_state().await;
    let page = |page: &str, size: &str| {
        ApiRequest::new("GET", "/cluster_logs", "/cluster_logs")
            .query("page", page)
            .query("size", size)
    };
    assert_error(&page("0", "10").send(&state).await, 400, "page");
    assert_error(&page("-3", "10").send(&state).await, 400, "page");
    assert_error(&page("x", "10").send(&state).await, 400, "page");
    assert_error(&page("1", "ten").send(&state).await, 400, "size");
    assert_error(
        &page("99999999999", "500").send(&state).await,
        400,
        "narrow the query",
    );
    assert_eq!(page("1", "-1").send(&state).await.0, 200);
    assert_eq!(page("1", "99999999999").send(&state).await.0, 200);

    let system = system_logs_state().await;
    for bad in ["0", "-1", "abc", "99999999999999999999999"] {
        let answer = ApiRequest::system("GET", "/", "/")
            .query("page", bad)
            .answer(&system)
            .await;
        assert_eq!(
            (answer.status, &answer.body),
            (404, &json!({"detail": "Invalid page."})),
            "page={bad}"
        );
    }
}

#[tokio::test]
async fn absurd_times_are_400s_on_both_apis() {
    let state = cluster_logs_state().await;
    for timestamp in [
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2026-13-45T99:99:99Z",
        "+275760-09-13T00:00:00Z",
        "tomorrow",
        // A clock years ahead: the log would head the cluster's history for years.
        "2099-01-01T00:00:00Z",
    ] {
        let answer = post(&with("timestamp", json!(timestamp)))
            .send(&state)
            .await;
        assert_error(&answer, 400, "timestamp");
    }
    let system = system_logs_state().await;
    for (name, value) in [
        ("created_from", "1e20"),
        ("created_to", "-5"),
        ("created_from", "NaN"),
        ("created_to", "inf"),
    ] {
        let answer = ApiRequest::system("GET", "/", "/")
            .query(name, value)
            .answer(&system)
            .await;
        assert_eq!(answer.status, 400, "{name}={value}: {}", answer.body);
        assert!(answer.body[name].is_array(), "{}", answer.body);
    }
}

#[tokio::test]
async fn an_answer_over_lambdas_response_limit_is_a_400_unless_gzip_makes_it_fit() {
    let state = cluster_logs_state().await;
    // 28 logs of about 240 KB of text that compresses poorly: about 6.7 MB as JSON.
    let mut seed: u32 = 0x5eed;
    for n in 0..28 {
        let description: String = (0..60_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                char::from_u32(0x1F600 + (seed >> 24) % 40).unwrap_or('x')
            })
            .collect();
        let (status, body) = post(&with("description", json!(description)))
            .send(&state)
            .await;
        assert_eq!(status, 201, "log {n}: {body}");
    }
    let page = || {
        ApiRequest::new(
            "GET",
            "/clusters/{uuid}/cluster_logs",
            "/clusters/c-limits/cluster_logs",
        )
        .path_parameter("uuid", "c-limits")
    };
    assert_error(
        &page().send(&state).await,
        400,
        "more than one response may hold",
    );
    let compressed = page()
        .header("Accept-Encoding", "gzip")
        .respond(&state)
        .await;
    assert_eq!(compressed.status(), 200, "gzip makes it fit");
    let (status, smaller) = page().query("size", "10").send(&state).await;
    assert_eq!(status, 200, "a smaller page fits: {smaller}");
    assert_eq!(smaller["total"], 28);
}

/// Values DynamoDB would refuse as keys (empty, or past its 2,048-byte partition and 1,024-byte
/// sort key limits) and cursors this service did not write: a 4xx or an empty answer, never a 5xx.
#[tokio::test]
async fn keys_dynamodb_would_refuse_and_made_up_cursors_are_4xx_never_5xx() {
    let state = cluster_logs_state().await;
    let created = post(&draft()).caller(Caller::writer()).send(&state).await;
    assert_eq!(created.0, 201, "{}", created.1);
    let without_uuid = post(
        &json!({"cluster_id": "no-uuid-cluster", "service_name": "hive",
        "severity": "Info", "summary": "a log of a cluster known by id only"}),
    )
    .caller(Caller::writer())
    .send(&state)
    .await;
    assert_eq!(without_uuid.0, 201, "{}", without_uuid.1);
    // Logs without a UUID are a search like any other.
    let (status, page) = list("cluster_uuid = ''")
        .caller(Caller::reader())
        .send(&state)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["cluster_id"], "no-uuid-cluster");
    let huge = "€".repeat(1024);
    let requests = [
        ApiRequest::new(
            "GET",
            "/cluster_logs/{id}",
            &format!("/cluster_logs/{huge}"),
        )
        .path_parameter("id", &huge),
        ApiRequest::new(
            "DELETE",
            "/cluster_logs/{id}",
            &format!("/cluster_logs/{huge}"),
        )
        .path_parameter("id", &huge),
        ApiRequest::new(
            "GET",
            "/clusters/{uuid}/cluster_logs",
            &format!("/clusters/{huge}/cluster_logs"),
        )
        .path_parameter("uuid", &huge),
        ApiRequest::new("GET", "/clusters/cluster_logs", "/clusters/cluster_logs")
            .query("cluster_id", &huge),
        ApiRequest::new("GET", "/clusters/cluster_logs", "/clusters/cluster_logs")
            .query("cluster_uuid", &huge),
        list(&format!("cluster_uuid = '{huge}'")),
        list(&format!("cluster_id = '{}'", "x".repeat(3000))),
    ];
    for request in requests {
        let route = request.event()["rawPath"].to_string();
        let (status, body) = request.caller(Caller::admin()).send(&state).await;
        assert!(
            (200..500).contains(&status) && status != 201,
            "{} {}: {status} {body}",
            &route[..route.len().min(60)],
            &body.to_string()[..body.to_string().len().min(300)]
        );
    }

    let system = system_logs_state().await;
    let records = (0..6)
        .map(|n| {
            (
                format!("cursor#{n}"),
                shared::system_logs::SystemLogRecord::from_json(
                    &json!({"created": format!("2026-11-01T10:00:0{n}Z"), "source": "api", "instance": format!("pod-{}", n % 2),
                            "level": "INFO", "logger_name": "waldur", "message": "hello", "context": {}})
                    .to_string(),
                )
                .unwrap(),
            )
        })
        .collect();
    system.store.write(records).await;
    let first = ApiRequest::system("GET", "/", "/")
        .query("page_size", "2")
        .query("o", "instance")
        .answer(&system)
        .await;
    let next = first.header("link").unwrap().to_owned();
    let cursor = next
        .split("cursor=")
        .nth(1)
        .and_then(|rest| rest.split(['&', '>']).next())
        .expect("a cursor")
        .to_owned();
    let encode = |value: Value| {
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            value.to_string(),
        )
    };
    let decoded: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &cursor)
            .unwrap(),
    )
    .unwrap();
    let mut other_partition = decoded.clone();
    other_partition["p"] = json!("log#1");
    other_partition["k"] = json!("1970-01-01T00:00:00.000000Z#0000000000000001");
    let mut bad_key = decoded.clone();
    bad_key["k"] = json!("");
    let cases = [
        ("not base64", "%%%".to_owned(), vec![("o", "instance")]),
        ("not ours", encode(json!({"a": 1})), vec![("o", "instance")]),
        ("an empty key", encode(bad_key), vec![("o", "instance")]),
        ("another list's", cursor.clone(), vec![("o", "-created")]),
        (
            "other filters'",
            cursor.clone(),
            vec![("o", "instance"), ("level", "ERROR")],
        ),
    ];
    for (case, text, params) in cases {
        let mut request = ApiRequest::system("GET", "/", "/")
            .query("page", "2")
            .query("page_size", "2")
            .query("cursor", &text);
        for (name, value) in params {
            request = request.query(name, value);
        }
        let answer = request.answer(&system).await;
        assert_eq!(
            (answer.status, &answer.body),
            (400, &json!({"cursor": ["Invalid cursor."]})),
            "{case}"
        );
    }
    // A cursor edited to point anywhere in its own list answers (DynamoDB takes any key as a start).
    let answer = ApiRequest::system("GET", "/", "/")
        .query("page", "2")
        .query("page_size", "2")
        .query("o", "instance")
        .query("cursor", &encode(other_partition))
        .answer(&system)
        .await;
    assert!(answer.status < 500, "{} {}", answer.status, answer.body);
    let own = ApiRequest::system("GET", "/", "/")
        .query("page", "2")
        .query("page_size", "2")
        .query("o", "instance")
        .query("cursor", &cursor)
        .answer(&system)
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
}

/// Records DynamoDB would refuse as they are: a number out of its range, nesting deeper than it
/// allows, empty map keys. Kept losslessly (the number or the part as text), every valid record
/// of the delivery is stored and counted once, and stats, instances, `X-Result-Count` and the
/// list agree. A record that cannot be kept (a time days ahead) is reported alone.
#[tokio::test]
async fn records_dynamodb_would_refuse_as_they_are_are_kept_or_reported_alone() {
    use aws_lambda_events::event::cloudwatch_logs::{LogData, LogEntry};
    let state = system_logs_state().await;
    let ingest = functions::system_logs_ingest::IngestState {
        store: state.store.clone(),
        mapping: Default::default(),
    };
    let mut deep = json!("bottom");
    for _ in 0..40 {
        deep = json!({ "next": deep });
    }
    let awkward = [
        r#"{"event":"x","n":1e200}"#.to_owned(),
        json!({"event": "deep", "tree": deep}).to_string(),
        r#"{"event":"empty key inside","ctx":{"":1,"k":2}}"#.to_owned(),
        r#"{"":"an empty key at the top","event":"empty key"}"#.to_owned(),
    ];
    let mut data = LogData::default();
    data.log_group = "/waldur/platform".into();
    data.log_stream = "waldur-worker-5d8f7c-abcde".into();
    data.message_type = "DATA_MESSAGE".into();
    let at = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let lines: Vec<String> = (0..20)
        .map(|n| format!("INFO waldur_core.tasks: valid line {n}"))
        .chain(awkward.iter().cloned())
        .collect();
    for (n, line) in lines.iter().enumerate() {
        let mut entry = LogEntry::default();
        entry.id = format!("3719{n:04}");
        entry.timestamp = (at.unix_timestamp_nanos() / 1_000_000) as i64 + n as i64;
        entry.message = line.clone();
        data.log_events.push(entry);
    }
    let event = devtools::cloudwatch::subscription_event(&data).unwrap();
    let answer = functions::system_logs_ingest::handler(
        &ingest,
        LambdaEvent::new(event, Context::default()),
    )
    .await;
    assert!(answer.is_ok(), "{answer:?}");
    let listed = ApiRequest::system("GET", "/", "/")
        .query("page_size", "100")
        .answer(&state)
        .await;
    assert_eq!(listed.status, 200);
    let logs = listed.body.as_array().unwrap();
    assert_eq!(logs.len(), 24);
    assert_eq!(listed.header("x-result-count"), Some("24"));
    let find = |event: &str| {
        logs.iter()
            .find(|log| log["message"] == event)
            .unwrap_or_else(|| panic!("{event} stored: {logs:?}"))
    };
    assert_eq!(find("x")["context"]["n"], json!("1e+200"));
    let tree = find("deep")["context"]["tree"].clone();
    let mut part = &tree;
    let mut original = &deep;
    while part.is_object() {
        part = &part["next"];
        original = &original["next"];
    }
    assert_eq!(
        &serde_json::from_str::<Value>(part.as_str().unwrap()).unwrap(),
        original,
        "the part too deep is kept whole, as text"
    );
    assert_eq!(
        find("empty key inside")["context"]["ctx"],
        json!("{\"\":1,\"k\":2}")
    );
    assert!(find("empty key")["context"]["context_json"].is_string());
    let stats = ApiRequest::system("GET", "/stats/", "/stats/")
        .answer(&state)
        .await;
    assert_eq!(stats.body["instances"][0]["count"], 24, "{}", stats.body);
    let instances = ApiRequest::system("GET", "/instances/", "/instances/")
        .answer(&state)
        .await;
    assert_eq!(instances.body[0]["count"], 24, "{}", instances.body);
    assert!(instances.body[0]["last_seen"].is_string());

    // On SQS: the same records, and one that can never be stored (a day and more ahead).
    let ahead = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = |n: usize, context: Value, created: &str| {
        json!({"created": created, "source": "api", "instance": "waldur-api-1", "level": "INFO",
               "message": format!("queued {n}"), "context": context})
        .to_string()
    };
    let now = (time::OffsetDateTime::now_utc() - time::Duration::minutes(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let messages = vec![
        sqs_message("q-1", &body(1, json!({"n": 1e200}), &now)),
        sqs_message("q-2", &body(2, json!({"tree": deep}), &now)),
        sqs_message("q-3", &body(3, json!({"": 1}), &now)),
        sqs_message("q-4", &body(4, json!({}), &ahead)),
        sqs_message("q-5", &body(5, json!({}), &now)),
    ];
    let response = functions::system_logs_ingest::handler(
        &ingest,
        LambdaEvent::new(json!({ "Records": messages }), Context::default()),
    )
    .await
    .unwrap();
    let failed: Vec<&str> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|failure| failure["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["q-4"], "only the record days ahead is reported");
    let listed = ApiRequest::system("GET", "/", "/")
        .query("page_size", "100")
        .answer(&state)
        .await;
    assert_eq!(listed.header("x-result-count"), Some("28"));
    let stats = ApiRequest::system("GET", "/stats/", "/stats/")
        .answer(&state)
        .await;
    let counted: u64 = stats.body["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|instance| instance["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 28, "{}", stats.body);
}

/// A log DynamoDB refuses after its claim and count were committed (for a reason no check foresaw:
/// a client that refuses one marked item stands in for it) fails alone; its claim and count are
/// undone, so counts equal the logs stored, on the first delivery and on every redelivery.
#[tokio::test]
async fn a_log_refused_after_its_claim_is_unclaimed_and_uncounted() {
    use integration_tests::dynamo_calls::{REFUSED_MARKER, Refusing};
    let system = system_logs_state().await;
    let (client, refusing) = Refusing::client(system.store.client());
    let through = integration_tests::system_logs_through(&system, client);
    let ingest = functions::system_logs_ingest::IngestState {
        store: through.store.clone(),
        mapping: Default::default(),
    };
    let created = (time::OffsetDateTime::now_utc() - time::Duration::minutes(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = |message: &str| {
        json!({"created": created, "source": "worker", "instance": "waldur-worker-1", "level": "INFO",
               "message": message})
        .to_string()
    };
    let batch = json!({"Records": [
        sqs_message("s-1", &body("one")),
        sqs_message("s-2", &body(&format!("two {REFUSED_MARKER}"))),
        sqs_message("s-3", &body("three")),
        sqs_message("s-4", &body("four")),
    ]});
    for delivery in 1..=2 {
        let response = functions::system_logs_ingest::handler(
            &ingest,
            LambdaEvent::new(batch.clone(), Context::default()),
        )
        .await
        .unwrap();
        assert_eq!(
            response["batchItemFailures"],
            json!([{"itemIdentifier": "s-2"}]),
            "delivery {delivery}"
        );
        let listed = ApiRequest::system("GET", "/", "/").answer(&system).await;
        assert_eq!(
            listed.body.as_array().unwrap().len(),
            3,
            "delivery {delivery}"
        );
        assert_eq!(
            listed.header("x-result-count"),
            Some("3"),
            "delivery {delivery}"
        );
        let stats = ApiRequest::system("GET", "/stats/", "/stats/")
            .answer(&system)
            .await;
        assert_eq!(
            stats.body["instances"][0]["count"], 3,
            "delivery {delivery}"
        );
        let instances = ApiRequest::system("GET", "/instances/", "/instances/")
            .answer(&system)
            .await;
        assert_eq!(instances.body[0]["count"], 3, "delivery {delivery}");
    }
    assert!(refusing.refused() >= 2);

    let api = cluster_logs_state().await;
    let (client, _) = Refusing::client(api.store.client());
    let through = integration_tests::cluster_logs_through(&api, client);
    let ingest = functions::cluster_logs_ingest::IngestState {
        store: through.store.clone(),
        service: service_identity_from_env(),
    };
    let mut marked = draft();
    marked["summary"] = json!(format!("marked {REFUSED_MARKER}"));
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(json!({"Records": [
            sqs_message("m-1", &draft().to_string()),
            sqs_message("m-2", &marked.to_string()),
            sqs_message("m-3", &draft().to_string()),
        ]}))
        .unwrap();
    for delivery in 1..=2 {
        let response = functions::cluster_logs_ingest::handler(
            &ingest,
            LambdaEvent::new(event.clone(), Context::default()),
        )
        .await
        .unwrap();
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|failure| failure.item_identifier)
            .collect();
        assert_eq!(failed, ["m-2"], "delivery {delivery}");
        let (status, page) = ApiRequest::new("GET", "/cluster_logs", "/cluster_logs")
            .caller(Caller::reader())
            .send(&api)
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            2,
            "delivery {delivery}"
        );
        assert_eq!(page["total"], 2, "delivery {delivery}: {page}");
    }
}

/// The costliest search a caller may send over the largest text a log holds: a 4 KB ILIKE pattern
/// of wildcards over 64K-character descriptions. Matching is linear in the text (the pattern is
/// compiled once; `make bench` measures it), so it answers like any search.
#[tokio::test]
async fn a_4_kb_ilike_over_64k_descriptions_is_answered() {
    let state = cluster_logs_state().await;
    for n in 0..3 {
        let mut log = draft();
        log["description"] = json!(format!(
            "{}{}",
            "ab".repeat(32 * 1024 - 1),
            ["", "c", "C"][n]
        ));
        let (status, _) = post(&log).caller(Caller::writer()).send(&state).await;
        assert_eq!(status, 201);
    }
    let pattern = format!("%{}c", "A_".repeat(2010));
    let search = format!("description ILIKE '{pattern}'");
    assert!(search.len() <= 4_096);
    let (status, page) = list(&search).caller(Caller::reader()).send(&state).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 2, "the two that end in c or C");
}

/// Every request has a ceiling: the reads of logs one request may spend (`READ_BUDGET_UNITS`; a
/// small one here, over a small table, stands for the default over a large one). What would need
/// more is a 400 that says what to narrow; the common requests stay inside.
#[tokio::test]
async fn requests_that_would_read_past_the_budget_are_400s_that_say_what_to_narrow() {
    let base = cluster_logs_state().await;
    for n in 0..400 {
        let mut log = draft();
        log["cluster_uuid"] = json!(format!("c-budget-{}", n % 4));
        log["summary"] = json!(format!("log {n}"));
        log["description"] = json!("x".repeat(1000));
        let (status, _) = post(&log).caller(Caller::writer()).send(&base).await;
        assert_eq!(status, 201);
    }
    let state = shared::cluster_logs::ClusterLogsState {
        store: base.store.clone().with_read_budget(8),
        auth: base.auth.clone(),
    };
    for (case, request) in [
        (
            "an all-clusters search counted by reading",
            list("summary ILIKE '%log 3%'"),
        ),
        (
            "an order no index serves",
            ApiRequest::new("GET", "/cluster_logs", "/cluster_logs")
                .query("orderBy", "summary asc"),
        ),
    ] {
        let (status, body) = request.caller(Caller::reader()).send(&state).await;
        assert_eq!(status, 400, "{case}: {body}");
        let reason = body["reason"].as_str().unwrap();
        assert!(
            reason.contains("read units") && reason.contains("narrow"),
            "{case}: {reason}"
        );
    }
    // The console's view of one cluster, its first page: inside the budget.
    let (status, page) = ApiRequest::new(
        "GET",
        "/clusters/{uuid}/cluster_logs",
        "/clusters/c-budget-1/cluster_logs",
    )
    .path_parameter("uuid", "c-budget-1")
    .query("size", "10")
    .caller(Caller::reader())
    .send(&state)
    .await;
    assert_eq!((status, page["total"].clone()), (200, json!(100)), "{page}");

    let system = system_logs_state().await;
    let records = (0..400)
        .map(|n| {
            (
                format!("budget#{n}"),
                shared::system_logs::SystemLogRecord::from_json(
                    &json!({"created": format!("2026-11-01T10:{:02}:{:02}Z", n / 60, n % 60), "source": "worker",
                            "instance": format!("pod-{}", n % 40), "level": "INFO", "logger_name": "waldur",
                            "message": format!("message {n} {}", "y".repeat(1000)), "context": {}})
                    .to_string(),
                )
                .unwrap(),
            )
        })
        .collect();
    system.store.write(records).await;
    let budgeted = shared::system_logs::SystemLogsState {
        store: system.store.clone().with_read_budget(8),
        auth: system.auth.clone(),
    };
    for (case, params) in [
        (
            "a count by reading",
            vec![("message", "a"), ("created_from", "0")],
        ),
        (
            "the last page, one log a page",
            vec![("page", "last"), ("page_size", "1")],
        ),
    ] {
        let mut request = ApiRequest::system("GET", "/", "/");
        for (name, value) in params {
            request = request.query(name, value);
        }
        let answer = request.answer(&budgeted).await;
        assert_eq!(answer.status, 400, "{case}: {}", answer.body);
        let detail = answer.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("read units") && detail.contains("narrow"),
            "{case}: {detail}"
        );
    }
    // HomePort's first page, filtered by level, source and an instance: inside the budget.
    for params in [
        vec![],
        vec![
            ("level", "INFO"),
            ("source", "worker"),
            ("instance", "pod-3"),
        ],
    ] {
        let mut request = ApiRequest::system("GET", "/", "/").query("page_size", "10");
        for (name, value) in params {
            request = request.query(name, value);
        }
        let answer = request.answer(&budgeted).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
}
