//! System logs from a CloudWatch Logs subscription: log lines as the platform's Python processes
//! write them (structlog or `logging` JSON, or plain text), and the source and instance from the
//! log group and stream names.
//!
//! The mapping (documented in the README): the instance is the stream name after its last `/`.
//! The source is the first rule of `SYSTEM_LOGS_SOURCE_MAP` (`pattern=source,...`, a pattern being
//! text the stream or group name contains, checked in order) that matches; without one, the first
//! `-`, `_` or `.` separated word of the stream name that is a source. So the stream
//! `waldur-worker-5d8f7c-abcde` is instance `waldur-worker-5d8f7c-abcde` of source `worker`.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::model::{Source, SystemLogRecord};
use crate::dynamo::StoreError;

/// Environment variable with extra `pattern=source` rules, comma separated.
pub const SOURCE_MAP_VAR: &str = "SYSTEM_LOGS_SOURCE_MAP";
const MESSAGE_KEYS: [&str; 3] = ["event", "message", "msg"];
const LEVEL_KEYS: [&str; 3] = ["level", "levelname", "severity"];
const LOGGER_KEYS: [&str; 3] = ["logger", "name", "logger_name"];
const TIME_KEYS: [&str; 3] = ["timestamp", "asctime", "time"];
const TRACEBACK_KEYS: [&str; 4] = ["exc_info", "traceback", "exception", "exc_text"];
/// How far into a plain-text line a level word is looked for.
const LEVEL_SEARCH_CHARS: usize = 200;

/// Which source and instance a log stream belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamMapping {
    rules: Vec<(String, &'static str)>,
}

/// A log stream no rule maps to a source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no source for log group '{group}', stream '{stream}': add a rule to {SOURCE_MAP_VAR}")]
pub struct UnmappedStream {
    pub group: String,
    pub stream: String,
}

impl StreamMapping {
    /// `pattern=source` rules, comma separated; sources must be known ones.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
        for rule in text
            .split(',')
            .map(str::trim)
            .filter(|rule| !rule.is_empty())
        {
            let (pattern, source) = rule
                .split_once('=')
                .ok_or_else(|| format!("rule '{rule}' is not pattern=source"))?;
            let source = Source::named(source.trim()).ok_or_else(|| {
                format!("rule '{rule}': source must be one of {}", Source::names())
            })?;
            if pattern.trim().is_empty() {
                return Err(format!("rule '{rule}' has an empty pattern"));
            }
            rules.push((pattern.trim().to_owned(), source.as_str()));
        }
        Ok(StreamMapping { rules })
    }

    pub fn from_env() -> Result<Self, StoreError> {
        Self::parse(&std::env::var(SOURCE_MAP_VAR).unwrap_or_default())
            .map_err(|reason| StoreError::Misconfigured(format!("{SOURCE_MAP_VAR}: {reason}")))
    }

    /// (source, instance) of a stream.
    pub fn locate(&self, group: &str, stream: &str) -> Result<(String, String), UnmappedStream> {
        let instance = stream.rsplit('/').next().unwrap_or(stream).trim();
        let unmapped = || UnmappedStream {
            group: group.to_owned(),
            stream: stream.to_owned(),
        };
        if instance.is_empty() {
            return Err(unmapped());
        }
        let configured = self
            .rules
            .iter()
            .find(|(pattern, _)| stream.contains(pattern) || group.contains(pattern))
            .map(|(_, source)| *source);
        let named = || {
            instance
                .split(['-', '_', '.'])
                .find_map(|word| {
                    Source::ALL
                        .into_iter()
                        .find(|s| s.as_str().eq_ignore_ascii_case(word))
                })
                .map(Source::as_str)
        };
        let source = configured.or_else(named).ok_or_else(unmapped)?;
        Ok((source.to_owned(), instance.chars().take(256).collect()))
    }
}

/// One log line as a record: JSON when it is a JSON object, else plain text with a guessed level.
/// `logged_at` (the CloudWatch event's time) stands in when the line has no readable time.
pub fn record_from_line(
    line: &str,
    logged_at: OffsetDateTime,
    source: &str,
    instance: &str,
) -> SystemLogRecord {
    let trimmed = line.trim_end_matches(['\n', '\r']);
    match serde_json::from_str::<Value>(trimmed.trim_start()) {
        Ok(Value::Object(fields)) => from_json(fields, logged_at, source, instance),
        _ => SystemLogRecord {
            created: logged_at,
            source: source.to_owned(),
            instance: instance.to_owned(),
            level: guess_level(trimmed).to_owned(),
            logger_name: String::new(),
            message: trimmed.to_owned(),
            context: Value::Object(Map::new()),
        },
    }
}

fn from_json(
    mut fields: Map<String, Value>,
    logged_at: OffsetDateTime,
    source: &str,
    instance: &str,
) -> SystemLogRecord {
    let message = take_text(&mut fields, &MESSAGE_KEYS).unwrap_or_default();
    let level = take_text(&mut fields, &LEVEL_KEYS)
        .and_then(|level| known_level(&level))
        .unwrap_or_else(|| guess_level(&message));
    let logger_name = take_text(&mut fields, &LOGGER_KEYS).unwrap_or_default();
    let created = take_text(&mut fields, &TIME_KEYS)
        .and_then(|text| parse_time(&text))
        .unwrap_or(logged_at);
    let traceback = take_text(&mut fields, &TRACEBACK_KEYS);
    // What is left are the line's own fields: they become the context, as Waldur stores them.
    let mut context = fields;
    if let Some(traceback) = traceback.filter(|t| !t.is_empty() && t != "false" && t != "null") {
        context.insert("traceback".into(), Value::String(traceback));
    }
    SystemLogRecord {
        created,
        source: source.to_owned(),
        instance: instance.to_owned(),
        level: level.to_owned(),
        logger_name,
        message,
        context: Value::Object(context),
    }
}

/// Removes the first of `keys` present; its text (other JSON values as JSON text).
fn take_text(fields: &mut Map<String, Value>, keys: &[&str]) -> Option<String> {
    let key = keys.iter().find(|key| fields.contains_key(**key))?;
    match fields.remove(*key)? {
        Value::String(text) => Some(text),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The stored level for a level name loggers write, `None` for names we do not know.
fn known_level(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" | "FATAL" | "ALERT" | "EMERGENCY" => "CRITICAL",
        "ERROR" | "ERR" | "EXCEPTION" => "ERROR",
        "WARNING" | "WARN" => "WARNING",
        "INFO" | "NOTICE" => "INFO",
        "DEBUG" | "TRACE" => "DEBUG",
        _ => return None,
    })
}

/// The level of a plain-text line: the first level word near its start, ERROR for a Python
/// traceback, else INFO.
pub fn guess_level(line: &str) -> &'static str {
    let head: String = line.chars().take(LEVEL_SEARCH_CHARS).collect();
    let named = head
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|word| word.len() >= 4 && word.chars().all(|c| c.is_ascii_uppercase()))
        .find_map(known_level);
    named.unwrap_or(if line.contains("Traceback (most recent call last)") {
        "ERROR"
    } else {
        "INFO"
    })
}

/// RFC 3339, or Python's `2026-11-21 10:00:00,123` / `.123456` (taken as UTC).
fn parse_any_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(time) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(time);
    }
    let python = text.replacen(',', ".", 1).replacen('T', " ", 1);
    let with_fraction =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let whole = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(&python, with_fraction)
        .or_else(|_| PrimitiveDateTime::parse(&python, whole))
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// A line's own time when it is one we store, else none (the event's time is used instead).
fn parse_time(text: &str) -> Option<OffsetDateTime> {
    parse_any_time(text).filter(|time| crate::timestamp::YEARS_ACCEPTED.contains(&time.year()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-11-21 10:00:00 UTC);

    #[test]
    fn a_stream_named_after_its_pod_maps_to_that_source_and_instance() -> Result<(), UnmappedStream>
    {
        let mapping = StreamMapping::default();
        assert_eq!(
            mapping.locate("/waldur/platform", "waldur-worker-5d8f7c-abcde")?,
            ("worker".into(), "waldur-worker-5d8f7c-abcde".into())
        );
        assert_eq!(
            mapping.locate("/aws/eks/waldur", "kube/waldur-beat-6c4b9d-qrstu")?,
            ("beat".into(), "waldur-beat-6c4b9d-qrstu".into())
        );
        assert!(mapping.locate("/waldur", "postgres-0").is_err());
        Ok(())
    }

    #[test]
    fn configured_rules_come_first() -> Result<(), String> {
        let mapping = StreamMapping::parse("celerybeat=beat, celery=worker, /waldur/api=api")?;
        let locate = |group: &str, stream: &str| mapping.locate(group, stream).ok();
        assert_eq!(
            locate("/waldur", "celerybeat-0"),
            Some(("beat".into(), "celerybeat-0".into()))
        );
        assert_eq!(
            locate("/waldur", "celery-7f-x"),
            Some(("worker".into(), "celery-7f-x".into()))
        );
        assert_eq!(
            locate("/waldur/api", "i-0abc"),
            Some(("api".into(), "i-0abc".into()))
        );
        assert!(StreamMapping::parse("celery=cron").is_err());
        assert!(StreamMapping::parse("celery").is_err());
        Ok(())
    }

    #[test]
    fn structlog_json_lines_keep_their_fields() {
        let line = r#"{"event": "Task failed", "level": "error", "logger": "waldur_core.tasks", "timestamp": "2026-11-21T09:59:58.5Z", "task_id": "t-1", "exc_info": "Traceback (most recent call last):\n  boom"}"#;
        let record = record_from_line(line, AT, "worker", "w-1");
        assert_eq!(record.message, "Task failed");
        assert_eq!(record.level, "ERROR");
        assert_eq!(record.logger_name, "waldur_core.tasks");
        assert_eq!(record.created, datetime!(2026-11-21 09:59:58.5 UTC));
        assert_eq!(record.context["task_id"], "t-1");
        assert!(
            record.context["traceback"]
                .as_str()
                .is_some_and(|t| t.contains("boom"))
        );
        assert!(record.context.get("event").is_none());
    }

    #[test]
    fn python_json_logger_lines_are_read_too() {
        let line = r#"{"message": "GET /api/ 200", "levelname": "WARNING", "name": "django.request", "asctime": "2026-11-21 09:00:01,250"}"#;
        let record = record_from_line(line, AT, "api", "a-1");
        assert_eq!(record.level, "WARNING");
        assert_eq!(record.logger_name, "django.request");
        assert_eq!(record.created, datetime!(2026-11-21 09:00:01.25 UTC));
    }

    #[test]
    fn plain_text_keeps_the_whole_line_and_guesses_the_level() {
        let record = record_from_line(
            "[2026-11-21 10:00:00] ERROR worker: lost connection\n",
            AT,
            "worker",
            "w-1",
        );
        assert_eq!(record.level, "ERROR");
        assert_eq!(
            record.message,
            "[2026-11-21 10:00:00] ERROR worker: lost connection"
        );
        assert_eq!(record.created, AT);
        assert_eq!(guess_level("Traceback (most recent call last):"), "ERROR");
        assert_eq!(guess_level("Information only, no errors here"), "INFO");
        assert_eq!(guess_level("WARN disk almost full"), "WARNING");
    }

    #[test]
    fn unreadable_times_and_levels_fall_back() {
        let record = record_from_line(
            r#"{"event": "x", "level": "loud", "timestamp": "yesterday"}"#,
            AT,
            "api",
            "a",
        );
        assert_eq!(record.level, "INFO");
        assert_eq!(record.created, AT);
    }
}
