//! The system-logs table. See docs/data-model.md for the key schema and what each call costs.
//!
//! - Logs: `pk` = `log#<id>`. GSIs `level-index` (partition `source#LEVEL`) and `instance-index`
//!   (partition `source#instance`), both sorted by `created_key`, serve every filter and ordering.
//! - Aggregates: `pk` = `instance#<source>#<instance>`, one per (source, instance), holding the
//!   number of logs per level, changed in the same transaction as each write. `aggregate-index`
//!   (KEYS_ONLY, so count changes never write it) lists them in (source, instance) order.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::model::{LEVELS, SOURCES, SystemLog, SystemLogRecord, level_number};
use super::scrub::{MESSAGE_MAX_CHARS, TRACEBACK_MAX_CHARS, scrub, scrub_context, truncate};
use crate::dynamo::{Item, StoreError, number, text};
use crate::timestamp;

pub const LEVEL_INDEX: &str = "level-index";
pub const INSTANCE_INDEX: &str = "instance-index";
pub const AGGREGATE_INDEX: &str = "aggregate-index";
pub(super) const SOURCE_LEVEL: &str = "source_level";
pub(super) const SOURCE_INSTANCE: &str = "source_instance";
pub(super) const CREATED_KEY: &str = "created_key";
const AGGREGATE_KIND: &str = "aggregate_kind";
const INSTANCE_AGGREGATE: &str = "instance";

/// Ids: milliseconds since 2024-01-01 shifted left 12 bits, plus 12 bits that tell apart logs of
/// the same millisecond. They grow with creation time, stay below 2^53 until 2093, and need no
/// counter item that every write would contend on; uniqueness is checked by a conditional write.
const ID_EPOCH_MS: i128 = 1_704_067_200_000;
const ID_SEQUENCE_BITS: u32 = 12;
/// The largest id a JavaScript client reads exactly.
pub const MAX_ID: u64 = (1 << 53) - 1;
const ID_ATTEMPTS: usize = 5;

/// Why a record was not stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("invalid record: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Stored(Box<SystemLog>),
    /// A record with this id was stored before (a redelivery): nothing changed.
    AlreadyStored(u64),
}

/// The number of logs of one (source, instance), by level.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceAggregate {
    pub source: String,
    pub instance: String,
    /// Counts in the order of [`LEVELS`].
    pub by_level: [u64; LEVELS.len()],
}

impl InstanceAggregate {
    pub fn count(&self) -> u64 {
        self.by_level.iter().sum()
    }

    pub fn count_where(&self, level_matches: impl Fn(u8) -> bool) -> u64 {
        LEVELS
            .iter()
            .zip(self.by_level)
            .filter(|((_, number), _)| level_matches(*number))
            .map(|(_, count)| count)
            .sum()
    }
}

#[derive(Debug, Clone)]
pub struct SystemLogStore {
    pub(super) client: Client,
    pub(super) table: String,
}

/// The sort key of a log in both GSIs: its created time, then its id inverted, so that reading
/// newest first gives the default order (`-created`, then `id` ascending).
pub fn created_key(created: &str, id: u64) -> String {
    format!("{created}#{:016}", MAX_ID - id.min(MAX_ID))
}

pub fn log_key(id: u64) -> String {
    format!("log#{id}")
}

fn aggregate_key(source: &str, instance: &str) -> String {
    format!("instance#{source}#{instance}")
}

/// The aggregate attribute counting one level's logs (projected into the aggregate index).
pub fn level_count_attribute(level: &str) -> String {
    format!("count_{level}")
}

/// The id of the `sequence`-th log of the millisecond `created` falls in (sequence: 12 bits).
/// Writers that need idempotent retries derive it from their source's own ids.
pub fn id_for(created: OffsetDateTime, sequence: u16) -> u64 {
    let millis = (created.unix_timestamp_nanos() / 1_000_000 - ID_EPOCH_MS).max(0) as u64;
    let sequence = u64::from(sequence) & ((1 << ID_SEQUENCE_BITS) - 1);
    ((millis << ID_SEQUENCE_BITS) | sequence).min(MAX_ID)
}

fn fresh_id(created: OffsetDateTime) -> u64 {
    id_for(created, rand_sequence())
}

fn rand_sequence() -> u16 {
    // The random half of a ULID is a well-seeded source we already depend on.
    (ulid::Ulid::new().random() & ((1 << ID_SEQUENCE_BITS) - 1)) as u16
}

impl SystemLogStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The one write path of every writer: validates, scrubs secrets, cuts long text, assigns the
    /// id, and stores the log together with its aggregate change, atomically.
    pub async fn write(&self, record: SystemLogRecord) -> Result<Written, WriteError> {
        let log = prepare(record)?;
        let fixed_id = log.id != 0;
        let mut log = log;
        for _ in 0..ID_ATTEMPTS {
            if !fixed_id {
                log.id = fresh_id(
                    timestamp::parse(&log.created)
                        .map_err(|e| WriteError::Invalid(e.to_string()))?,
                );
            }
            match self.put_with_aggregate(&log).await {
                Ok(true) => return Ok(Written::Stored(Box::new(log))),
                Ok(false) if fixed_id => return Ok(Written::AlreadyStored(log.id)),
                Ok(false) => continue, // another log took this id in the same millisecond: draw again
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::Rejected(format!("no free id after {ID_ATTEMPTS} attempts")).into())
    }

    /// Puts the log if its id is free and counts it. False when the id is taken.
    async fn put_with_aggregate(&self, log: &SystemLog) -> Result<bool, StoreError> {
        let mut item: Item = serde_dynamo::to_item(log)?;
        let source_instance = format!("{}#{}", log.source, log.instance);
        item.insert("pk".into(), AttributeValue::S(log_key(log.id)));
        item.insert(
            SOURCE_LEVEL.into(),
            AttributeValue::S(format!("{}#{}", log.source, log.level)),
        );
        item.insert(
            SOURCE_INSTANCE.into(),
            AttributeValue::S(source_instance.clone()),
        );
        item.insert(
            CREATED_KEY.into(),
            AttributeValue::S(created_key(&log.created, log.id)),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        let count = Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(aggregate_key(&log.source, &log.instance)))
            .update_expression(
                "SET #kind = :kind, #si = :si, #source = :source, #instance = :instance ADD #level :one",
            )
            .expression_attribute_names("#kind", AGGREGATE_KIND)
            .expression_attribute_names("#si", SOURCE_INSTANCE)
            .expression_attribute_names("#source", "source")
            .expression_attribute_names("#instance", "instance")
            .expression_attribute_names("#level", level_count_attribute(&log.level))
            .expression_attribute_values(":kind", AttributeValue::S(INSTANCE_AGGREGATE.into()))
            .expression_attribute_values(":si", AttributeValue::S(source_instance))
            .expression_attribute_values(":source", AttributeValue::S(log.source.clone()))
            .expression_attribute_values(":instance", AttributeValue::S(log.instance.clone()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()?;
        let outcome = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(true),
            Err(error) if crate::dynamo::lost_condition(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn get(&self, id: u64) -> Result<Option<SystemLog>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(log_key(id)))
            .send()
            .await?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }

    /// Every (source, instance) that has logs, ordered by source then instance, with its counts:
    /// one Query of the aggregate index (which projects the counts), at any number of logs.
    pub async fn aggregates(&self) -> Result<Vec<InstanceAggregate>, StoreError> {
        let mut aggregates = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(AGGREGATE_INDEX)
                .key_condition_expression("#kind = :kind")
                .expression_attribute_names("#kind", AGGREGATE_KIND)
                .expression_attribute_values(":kind", AttributeValue::S(INSTANCE_AGGREGATE.into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            for item in output.items.unwrap_or_default() {
                let mut by_level = [0u64; LEVELS.len()];
                for (slot, (level, _)) in by_level.iter_mut().zip(LEVELS) {
                    *slot = number(&item, &level_count_attribute(level)).max(0) as u64;
                }
                aggregates.push(InstanceAggregate {
                    source: text(&item, "source").to_owned(),
                    instance: text(&item, "instance").to_owned(),
                    by_level,
                });
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        aggregates.retain(|aggregate| aggregate.count() > 0);
        Ok(aggregates)
    }

    /// When the newest log of (source, instance) was created: one single-item Query.
    pub async fn last_seen(
        &self,
        source: &str,
        instance: &str,
    ) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INSTANCE_INDEX)
            .key_condition_expression("#si = :si")
            .expression_attribute_names("#si", SOURCE_INSTANCE)
            .expression_attribute_values(":si", AttributeValue::S(format!("{source}#{instance}")))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await?;
        Ok(output
            .items
            .unwrap_or_default()
            .first()
            .map(|item| text(item, "created").to_owned()))
    }

    /// Bytes stored in the table and all its indexes, as DynamoDB reports them (AWS refreshes the
    /// figures about every six hours; DynamoDB Local keeps them live).
    pub async fn size_bytes(&self) -> Result<u64, StoreError> {
        let output = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await?;
        let Some(table) = output.table else {
            return Ok(0);
        };
        let indexes: i64 = table
            .global_secondary_indexes()
            .iter()
            .map(|index| index.index_size_bytes().unwrap_or(0))
            .sum();
        Ok((table.table_size_bytes().unwrap_or(0) + indexes).max(0) as u64)
    }
}

/// Validates and normalizes a record into the log to store (`id` 0 when none was given).
fn prepare(record: SystemLogRecord) -> Result<SystemLog, WriteError> {
    if !SOURCES.contains(&record.source.as_str()) {
        return Err(WriteError::Invalid(format!(
            "source '{}' is not one of {}",
            record.source,
            SOURCES.join(", ")
        )));
    }
    let level = record.level.to_ascii_uppercase();
    let level = if level == "WARN" {
        "WARNING".to_owned()
    } else {
        level
    };
    let level_number = level_number(&level).ok_or_else(|| {
        WriteError::Invalid(format!("level '{}' is not a known level", record.level))
    })?;
    let instance = record.instance.trim().to_owned();
    if instance.is_empty() || instance.len() > 256 {
        return Err(WriteError::Invalid(
            "instance must be 1 to 256 bytes".into(),
        ));
    }
    if !timestamp::YEARS_ACCEPTED.contains(&record.created.year()) {
        return Err(WriteError::Invalid(
            "created is outside the years 1970 to 9999".into(),
        ));
    }
    let id = record.id.unwrap_or(0);
    if id > MAX_ID {
        return Err(WriteError::Invalid(format!("id {id} is above 2^53-1")));
    }
    let mut context = match record.context {
        serde_json::Value::Object(map) => serde_json::Value::Object(map),
        serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
        other => serde_json::json!({ "value": other }),
    };
    scrub_context(&mut context);
    if let Some(serde_json::Value::String(traceback)) = context.get_mut("traceback") {
        *traceback = truncate(traceback, TRACEBACK_MAX_CHARS);
    }
    Ok(SystemLog {
        id,
        created: timestamp::format(record.created),
        source: record.source,
        instance,
        level,
        level_number,
        logger_name: truncate(&record.logger_name, 256),
        message: truncate(&scrub(&record.message), MESSAGE_MAX_CHARS),
        context,
    })
}
