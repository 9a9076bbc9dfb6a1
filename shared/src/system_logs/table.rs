//! The system-logs table's key schema, in one place: attribute and index names, the keys of each
//! item kind, and the row a log is stored as. template.yaml declares the same (tests/template.rs
//! holds the two together); docs/data-model.md explains each.

use serde::{Deserialize, Serialize};

use super::SystemLog;

/// The table's partition key: `log#<id>`, `instance#…`, `ids#<minute>` or `claim#…`.
pub const PK: &str = "pk";
pub const LEVEL_INDEX: &str = "level-index";
pub const INSTANCE_INDEX: &str = "instance-index";
pub const AGGREGATE_INDEX: &str = "aggregate-index";
/// `level-index`'s partition: `source#LEVEL`.
pub const SOURCE_LEVEL: &str = "source_level";
/// `instance-index`'s partition: `source#instance`.
pub const SOURCE_INSTANCE: &str = "source_instance";
/// Both log indexes' sort key: the created time, then the id inverted.
pub const CREATED_KEY: &str = "created_key";
pub const LEVEL_NUMBER: &str = "level_number";
pub const INSTANCE: &str = "instance";
/// The aggregates' partition in `aggregate-index`, and its one value.
pub const AGGREGATE_KIND: &str = "aggregate_kind";
pub const INSTANCE_AGGREGATE: &str = "instance";
/// An id block's counter.
pub const NEXT_ID: &str = "next";
/// The largest id a JavaScript client reads exactly.
pub const MAX_ID: u64 = (1 << 53) - 1;

/// A log as stored: its API fields, and the keys its indexes read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemLogRow {
    #[serde(flatten)]
    pub log: SystemLog,
    pub pk: String,
    pub source_level: String,
    pub source_instance: String,
    pub created_key: String,
    /// The key of its claim (crate::batch), so deleting the log can delete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
}

impl SystemLogRow {
    pub fn new(log: SystemLog) -> Self {
        Self {
            pk: log_key(log.id),
            source_level: level_partition(log.source.as_str(), log.level.as_str()),
            source_instance: instance_partition(log.source.as_str(), &log.instance),
            created_key: created_key(&log.created, log.id),
            claim: None,
            log,
        }
    }
}

/// What an aggregate carries besides its counts: its place in `aggregate-index` and its names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AggregateFields {
    pub aggregate_kind: &'static str,
    pub source_instance: String,
    pub source: &'static str,
    pub instance: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl AggregateFields {
    pub fn of(log: &SystemLog) -> Self {
        Self {
            aggregate_kind: INSTANCE_AGGREGATE,
            source_instance: instance_partition(log.source.as_str(), &log.instance),
            source: log.source.as_str(),
            instance: log.instance.clone(),
            expires_at: log.expires_at,
        }
    }
}

/// An id block's counter, as UpdateItem returns it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct IdBlockRow {
    #[serde(default)]
    pub next: i64,
}

/// An instance aggregate as read from `aggregate-index`: the counts of one (source, instance)
/// among the logs expiring at one instant, one `count_<LEVEL>` attribute per level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AggregateRow {
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub instance: String,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default, rename = "count_DEBUG")]
    pub debug: i64,
    #[serde(default, rename = "count_INFO")]
    pub info: i64,
    #[serde(default, rename = "count_WARNING")]
    pub warning: i64,
    #[serde(default, rename = "count_ERROR")]
    pub error: i64,
    #[serde(default, rename = "count_CRITICAL")]
    pub critical: i64,
}

impl AggregateRow {
    /// The counts in the order of [`super::Level::ALL`].
    pub fn by_level(&self) -> [i64; 5] {
        [
            self.debug,
            self.info,
            self.warning,
            self.error,
            self.critical,
        ]
    }
}

/// The sort key of a log in both GSIs: its created time, then its id inverted, so that reading
/// newest first gives the default order (`-created`, then `id` ascending).
pub fn created_key(created: &str, id: u64) -> String {
    format!("{created}#{:016}", MAX_ID - id.min(MAX_ID))
}

pub fn log_key(id: u64) -> String {
    format!("log#{id}")
}

pub fn level_partition(source: &str, level: &str) -> String {
    format!("{source}#{level}")
}

pub fn instance_partition(source: &str, instance: &str) -> String {
    format!("{source}#{instance}")
}

pub fn aggregate_key(source: &str, instance: &str, expiry_bucket: &str) -> String {
    format!("instance#{source}#{instance}#{expiry_bucket}")
}

pub fn id_block_key(minute: i64) -> String {
    format!("ids#{minute}")
}

/// The aggregate attribute counting one level's logs (projected into the aggregate index).
pub fn level_count_attribute(level: &str) -> String {
    format!("count_{level}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregate_row_reads_every_level_the_writers_count() {
        for level in super::super::Level::ALL {
            let attribute = level_count_attribute(level.as_str());
            let item = std::collections::HashMap::from([(
                attribute.clone(),
                aws_sdk_dynamodb::types::AttributeValue::N("7".into()),
            )]);
            let row: AggregateRow = serde_dynamo::from_item(item).unwrap_or_default();
            assert_eq!(row.by_level().iter().sum::<i64>(), 7, "{attribute}");
        }
    }
}
