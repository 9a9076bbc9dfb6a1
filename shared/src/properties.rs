//! Property tests of everything that reads untrusted text: the search language, the query strings of
//! both APIs, and CloudWatch Logs deliveries. Any input gives a value or a typed error, never a panic,
//! and what is accepted stays inside the limits the store relies on.

use lambda_http::{Request, RequestExt};
use proptest::prelude::*;
use time::OffsetDateTime;

use crate::cluster_logs::query::ClusterLogOrder;
use crate::cluster_logs::search::Search;
use crate::cluster_logs::{ClusterLog, ClusterLogFilter, ClusterScope, PageRequest, Visibility};
use crate::retention::Retention;
use crate::system_logs::cloudwatch::{StreamMapping, record_from_line};
use crate::system_logs::scrub::CONTEXT_MAX_BYTES;
use crate::system_logs::store::prepare;
use crate::system_logs::{Cursor, MESSAGE_MAX_CHARS, SystemLogRecord};

/// Text built from the search language's own pieces, so most cases get deep into the parser.
fn search_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(" AND ".to_owned()),
        Just(" or ".to_owned()),
        Just("NOT ".to_owned()),
        Just(" IN ".to_owned()),
        Just(" NOT IN ".to_owned()),
        Just(" LIKE ".to_owned()),
        Just(" ILIKE ".to_owned()),
        Just(",".to_owned()),
        prop::sample::select(vec!["=", "!=", "<>", "<", "<=", ">", ">="]).prop_map(str::to_owned),
        prop::sample::select(crate::cluster_logs::search::SEARCH_FIELDS.to_vec())
            .prop_map(str::to_owned),
        "'[^']{0,12}'",
        "'[0-9T:.Z-]{0,30}'",
        Just("''".to_owned()),
        "[0-9]{1,25}",
        "[a-z_%]{1,8}",
        Just("true".to_owned()),
        ".{0,3}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn sample_log() -> ClusterLog {
    ClusterLog {
        id: "01J0000000000000000000000".into(),
        cluster_uuid: Some("c-1".into()),
        summary: Some("Cluster upgraded".into()),
        severity: crate::cluster_logs::Severity::Info,
        doc_references: vec!["https://docs".into()],
        timestamp: "2026-01-01T00:00:00.000000Z".into(),
        created_at: "2026-01-01T00:00:00.000000Z".into(),
        ..ClusterLog::default()
    }
}

fn check_search(text: &str) -> Result<(), TestCaseError> {
    match Search::parse(text) {
        Ok(Some(search)) => {
            // Planning and evaluation must hold up for whatever parsed.
            let _ = search.filter();
            let _ = search.range("timestamp");
            let _ = search.matches(&sample_log());
            let filter =
                ClusterLogFilter::new(ClusterScope::All, Visibility::PublicOnly, Some(text));
            prop_assert!(filter.is_ok(), "{text:?} parsed alone but not in a filter");
        }
        Ok(None) => {}
        Err(error) => prop_assert!(
            error.position
                <= text
                    .chars()
                    .count()
                    .max(crate::cluster_logs::search::MAX_SEARCH_BYTES),
            "{text:?}: {error:?}"
        ),
    }
    Ok(())
}

const PARAMETER_NAMES: [&str; 20] = [
    "page",
    "size",
    "search",
    "orderBy",
    "order",
    "fields",
    "format",
    "cluster_id",
    "cluster_uuid",
    "source",
    "instance",
    "level",
    "level_gte",
    "created_from",
    "created_to",
    "logger_name",
    "message",
    "o",
    "page_size",
    "cursor",
];

fn check_query(request: &Request) {
    // Cluster-log lists.
    let _ = PageRequest::parse(
        crate::http::query_param(request, "page"),
        crate::http::query_param(request, "size"),
    );
    let _ = crate::cluster_logs::request::scope_from_query(request);
    let search = crate::http::query_param(request, "search");
    let _ = ClusterLogFilter::new(ClusterScope::All, Visibility::IncludingInternal, search);
    if let Some(order) = crate::http::query_param(request, "orderBy") {
        let _ = ClusterLogOrder::parse(order);
    }
    // System-log lists.
    if let Ok((_, _, spec)) = crate::system_logs::request::list_request(request) {
        let _ = spec.resolve(0);
        let _ = spec.resolve(u64::MAX);
    }
    let _ = crate::system_logs::request::page(request);
}

fn line_field() -> impl Strategy<Value = (String, serde_json::Value)> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "event",
            "message",
            "msg",
            "level",
            "levelname",
            "severity",
            "logger",
            "name",
            "timestamp",
            "asctime",
            "time",
            "exc_info",
            "traceback",
            "password",
            "context",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,10}",
    ];
    let value = prop_oneof![
        ".{0,40}".prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        prop::collection::vec(".{0,5}", 0..4).prop_map(serde_json::Value::from),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?"
            .prop_map(serde_json::Value::from),
    ];
    (key, value)
}

fn check_line(line: &str) -> Result<(), TestCaseError> {
    let record = record_from_line(line, OffsetDateTime::UNIX_EPOCH, "worker", "pod-1");
    if let Ok(log) = prepare(record, Retention::days(90), OffsetDateTime::now_utc()) {
        prop_assert!(log.message.chars().count() <= MESSAGE_MAX_CHARS);
        prop_assert!(log.context.is_object());
        let context_bytes = serde_json::to_vec(&log.context).map_or(0, |bytes| bytes.len());
        prop_assert!(
            context_bytes <= CONTEXT_MAX_BYTES + crate::system_logs::TRACEBACK_MAX_CHARS * 4 + 64
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_a_search_or_a_positioned_error(text in ".{0,200}") {
        check_search(&text)?;
    }

    #[test]
    fn search_language_soup_is_a_search_or_a_positioned_error(text in search_like()) {
        check_search(&text)?;
    }

    #[test]
    fn any_query_string_gives_parameters_or_typed_errors(
        raw in prop_oneof!["([a-zA-Z_]{1,12}=([ -~]|%[0-9A-Fa-f]{2}|%.{0,2}){0,30}&?){0,8}", ".{0,60}"],
        host in prop_oneof![Just("api.example.com".to_owned()), "[ -~]{0,20}"],
        params in prop::collection::hash_map(
            prop::sample::select(PARAMETER_NAMES.to_vec()).prop_map(str::to_owned),
            prop_oneof![".{0,30}", "-?[0-9]{1,30}(\\.[0-9]{0,5})?(e-?[0-9]{1,4})?", search_like()],
            0..8,
        ),
    ) {
        let request = crate::http::http_api_request(&raw, &host, serde_json::json!(params));
        check_query(&request);
        check_query(&request.with_query_string_parameters(params.clone()));
    }

    #[test]
    fn any_cursor_text_decodes_or_is_refused_without_a_panic(text in ".{0,80}") {
        let _ = Cursor::decode(&text);
    }

    #[test]
    fn any_log_line_becomes_a_record_or_a_typed_error(line in ".{0,300}") {
        check_line(&line)?;
    }

    #[test]
    fn any_json_log_line_becomes_a_record_or_a_typed_error(
        fields in prop::collection::vec(line_field(), 0..10),
        big in 0usize..3,
    ) {
        let mut object: serde_json::Map<String, serde_json::Value> = fields.into_iter().collect();
        if big > 0 {
            // Now and then a line far over every limit.
            object.insert("payload".into(), "x".repeat(CONTEXT_MAX_BYTES * big).into());
            object.insert("message".into(), "m".repeat(MESSAGE_MAX_CHARS * big + 1).into());
        }
        check_line(&serde_json::Value::Object(object).to_string())?;
    }

    #[test]
    fn any_subscription_payload_decodes_or_fails_cleanly(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        gzip in any::<bool>(),
    ) {
        use base64::Engine;
        use std::io::Write;
        let data = if gzip {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            encoder.finish().map_err(|e| TestCaseError::fail(e.to_string()))?
        } else {
            bytes
        };
        let event = serde_json::json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(data)}});
        let _ = serde_json::from_str::<aws_lambda_events::event::cloudwatch_logs::LogsEvent>(&event.to_string());
    }

    #[test]
    fn any_stream_mapping_text_parses_or_says_why(text in ".{0,80}", group in ".{0,20}", stream in ".{0,40}") {
        if let Ok(mapping) = StreamMapping::parse(&text) {
            let _ = mapping.locate(&group, &stream);
        }
        let _ = StreamMapping::default().locate(&group, &stream);
    }
}

#[test]
fn record_fields_survive_the_write_path_checks() {
    // A sanity anchor for the properties above: an ordinary line is stored as it came.
    let record: SystemLogRecord = record_from_line(
        r#"{"event": "ok", "level": "info", "logger": "waldur_core"}"#,
        OffsetDateTime::UNIX_EPOCH,
        "api",
        "pod-1",
    );
    let log = prepare(record, Retention::days(0), OffsetDateTime::now_utc())
        .expect("an ordinary line is stored");
    assert_eq!((log.message.as_str(), log.level.as_str()), ("ok", "INFO"));
}
