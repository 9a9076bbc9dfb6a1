//! A system log as stored and as sent, its levels and sources, and the record a writer hands in.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The processes that ship system logs. Waldur's clients reject any other value.
pub const SOURCES: [&str; 3] = ["api", "worker", "beat"];

/// Levels by number. DEBUG may be stored but is not a valid `level` filter value.
pub const LEVELS: [(&str, u8); 5] = [
    ("DEBUG", 10),
    ("INFO", 20),
    ("WARNING", 30),
    ("ERROR", 40),
    ("CRITICAL", 50),
];

/// Levels a client may filter on with `level=`.
pub const FILTERABLE_LEVELS: [&str; 4] = ["INFO", "WARNING", "ERROR", "CRITICAL"];

pub fn level_number(level: &str) -> Option<u8> {
    LEVELS
        .iter()
        .find(|(name, _)| *name == level)
        .map(|(_, number)| *number)
}

/// A stored system log. Field names are the API's; `created` is kept in the sortable stored form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemLog {
    pub id: u64,
    /// `2026-02-15T14:58:23.123456Z`: fixed width, so it sorts as time does.
    pub created: String,
    pub source: String,
    pub instance: String,
    pub level: String,
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
