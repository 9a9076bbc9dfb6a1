//! The system-logs API, through the handlers, against DynamoDB Local: every filter and ordering
//! against a reference computed over the full data set, pagination headers, errors and access.

use std::collections::BTreeMap;

use integration_tests::{Answer, ApiRequest, Caller, system_logs_state};
use serde_json::{Value, json};
use shared::system_logs::{SystemLog, SystemLogRecord, SystemLogsState, Written};
use time::OffsetDateTime;
use time::macros::datetime;

const INSTANCES: [(&str, &str); 6] = [
    ("api", "waldur-api-7d9f-x2"),
    ("api", "waldur-api-7d9f-k8"),
    ("worker", "waldur-worker-5d8f7c-abcde"),
    ("worker", "waldur-worker-5d8f7c-fghij"),
    ("beat", "waldur-beat-6c4b-qrstu"),
    ("worker", "waldur-worker-5d8f7c-zzzzz"),
];
const LOGGERS: [&str; 5] = [
    "waldur_core.server.views",
    "waldur_core.structure.tasks",
    "celery.worker.strategy",
    "waldur_mastermind.marketplace.utils",
    "django.request",
];
const MESSAGES: [&str; 5] = [
    "Order PROCESSED for project Alpha",
    "Connection Timeout talking to the identity provider",
    "Task succeeded in 0.8s",
    "Resource limit reached; retrying",
    "GET /api/projects/ 200",
];
const LEVELS: [&str; 5] = ["INFO", "WARNING", "ERROR", "DEBUG", "CRITICAL"];
/// The first log's time; the data set spans seven days from here.
const START: OffsetDateTime = datetime!(2026-11-10 00:00:00 UTC);

fn record(n: usize) -> SystemLogRecord {
    let (source, instance) = INSTANCES[n % INSTANCES.len()];
    SystemLogRecord {
        // Uneven steps (and microseconds) over a week; every time distinct.
        created: START
            + time::Duration::seconds((n * 2_417) as i64)
            + time::Duration::microseconds((n % 7) as i64 * 125),
        source: source.to_owned(),
        instance: instance.to_owned(),
        level: LEVELS[(n * 7 / 3) % LEVELS.len()].to_owned(),
        logger_name: LOGGERS[(n / 2) % LOGGERS.len()].to_owned(),
        message: format!("{} #{n}", MESSAGES[(n / 3) % MESSAGES.len()]),
        context: json!({"lineno": n, "funcName": "handle"}),
    }
}

/// Writes `count` logs through the one write path and returns them as stored.
async fn seed(state: &SystemLogsState, count: usize) -> Vec<SystemLog> {
    let records = (0..count)
        .map(|n| (format!("test#{n}"), record(n)))
        .collect();
    let mut stored = Vec::new();
    for written in state.store.write(records).await {
        match written.expect("written") {
            Written::Stored(log) => stored.push(*log),
            other => panic!("fresh record not stored: {other:?}"),
        }
    }
    stored
}

fn list() -> ApiRequest {
    ApiRequest::system("GET", "/", "/")
}

fn with(mut request: ApiRequest, params: &[(&str, &str)]) -> ApiRequest {
    for (name, value) in params {
        request = request.query(name, value);
    }
    request
}

/// The reference: the same filters and ordering, computed over every stored log.
fn reference(all: &[SystemLog], params: &[(&str, &str)]) -> Vec<u64> {
    let get = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
    };
    let unix = |log: &SystemLog| {
        shared::timestamp::parse(&log.created)
            .expect("stored time")
            .unix_timestamp_nanos()
    };
    let mut logs: Vec<&SystemLog> = all
        .iter()
        .filter(|log| get("source").is_none_or(|s| s == log.source.as_str()))
        .filter(|log| get("instance").is_none_or(|i| i == log.instance))
        .filter(|log| get("level").is_none_or(|l| l == log.level.as_str()))
        .filter(|log| {
            get("level_gte")
                .is_none_or(|g| f64::from(log.level_number) >= g.parse::<f64>().expect("number"))
        })
        .filter(|log| {
            get("created_from")
                .is_none_or(|f| unix(log) >= f.parse::<i128>().expect("secs") * 1_000_000_000)
        })
        .filter(|log| {
            get("created_to")
                .is_none_or(|t| unix(log) < t.parse::<i128>().expect("secs") * 1_000_000_000)
        })
        .filter(|log| {
            get("logger_name").is_none_or(|p| {
                log.logger_name
                    .to_lowercase()
                    .starts_with(&p.to_lowercase())
            })
        })
        .filter(|log| {
            get("message").is_none_or(|m| log.message.to_lowercase().contains(&m.to_lowercase()))
        })
        .collect();
    let ordering: Vec<(String, bool)> = get("o")
        .unwrap_or("-created")
        .split(',')
        .map(|f| match f.strip_prefix('-') {
            Some(name) => (name.to_owned(), true),
            None => (f.to_owned(), false),
        })
        .collect();
    let created_descending = ordering
        .iter()
        .find(|(f, _)| f == "created")
        .is_none_or(|(_, d)| *d);
    logs.sort_by(|a, b| {
        for (field, descending) in &ordering {
            let order = match field.as_str() {
                "level_number" => a.level_number.cmp(&b.level_number),
                "instance" => a.instance.cmp(&b.instance),
                _ => break,
            };
            let order = if *descending { order.reverse() } else { order };
            if order.is_ne() {
                return order;
            }
        }
        // Then created; ties on created by id, ascending under -created and descending under created.
        let order = unix(a).cmp(&unix(b)).then(b.id.cmp(&a.id));
        if created_descending {
            order.reverse()
        } else {
            order
        }
    });
    logs.iter().map(|log| log.id).collect()
}

/// `rel` -> URL of a Link header.
fn links(answer: &Answer) -> BTreeMap<String, String> {
    answer
        .header("link")
        .unwrap_or_default()
        .split(", ")
        .filter_map(|part| {
            let (url, rel) = part.split_once("; rel=")?;
            Some((
                rel.trim_matches('"').to_owned(),
                url.trim_matches(['<', '>']).to_owned(),
            ))
        })
        .collect()
}

/// The decoded value of `name` in a URL's query.
fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| decode(value))
    })
}

fn decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}

fn ids(answer: &Answer) -> Vec<u64> {
    answer
        .body
        .as_array()
        .expect("an array")
        .iter()
        .map(|log| log["id"].as_u64().expect("id"))
        .collect()
}

/// Reads every page, following `rel="next"`: by its `page` only (as waldur-api-client's `sync_all`
/// does) or by its `cursor` too. Checks `X-Result-Count` on every page.
async fn walk(
    state: &SystemLogsState,
    params: &[(&str, &str)],
    by_cursor: bool,
    expected_count: usize,
) -> Vec<u64> {
    let mut seen = Vec::new();
    let mut page: Option<String> = None;
    let mut cursor: Option<String> = None;
    for _ in 0..200 {
        let mut request = with(list(), params).query("page_size", "7");
        if let Some(page) = &page {
            request = request.query("page", page);
        }
        if let Some(cursor) = cursor.as_ref().filter(|_| by_cursor) {
            request = request.query("cursor", cursor);
        }
        let answer = request.answer(state).await;
        assert_eq!(answer.status, 200, "{params:?}: {}", answer.body);
        assert_eq!(
            answer.header("x-result-count"),
            Some(expected_count.to_string().as_str()),
            "{params:?}"
        );
        seen.extend(ids(&answer));
        let Some(next) = links(&answer).remove("next") else {
            return seen;
        };
        page = query_value(&next, "page");
        cursor = query_value(&next, "cursor");
    }
    panic!("more than 200 pages");
}

#[tokio::test]
async fn every_filter_and_ordering_matches_the_full_data_set() {
    let state = system_logs_state().await;
    let all = seed(&state, 150).await;
    let day = START.unix_timestamp() + 86_400;
    let (from, to) = (day.to_string(), (day + 2 * 86_400).to_string());
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("source", "worker")],
        vec![("instance", "waldur-api-7d9f-k8")],
        vec![("level", "ERROR")],
        vec![("level_gte", "30")],
        vec![("level_gte", "40"), ("source", "api")],
        vec![("created_from", &from), ("created_to", &to)],
        vec![("logger_name", "WALDUR_core")],
        vec![("message", "timeout")],
        vec![
            ("message", "processed"),
            ("source", "api"),
            ("o", "created"),
        ],
        vec![("level", ""), ("source", "")],
        vec![("o", "created")],
        vec![("o", "level_number")],
        vec![("o", "-level_number,created")],
        vec![("o", "instance")],
        vec![("o", "-instance,-created"), ("level_gte", "20")],
        vec![("o", "instance,-level_number")],
        vec![("o", "level_number,instance"), ("created_from", &from)],
        vec![
            ("instance", "waldur-worker-5d8f7c-fghij"),
            ("o", "-level_number"),
        ],
        vec![("o", "created"), ("o", "-instance")],
        // Level conditions become a FilterExpression on the instance partitions (HomePort filters
        // an instance's page by level): the level's number, never its name.
        vec![("instance", "waldur-api-7d9f-k8"), ("level", "ERROR")],
        vec![("o", "instance"), ("level", "WARNING")],
    ];
    for params in &cases {
        let expected = reference(&all, params);
        for by_cursor in [false, true] {
            let got = walk(&state, params, by_cursor, expected.len()).await;
            assert_eq!(got, expected, "{params:?} (cursor: {by_cursor})");
        }
    }
}

#[tokio::test]
async fn logs_have_all_nine_fields_as_waldur_clients_read_them() {
    let state = system_logs_state().await;
    let stored = seed(&state, 3).await;
    let answer = list().query("o", "created").answer(&state).await;
    let first = &answer.body[0];
    let keys: Vec<&str> = first
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "id",
        "created",
        "source",
        "instance",
        "level",
        "level_number",
        "logger_name",
        "message",
        "context",
    ];
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    expected.sort();
    assert_eq!(keys_sorted, expected);
    assert_eq!(first["id"], json!(stored[0].id));
    assert_eq!(
        first["created"], "2026-11-10T00:00:00+00:00",
        "isoformat, no fraction when zero"
    );
    assert_eq!(
        answer.body[1]["created"],
        "2026-11-10T00:40:17.000125+00:00"
    );
    assert_eq!(first["level_number"], json!(20));
    assert!(first["context"].is_object());
    assert!(
        stored.iter().all(|log| log.id < (1 << 53)),
        "ids fit JavaScript numbers"
    );
    assert!(
        stored.windows(2).all(|w| w[0].id < w[1].id),
        "ids grow with creation time"
    );
}

#[tokio::test]
async fn link_header_is_exact() {
    let state = system_logs_state().await;
    seed(&state, 25).await;
    let answer = with(
        list(),
        &[
            ("source", "api"),
            ("page_size", "3"),
            ("page", "2"),
            ("message", " #"),
            ("level", ""),
        ],
    )
    .answer(&state)
    .await;
    assert_eq!(answer.header("x-result-count"), Some("9"));
    let link = answer.header("link").expect("a Link header");
    let base = "https://api.example.com/api/system-logs/";
    let next = links(&answer)["next"].clone();
    let cursor = query_value(&next, "cursor").expect("the next link carries a cursor");
    assert_eq!(
        link,
        format!(
            "<{base}?level=&message=+%23&page_size=3&source=api>; rel=\"first\", \
             <{base}?level=&message=+%23&page_size=3&source=api>; rel=\"prev\", \
             <{base}?cursor={cursor}&level=&message=+%23&page=3&page_size=3&source=api>; rel=\"next\", \
             <{base}?level=&message=+%23&page=3&page_size=3&source=api>; rel=\"last\""
        )
    );
    let only = list()
        .query("source", "beat")
        .query("page_size", "300")
        .answer(&state)
        .await;
    assert_eq!(
        only.header("link"),
        Some(format!("<{base}?page_size=300&source=beat>; rel=\"first\", <{base}?page=1&page_size=300&source=beat>; rel=\"last\"").as_str())
    );
}

#[tokio::test]
async fn pages_follow_drf() {
    let state = system_logs_state().await;
    seed(&state, 25).await;
    let page = |page: &str, size: &str| with(list(), &[("page", page), ("page_size", size)]);
    for (p, size) in [("4", "10"), ("0", "10"), ("abc", "10"), ("-1", "10")] {
        let answer = page(p, size).answer(&state).await;
        assert_eq!(
            (answer.status, answer.body.clone()),
            (404, json!({"detail": "Invalid page."})),
            "page={p}"
        );
    }
    let last = page("last", "10").answer(&state).await;
    assert_eq!((last.status, ids(&last).len()), (200, 5));
    for size in ["0", "-5", "abc"] {
        let answer = page("1", size).answer(&state).await;
        assert_eq!(ids(&answer).len(), 10, "page_size={size} falls back to 10");
    }
    let capped = page("1", "100000").answer(&state).await;
    assert_eq!(ids(&capped).len(), 25);
    assert!(
        links(&capped)["last"].contains("page=1"),
        "capped at 300: one page"
    );
    let empty = system_logs_state().await;
    let answer = list().answer(&empty).await;
    assert_eq!(
        (
            answer.status,
            answer.body.clone(),
            answer.header("x-result-count")
        ),
        (200, json!([]), Some("0"))
    );
    assert_eq!(page("2", "10").answer(&empty).await.status, 404);
}

#[tokio::test]
async fn bad_parameters_get_drf_errors_one_key_per_parameter() {
    let state = system_logs_state().await;
    let cases: Vec<(Vec<(&str, &str)>, Value)> = vec![
        (
            vec![("level", "DEBUG")],
            json!({"level": ["Select a valid choice. DEBUG is not one of the available choices."]}),
        ),
        (
            vec![("level", "error")],
            json!({"level": ["Select a valid choice. error is not one of the available choices."]}),
        ),
        (
            vec![("source", "celery")],
            json!({"source": ["Select a valid choice. celery is not one of the available choices."]}),
        ),
        (
            vec![("o", "message")],
            json!({"o": ["Select a valid choice. message is not one of the available choices."]}),
        ),
        (
            vec![("created_from", "yesterday")],
            json!({"created_from": ["Enter a number."]}),
        ),
        (
            vec![("level_gte", "high")],
            json!({"level_gte": ["Enter a number."]}),
        ),
        (
            vec![("created_to", "1e20")],
            json!({"created_to": ["Ensure this value is less than or equal to 253402300799."]}),
        ),
        (
            vec![("created_from", "-1")],
            json!({"created_from": ["Ensure this value is greater than or equal to 0."]}),
        ),
        (
            vec![("level", "DEBUG"), ("created_from", "x"), ("o", "nope")],
            json!({"level": ["Select a valid choice. DEBUG is not one of the available choices."],
                   "created_from": ["Enter a number."],
                   "o": ["Select a valid choice. nope is not one of the available choices."]}),
        ),
    ];
    for (params, body) in cases {
        let answer = with(list(), &params).answer(&state).await;
        assert_eq!((answer.status, &answer.body), (400, &body), "{params:?}");
    }
    let fractional = with(
        list(),
        &[("created_from", "1700000000.9"), ("level_gte", "30.5")],
    )
    .answer(&state)
    .await;
    assert_eq!(fractional.status, 200, "fractions are numbers");
}

/// Found by Schemathesis: both were 500s, DynamoDB rejecting the expression.
#[tokio::test]
async fn reversed_time_windows_and_extreme_levels_answer_like_any_filter() {
    let state = system_logs_state().await;
    let all = seed(&state, 12).await;
    let reversed = with(
        list(),
        &[("created_from", "253402300798"), ("created_to", "0")],
    )
    .answer(&state)
    .await;
    assert_eq!(
        (reversed.status, &reversed.body),
        (200, &json!([])),
        "no log is created before it is created"
    );
    assert_eq!(reversed.header("x-result-count"), Some("0"));
    let past_the_end = with(
        list(),
        &[("created_from", "5"), ("created_to", "5"), ("page", "2")],
    )
    .answer(&state)
    .await;
    assert_eq!(past_the_end.status, 404);
    for (level_gte, expected) in [("1e200", 0), ("-1e200", all.len()), ("1e-200", all.len())] {
        let answer = with(list(), &[("level_gte", level_gte), ("page_size", "100")])
            .answer(&state)
            .await;
        assert_eq!(answer.status, 200, "level_gte={level_gte}");
        assert_eq!(ids(&answer).len(), expected, "level_gte={level_gte}");
    }
}

#[tokio::test]
async fn retrieve_finds_by_integer_id_and_applies_the_filters() {
    let state = system_logs_state().await;
    let logs = seed(&state, 6).await;
    let log = &logs[2]; // worker
    let get =
        |id: &str| ApiRequest::system("GET", "/{id}/", &format!("/{id}/")).path_parameter("id", id);
    let answer = get(&log.id.to_string()).answer(&state).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["id"], json!(log.id));
    assert_eq!(answer.body["source"], "worker");
    assert_eq!(
        get(&log.id.to_string())
            .query("source", "worker")
            .answer(&state)
            .await
            .status,
        200
    );
    let no_match = json!({"detail": "No SystemLog matches the given query."});
    let filtered = get(&log.id.to_string())
        .query("source", "api")
        .answer(&state)
        .await;
    assert_eq!((filtered.status, filtered.body), (404, no_match.clone()));
    let missing = get("12345").answer(&state).await;
    assert_eq!((missing.status, missing.body), (404, no_match));
    for id in ["abc", "1.5", "9999999999999999999999"] {
        let answer = get(id).answer(&state).await;
        assert_eq!(
            (answer.status, answer.body),
            (404, json!({"detail": "Not found."})),
            "{id}"
        );
    }
    let bad_filter = get(&log.id.to_string())
        .query("level", "DEBUG")
        .answer(&state)
        .await;
    assert_eq!(bad_filter.status, 400);
}

#[tokio::test]
async fn only_system_log_readers_get_in() {
    let state = system_logs_state().await;
    let routes = [
        ApiRequest::system("GET", "/", "/"),
        ApiRequest::system("GET", "/{id}/", "/1/").path_parameter("id", "1"),
        ApiRequest::system("GET", "/instances/", "/instances/"),
        ApiRequest::system("GET", "/stats/", "/stats/"),
    ];
    for request in routes {
        let anonymous = request
            .clone()
            .caller(Caller::Anonymous)
            .answer(&state)
            .await;
        assert_eq!(
            (anonymous.status, anonymous.body),
            (
                401,
                json!({"detail": "Authentication credentials were not provided."})
            )
        );
        let bad = request
            .clone()
            .caller(Caller::LocalToken("forged.token.here".into()))
            .answer(&state)
            .await;
        assert_eq!(
            (bad.status, bad.body),
            (401, json!({"detail": "Invalid token."}))
        );
        let staff_without_role = request
            .clone()
            .caller(Caller::with_roles(&["service-logs-admin"]))
            .answer(&state)
            .await;
        assert_eq!(
            (staff_without_role.status, staff_without_role.body),
            (
                403,
                json!({"detail": "You do not have permission to perform this action."})
            )
        );
        let post = request.clone().method("POST").answer(&state).await;
        assert_eq!(
            (post.status, post.body),
            (405, json!({"detail": "Method \"POST\" not allowed."}))
        );
        let delete = request.clone().method("DELETE").answer(&state).await;
        assert_eq!(
            (delete.status, delete.body),
            (405, json!({"detail": "Method \"DELETE\" not allowed."}))
        );
    }
}

#[tokio::test]
async fn homeport_gets_pages_gzip_compressed_as_browsers_accept_them() {
    let state = system_logs_state().await;
    seed(&state, 40).await;
    let plain = with(list(), &[("page_size", "40")]).answer(&state).await;
    assert_eq!(plain.header("content-encoding"), None);
    let compressed = with(list(), &[("page_size", "40")])
        .header("Accept-Encoding", "gzip, deflate, br, zstd")
        .answer(&state)
        .await;
    assert_eq!(compressed.status, 200);
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
    assert_eq!(compressed.header("vary"), Some("Accept-Encoding"));
    assert!(compressed.raw_body.len() < plain.raw_body.len() / 2);
    assert_eq!(compressed.body, plain.body, "the same page");
    assert_eq!(
        compressed.header("x-result-count"),
        plain.header("x-result-count")
    );
    let head = list()
        .method("HEAD")
        .header("Accept-Encoding", "gzip")
        .answer(&state)
        .await;
    assert!(head.raw_body.is_empty());
    assert_eq!(head.header("content-encoding"), None);
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let state = system_logs_state().await;
    seed(&state, 12).await;
    let get = list().answer(&state).await;
    let head = list().method("HEAD").answer(&state).await;
    assert_eq!(head.status, 200);
    assert!(head.raw_body.is_empty());
    assert_eq!(head.header("x-result-count"), get.header("x-result-count"));
    assert_eq!(head.header("link"), get.header("link"));
    for route in ["/instances/", "/stats/"] {
        let head = ApiRequest::system("HEAD", route, route)
            .answer(&state)
            .await;
        assert_eq!(
            (head.status, head.raw_body.is_empty()),
            (200, true),
            "{route}"
        );
    }
}

#[tokio::test]
async fn instances_and_stats_count_exactly_and_ignore_list_filters() {
    let state = system_logs_state().await;
    let logs = seed(&state, 40).await;
    let mut expected: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
    for log in &logs {
        let entry = expected
            .entry((log.source.as_str().to_owned(), log.instance.clone()))
            .or_insert((0, String::new()));
        entry.0 += 1;
        entry.1 = entry.1.clone().max(log.created.clone());
    }
    let instances = ApiRequest::system("GET", "/instances/", "/instances/")
        .query("page_size", "100")
        .query("source", "api")
        .answer(&state)
        .await;
    assert_eq!(instances.status, 200);
    assert_eq!(instances.header("x-result-count"), Some("6"));
    let rows: Vec<Value> = expected
        .iter()
        .map(|((source, instance), (count, last))| {
            json!({"source": source, "instance": instance, "count": count,
                   "last_seen": shared::system_logs::wire::python_isoformat(last)})
        })
        .collect();
    assert_eq!(
        instances.body,
        json!(rows),
        "ordered by source then instance, filters ignored"
    );
    let paged = ApiRequest::system("GET", "/instances/", "/instances/")
        .query("page_size", "4")
        .query("page", "2")
        .answer(&state)
        .await;
    assert_eq!(paged.body.as_array().map(Vec::len), Some(2));
    assert!(links(&paged).contains_key("prev"));

    let stats = ApiRequest::system("GET", "/stats/", "/stats/")
        .query("level", "ERROR")
        .answer(&state)
        .await;
    assert_eq!(stats.status, 200);
    let counts: Vec<Value> = expected
        .iter()
        .map(|((source, instance), (count, _))| json!({"source": source, "instance": instance, "count": count}))
        .collect();
    assert_eq!(stats.body["instances"], json!(counts));
    let bytes = stats.body["total_size_bytes"].as_u64().expect("bytes");
    assert!(bytes > 0, "DynamoDB Local reports live sizes");
    let mb = stats.body["total_size_mb"].as_f64().expect("a JSON number");
    assert!((mb - (bytes as f64 / 1_048_576.0 * 100.0).round() / 100.0).abs() < 1e-9);
}

#[tokio::test]
async fn the_write_path_scrubs_cuts_and_stores_a_record_once() {
    let state = system_logs_state().await;
    let mut noisy = record(0);
    noisy.message = format!(
        "login failed password=hunter2 token: abc {}",
        "x".repeat(12_000)
    );
    noisy.context =
        json!({"traceback": "t".repeat(6_000), "api_key": "k", "url": "https://x/?secret=s"});
    let written = state.store.write(vec![("noisy".into(), noisy)]).await;
    let Some(Ok(Written::Stored(log))) = written.into_iter().next() else {
        panic!("not stored");
    };
    assert!(
        log.message
            .starts_with("login failed password=*** token: *** "),
        "{}",
        &log.message[..60]
    );
    assert_eq!(log.message.chars().count(), 10_000);
    assert_eq!(
        log.context["traceback"].as_str().map(|t| t.chars().count()),
        Some(5_000)
    );
    assert_eq!(log.context["api_key"], "***");
    assert_eq!(log.context["url"], "https://x/?secret=***");

    let once = vec![("sqs#same-message".to_owned(), record(1))];
    assert!(matches!(
        &state.store.write(once.clone()).await[..],
        [Ok(Written::Stored(_))]
    ));
    assert!(matches!(
        &state.store.write(once).await[..],
        [Ok(Written::AlreadyStored)]
    ));
    let stats = ApiRequest::system("GET", "/stats/", "/stats/")
        .answer(&state)
        .await;
    let total: u64 = stats.body["instances"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(total, 2, "a redelivered record is counted once");

    for (source, level) in [("celery", "INFO"), ("api", "TRACE")] {
        let bad = SystemLogRecord {
            source: source.into(),
            level: level.into(),
            ..record(2)
        };
        assert!(
            matches!(
                &state.store.write(vec![("bad".into(), bad)]).await[..],
                [Err(shared::system_logs::WriteError::Invalid(_))]
            ),
            "{source}/{level} is refused"
        );
    }
}

#[tokio::test]
async fn a_first_page_is_read_with_the_counts_and_a_page_past_the_end_reads_no_logs() {
    use integration_tests::dynamo_calls::CallLog;
    let state = system_logs_state().await;
    let all = seed(&state, 25).await;
    let (client, calls) = CallLog::watching(state.store.client());
    let watched = integration_tests::system_logs_through(&state, client);
    let table = state.store.table().to_owned();
    let level_index = (
        "dynamodb:Query".to_owned(),
        format!("{table}/index/level-index"),
    );
    let filters = [("level_gte", "30"), ("source", "worker")];
    let first = with(list(), &filters).answer(&watched).await;
    assert_eq!(first.status, 200);
    assert_eq!(ids(&first), reference(&all, &filters)[..ids(&first).len()]);
    assert_eq!(
        first.header("x-result-count"),
        Some(reference(&all, &filters).len().to_string().as_str())
    );
    assert!(
        calls.permissions().contains(&level_index),
        "{:?}",
        calls.permissions()
    );

    let (client, calls) = CallLog::watching(state.store.client());
    let watched = integration_tests::system_logs_through(&state, client);
    let past = with(list(), &[filters[0], filters[1], ("page", "99")])
        .answer(&watched)
        .await;
    assert_eq!(
        (past.status, past.body),
        (404, json!({"detail": "Invalid page."}))
    );
    assert!(
        !calls.permissions().contains(&level_index),
        "the count said there is no page 99: no logs read {:?}",
        calls.permissions()
    );
}

// ---------------------------------------------------------------------------------------------
// Waldur's own tokens. HomePort and waldur-api-client send `Authorization: Token <key>`; only
// Waldur can say whose key it is (a stand-in answers `/api/users/me/` for Waldur; the logs are in
// DynamoDB Local). Under `make dev` the functions run the check in-process; deployed, the
// system-log routes' Lambda authorizer runs it and hands the verdict over in the context.

mod waldur_tokens {
    use super::*;
    use integration_tests::stand_ins::{
        self, BROKEN_TOKEN, SLOW_TOKEN, STAFF_TOKEN, SUPPORT_TOKEN, USER_TOKEN,
    };
    use integration_tests::{authorizer_event, system_logs_state_with_waldur};
    use shared::authorizer::{Authorizer, JwtKeys};
    use shared::oidc::IssuerKeys;
    use shared::waldur::WaldurUsers;

    /// A request as HomePort sends it: `Authorization: Token <key>`.
    fn homeport(route: &str, token: &str) -> ApiRequest {
        ApiRequest::system("GET", route, route)
            .caller(Caller::Anonymous)
            .header("authorization", &format!("Token {token}"))
            .header("accept-encoding", "gzip, deflate, br, zstd")
    }

    fn local_token(secret: &str) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp() as u64;
        devtools::local_token::LocalClaims::new("jdoe", &["system-logs-reader"], now, 600)
            .sign(secret, "groups")
            .unwrap()
    }

    fn detail(answer: &Answer) -> &str {
        answer.body["detail"].as_str().unwrap_or_default()
    }

    #[tokio::test]
    async fn waldur_staff_and_support_read_system_logs_with_their_waldur_tokens() {
        let waldur = stand_ins::waldur().await;
        let state = system_logs_state_with_waldur(&waldur.url, 60).await;
        seed(&state, 3).await;
        for token in [STAFF_TOKEN, SUPPORT_TOKEN] {
            let answer = homeport("/", token).answer(&state).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_eq!(answer.header("x-result-count"), Some("3"));
        }
    }

    #[tokio::test]
    async fn a_plain_waldur_user_is_forbidden_in_drf_words() {
        let waldur = stand_ins::waldur().await;
        let state = system_logs_state_with_waldur(&waldur.url, 60).await;
        let answer = homeport("/", USER_TOKEN).answer(&state).await;
        assert_eq!(answer.status, 403);
        assert_eq!(
            answer.body,
            json!({"detail": "You do not have permission to perform this action."})
        );
    }

    #[tokio::test]
    async fn a_token_waldur_refuses_is_401_invalid_token() {
        let waldur = stand_ins::waldur().await;
        let state = system_logs_state_with_waldur(&waldur.url, 60).await;
        let answer = homeport("/", "ffffffffffffffffffffffffffffffffffffffff")
            .answer(&state)
            .await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.body, json!({"detail": "Invalid token."}));
    }

    #[tokio::test]
    async fn an_unreachable_slow_or_failing_waldur_is_503_with_retry_after_never_allowed() {
        let nowhere = system_logs_state_with_waldur(&stand_ins::nowhere(), 60).await;
        let waldur = stand_ins::waldur().await;
        let state = system_logs_state_with_waldur(&waldur.url, 60).await;
        let unreachable = homeport("/", STAFF_TOKEN).answer(&nowhere).await;
        let slow = homeport("/stats/", SLOW_TOKEN).answer(&state).await;
        let failing = homeport("/instances/", BROKEN_TOKEN).answer(&state).await;
        for (case, answer) in [
            ("unreachable", unreachable),
            ("slow", slow),
            ("502", failing),
        ] {
            assert_eq!(answer.status, 503, "{case}: {}", answer.body);
            assert!(answer.header("retry-after").is_some(), "{case}");
            assert!(detail(&answer).contains("retry"), "{case}: {}", answer.body);
        }
    }

    #[tokio::test]
    async fn a_page_of_requests_costs_one_lookup_per_token_and_the_cache_expires() {
        let waldur = stand_ins::waldur().await;
        let state = system_logs_state_with_waldur(&waldur.url, 1).await;
        // HomePort's system-logs page: the list, the stats and the instances, then the next page.
        for route in ["/", "/stats/", "/instances/", "/"] {
            let answer = homeport(route, STAFF_TOKEN).answer(&state).await;
            assert_eq!(answer.status, 200, "{route}: {}", answer.body);
        }
        assert_eq!(waldur.requests_for("/api/users/me/"), 1);
        // A refused token is remembered too; an unavailable answer never is.
        for _ in 0..3 {
            homeport("/", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
                .answer(&state)
                .await;
        }
        for _ in 0..2 {
            homeport("/", BROKEN_TOKEN).answer(&state).await;
        }
        assert_eq!(waldur.requests(), 1 + 1 + 2);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        homeport("/", STAFF_TOKEN).answer(&state).await;
        assert_eq!(
            waldur.requests(),
            5,
            "asked again once the cache time passed"
        );
    }

    #[tokio::test]
    async fn local_bearer_tokens_keep_working_beside_waldur_tokens() {
        let waldur = stand_ins::waldur().await;
        let state = system_logs_state_with_waldur(&waldur.url, 60).await;
        let token = local_token(integration_tests::LOCAL_SECRET);
        let answer = ApiRequest::system("GET", "/", "/")
            .caller(Caller::LocalToken(token))
            .answer(&state)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(waldur.requests(), 0, "a JWT never goes to Waldur");
    }

    /// The deployed chain: the authorizer judges API Gateway's authorizer event, and the function
    /// answers the request that carries the authorizer's context.
    async fn through_the_authorizer(
        authorizer: &Authorizer,
        state: &SystemLogsState,
        authorization: Option<&str>,
    ) -> Answer {
        let verdict =
            functions::system_logs_authorizer::handler(authorizer, authorizer_event(authorization))
                .await
                .unwrap();
        assert!(
            verdict.is_authorized,
            "the function, not API Gateway, answers"
        );
        ApiRequest::system("GET", "/", "/")
            .caller(Caller::LambdaAuthorizer(verdict.context))
            .answer(state)
            .await
    }

    #[tokio::test]
    async fn deployed_the_authorizer_takes_waldur_tokens_and_the_issuers_jwts() {
        let waldur = stand_ins::waldur().await;
        let issuer = stand_ins::issuer().await;
        let authorizer = Authorizer::new(JwtKeys::Issuer(
            IssuerKeys::new(&issuer.url, &[stand_ins::ISSUER_AUDIENCE.to_owned()]).unwrap(),
        ))
        .with_waldur(WaldurUsers::new(&waldur.url).unwrap(), 60);
        // Deployed, the functions have no local mechanism: only the context counts.
        let local = system_logs_state().await;
        let state = SystemLogsState {
            auth: shared::identity::Authenticator::new("groups", None),
            store: local.store.clone(),
        };
        seed(&state, 2).await;
        let token = |scheme: &str, token: &str| format!("{scheme} {token}");
        let reader = stand_ins::issuer_token(&issuer, json!({"groups": ["system-logs-reader"]}));
        let no_role = stand_ins::issuer_token(&issuer, json!({"groups": []}));
        let other_audience = stand_ins::issuer_token(
            &issuer,
            json!({"aud": "someone-else", "groups": ["system-logs-reader"]}),
        );
        let cognito_style = stand_ins::issuer_token(
            &issuer,
            json!({"aud": null, "client_id": stand_ins::ISSUER_AUDIENCE, "groups": ["system-logs-reader"]}),
        );
        let expired = stand_ins::issuer_token(
            &issuer,
            json!({"exp": 1_000_000_000, "groups": ["system-logs-reader"]}),
        );
        let forged = local_token("guessed");
        let cases: [(&str, Option<String>, u16, &str); 10] = [
            ("Waldur staff", Some(token("Token", STAFF_TOKEN)), 200, ""),
            (
                "Waldur user",
                Some(token("Token", USER_TOKEN)),
                403,
                "You do not have permission to perform this action.",
            ),
            (
                "refused by Waldur",
                Some(token("Token", "0000000000000000000000000000000000000000")),
                401,
                "Invalid token.",
            ),
            (
                "no credentials",
                None,
                401,
                "Authentication credentials were not provided.",
            ),
            ("issuer's JWT", Some(token("Bearer", &reader)), 200, ""),
            (
                "client_id audience",
                Some(token("Bearer", &cognito_style)),
                200,
                "",
            ),
            (
                "JWT without the role",
                Some(token("Bearer", &no_role)),
                403,
                "You do not have permission to perform this action.",
            ),
            (
                "another audience",
                Some(token("Bearer", &other_audience)),
                401,
                "Invalid token.",
            ),
            (
                "expired",
                Some(token("Bearer", &expired)),
                401,
                "Invalid token.",
            ),
            (
                "HS256 forgery",
                Some(token("Bearer", &forged)),
                401,
                "Invalid token.",
            ),
        ];
        for (case, authorization, status, expected) in cases {
            let answer =
                through_the_authorizer(&authorizer, &state, authorization.as_deref()).await;
            assert_eq!(answer.status, status, "{case}: {}", answer.body);
            if status != 200 {
                assert_eq!(detail(&answer), expected, "{case}");
            }
        }
        assert_eq!(
            issuer.requests_for("/keys"),
            1,
            "the issuer's keys are fetched once"
        );
    }

    #[tokio::test]
    async fn deployed_an_unreachable_waldur_or_issuer_is_503_never_allowed() {
        let authorizer = Authorizer::new(JwtKeys::Issuer(
            IssuerKeys::new(
                &stand_ins::nowhere(),
                &[stand_ins::ISSUER_AUDIENCE.to_owned()],
            )
            .unwrap(),
        ))
        .with_waldur(WaldurUsers::new(&stand_ins::nowhere()).unwrap(), 60);
        let state = SystemLogsState {
            auth: shared::identity::Authenticator::new("groups", None),
            store: system_logs_state().await.store,
        };
        let issuer = stand_ins::issuer().await;
        let jwt = stand_ins::issuer_token(&issuer, json!({"groups": ["system-logs-reader"]}));
        for authorization in [format!("Token {STAFF_TOKEN}"), format!("Bearer {jwt}")] {
            let answer = through_the_authorizer(&authorizer, &state, Some(&authorization)).await;
            assert_eq!(answer.status, 503, "{authorization}: {}", answer.body);
            assert!(answer.header("retry-after").is_some());
        }
    }

    #[tokio::test]
    async fn a_tampered_authorizer_context_fails_closed() {
        let state = SystemLogsState {
            auth: shared::identity::Authenticator::new("groups", None),
            store: system_logs_state().await.store,
        };
        for verdict in [
            "{\"outcome\":\"allowed\"}",
            "not json",
            "{\"outcome\":\"waldur\"}",
        ] {
            let context =
                std::collections::HashMap::from([("verdict".to_owned(), verdict.to_owned())]);
            let answer = ApiRequest::system("GET", "/", "/")
                .caller(Caller::LambdaAuthorizer(context))
                .answer(&state)
                .await;
            assert_eq!(answer.status, 401, "{verdict}");
        }
    }
}
