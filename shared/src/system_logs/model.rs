//! A system log as stored and as sent, its levels and sources, and the record a writer hands in.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The processes that ship system logs. Waldur's clients reject any other value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Api,
    Worker,
    Beat,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Api, Source::Worker, Source::Beat];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Worker => "worker",
            Source::Beat => "beat",
        }
    }

    /// The source of this exact name (as the API spells it), if any.
    pub fn named(name: &str) -> Option<Source> {
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == name)
    }

    /// The names, for messages.
    pub fn names() -> String {
        Source::ALL.map(Source::as_str).join(", ")
    }
}

/// Log levels, with the numbers Python's logging gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl Level {
    /// Every level, lowest first (the order of the aggregates' counts).
    pub const ALL: [Level; 5] = [
        Level::Debug,
        Level::Info,
        Level::Warning,
        Level::Error,
        Level::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Level::Debug => 10,
            Level::Info => 20,
            Level::Warning => 30,
            Level::Error => 40,
            Level::Critical => 50,
        }
    }

    /// The level of this exact stored name (`WARNING`, not `warn`), if any.
    pub fn named(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.as_str() == name)
    }

    /// DEBUG may be stored but is not a valid `level` filter value.
    pub fn is_filterable(self) -> bool {
        self != Level::Debug
    }
}

/// A stored system log. Field names are the API's; `created` is kept in the sortable stored form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemLog {
    pub id: u64,
    /// `2026-02-15T14:58:23.123456Z`: fixed width, so it sorts as time does.
    pub created: String,
    pub source: Source,
    pub instance: String,
    pub level: Level,
    pub level_number: u8,
    pub logger_name: String,
    pub message: String,
    #[serde(default = "empty_object")]
    pub context: serde_json::Value,
    /// When DynamoDB deletes it (seconds since the epoch); `None` while retention is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// What a writer hands to [`super::SystemLogStore::write`]: one log line, before ids and
/// scrubbing. It is also the body of a queued system log (one JSON object per SQS message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemLogRecord {
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub source: String,
    pub instance: String,
    pub level: String,
    #[serde(default)]
    pub logger_name: String,
    #[serde(default)]
    pub message: String,
    #[serde(default = "empty_object")]
    pub context: serde_json::Value,
}

impl SystemLogRecord {
    /// A record from a queued message: its JSON, and when SQS took the message (`SentTimestamp`)
    /// as the log's time when the body has none, so that a redelivery writes the same log.
    pub fn from_message(body: &str, sent_at: Option<OffsetDateTime>) -> Result<Self, String> {
        let sent = sent_at.and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
        match (serde_json::from_str::<serde_json::Value>(body), sent) {
            (Ok(serde_json::Value::Object(mut fields)), Some(sent))
                if !fields.contains_key("created") =>
            {
                fields.insert("created".to_owned(), serde_json::Value::String(sent));
                Self::from_json(&serde_json::Value::Object(fields).to_string())
            }
            _ => Self::from_json(body),
        }
    }

    /// A record from the JSON a queued message carries; the error names the offending field.
    pub fn from_json(body: &str) -> Result<Self, String> {
        let mut deserializer = serde_json::Deserializer::from_str(body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            if path == "." {
                error.inner().to_string()
            } else {
                format!("{path}: {}", error.inner())
            }
        })
    }
}
