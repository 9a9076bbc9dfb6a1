//! The system-logs table. See docs/data-model.md for the key schema and what each call costs.
//!
//! - Logs: `pk` = `log#<id>`. GSIs `level-index` (partition `source#LEVEL`) and `instance-index`
//!   (partition `source#instance`), both sorted by `created_key`, serve every filter and ordering.
//! - Aggregates: `pk` = `instance#<source>#<instance>#<expiry>`, the number of logs per level of
//!   one (source, instance) that expire at the same instant (see [`crate::retention`]). They carry
//!   that `expires_at` too, so DynamoDB deletes a count with the logs it counts. `aggregate-index`
//!   lists them in (source, instance) order with their counts.
//! - Id blocks: `pk` = `ids#<minute>`, the number of ids handed out for logs created in that minute.
//! - Claims: `pk` = `claim#<source id>`, one per delivered record (see [`crate::batch`]).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use futures::StreamExt;
use time::OffsetDateTime;

use super::SystemLogError;
use super::model::{Level, Source, SystemLog, SystemLogRecord};
use super::plan::{Plan, early_page, resume};
use super::query::{
    Cursor, MAX_SORTED, Ordering, PageSpec, SystemLogFilter, invalid_cursor, query_digest,
};
use super::scrub::{
    MESSAGE_MAX_CHARS, TRACEBACK_MAX_CHARS, cap_context, scrub, scrub_context, truncate,
};
use super::table::{
    AGGREGATE_INDEX, AGGREGATE_KIND, AggregateFields, AggregateRow, INSTANCE_AGGREGATE,
    INSTANCE_INDEX, IdBlockRow, MAX_ID, NEXT_ID, PK, SOURCE_INSTANCE, SystemLogRow, aggregate_key,
    id_block_key, instance_partition, level_count_attribute, log_key,
};
use crate::batch::{CountChange, Entry, OnceWriter, Outcome, Storable};
use crate::dynamo::{Item, Merge, ReadBudget, StoreError, Table};
use crate::partition::{Direction, PartitionQuery};
use crate::retention::{EXPIRES_AT, Lifetime, Retention, bucket_name, is_live};
use crate::timestamp;

/// Ids: the minute of creation since 2024-01-01, shifted left 26 bits, plus the position in that
/// minute's block, handed out by one atomic counter per minute (a batch takes a block of ids with
/// one UpdateItem per minute it spans). So ids are unique without a condition on the log itself,
/// which BatchWriteItem could not check, grow with time, and stay below 2^53 until the year 2279.
const ID_EPOCH_SECONDS: i64 = 1_704_067_200;
const ID_SEQUENCE_BITS: u32 = 26;
/// Writes of one batch's id blocks in flight at once.
const CONCURRENT_BLOCKS: usize = 16;

/// Why a record was not stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// It never will be: the source should move it aside (a dead-letter queue) and log the reason.
    #[error("invalid record: {0}")]
    Invalid(String),
    /// It may be on a later attempt.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened to a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Stored(Box<SystemLog>),
    /// Stored by an earlier delivery of the same record: nothing changed.
    AlreadyStored,
    /// Older than the retention: acknowledged, not stored.
    Expired,
}

/// The number of logs of one (source, instance), by level.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceAggregate {
    pub source: String,
    pub instance: String,
    /// Counts in the order of [`Level::ALL`].
    pub by_level: [u64; Level::ALL.len()],
}

impl InstanceAggregate {
    pub fn count(&self) -> u64 {
        self.by_level.iter().sum()
    }

    pub fn count_where(&self, level_matches: impl Fn(u8) -> bool) -> u64 {
        Level::ALL
            .iter()
            .zip(self.by_level)
            .filter(|(level, _)| level_matches(level.number()))
            .map(|(_, count)| count)
            .sum()
    }
}

#[derive(Debug, Clone)]
pub struct SystemLogStore {
    pub(super) table: Table,
}

/// Minutes since the id epoch: the block an id of a log created at `created` comes from.
fn id_minute(created: OffsetDateTime) -> i64 {
    ((created.unix_timestamp() - ID_EPOCH_SECONDS) / 60).max(0)
}

fn id_in_block(minute: i64, position: u64) -> Option<u64> {
    let id = (u64::try_from(minute).ok()? << ID_SEQUENCE_BITS) | position;
    (position < (1 << ID_SEQUENCE_BITS) && id <= MAX_ID).then_some(id)
}

/// A validated log on its way into the table.
#[derive(Debug, Clone)]
struct PreparedLog(SystemLog);

impl Storable for PreparedLog {
    fn id(&self) -> String {
        self.0.id.to_string()
    }

    fn adopt(&mut self, id: &str) -> Result<(), StoreError> {
        self.0.id = id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("claim holds a malformed log id '{id}'")))?;
        Ok(())
    }

    fn item(&self) -> Result<Item, StoreError> {
        Ok(serde_dynamo::to_item(SystemLogRow::new(self.0.clone()))?)
    }

    fn counts(&self) -> Result<Vec<CountChange>, StoreError> {
        Ok(vec![count_change(&self.0)?])
    }

    fn expires_at(&self) -> Option<i64> {
        self.0.expires_at
    }
}

/// The aggregate bucket a log is counted in, and the attributes that bucket carries.
pub(super) fn count_change(log: &SystemLog) -> Result<CountChange, StoreError> {
    CountChange::new(
        aggregate_key(
            log.source.as_str(),
            &log.instance,
            &bucket_name(log.expires_at),
        ),
        &AggregateFields::of(log),
        level_count_attribute(log.level.as_str()),
    )
}

impl SystemLogStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }

    /// Keeps logs for `lifetime.retention`; tests also move its clock to see what a later day sees.
    pub fn with_lifetime(mut self, lifetime: Lifetime) -> Self {
        self.table.lifetime = lifetime;
        self
    }

    /// Lets one request read at most `units` read units (default: `READ_BUDGET_UNITS`).
    pub fn with_read_budget(mut self, units: u64) -> Self {
        self.table.read_budget = units;
        self
    }

    pub fn lifetime(&self) -> Lifetime {
        self.table.lifetime
    }

    pub fn table(&self) -> &str {
        &self.table.name
    }

    pub fn client(&self) -> &Client {
        &self.table.client
    }

    /// The one write path of every writer: validates, scrubs secrets, cuts long text, assigns ids,
    /// and stores and counts each record once however often it is delivered (see
    /// [`crate::batch`]). `source_id` is the record's id at its source. Results are in input order.
    pub async fn write(
        &self,
        records: Vec<(String, SystemLogRecord)>,
    ) -> Vec<Result<Written, WriteError>> {
        let now = self.table.lifetime.now();
        let mut results: Vec<Option<Result<Written, WriteError>>> =
            records.iter().map(|_| None).collect();
        let mut valid = Vec::new();
        for (index, (source_id, record)) in records.into_iter().enumerate() {
            match prepare(record, self.table.lifetime.retention, now) {
                Ok(log) => valid.push((index, source_id, log)),
                Err(error) => results[index] = Some(Err(error)),
            }
        }
        let mut entries = Vec::new();
        let mut positions = Vec::new();
        for (index, source_id, result) in self.assign_ids(valid).await {
            match result {
                Ok(log) => {
                    positions.push(index);
                    entries.push(Entry {
                        source_id,
                        log: PreparedLog(log),
                    });
                }
                Err(error) => results[index] = Some(Err(error.into())),
            }
        }
        let writer = OnceWriter {
            client: &self.table.client,
            table: &self.table.name,
            key: PK,
        };
        // Boxed: the pipeline's future is deep, and every handler that awaits it would carry its type.
        let outcomes = Box::pin(writer.write(entries, now)).await;
        for (index, outcome) in positions.into_iter().zip(outcomes) {
            results[index] = Some(match outcome {
                Outcome::Stored(log) => Ok(Written::Stored(Box::new(log.0))),
                Outcome::AlreadyStored => Ok(Written::AlreadyStored),
                Outcome::Expired => Ok(Written::Expired),
                Outcome::Failed(error) => Err(error.into()),
            });
        }
        results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| Err(StoreError::Internal("not processed".into()).into()))
            })
            .collect()
    }

    /// Gives each log an id from its creation minute's block: one UpdateItem per minute.
    async fn assign_ids(
        &self,
        logs: Vec<(usize, String, SystemLog)>,
    ) -> Vec<(usize, String, Result<SystemLog, StoreError>)> {
        let mut by_minute: std::collections::BTreeMap<i64, Vec<(usize, String, SystemLog)>> =
            Default::default();
        for (index, source_id, log) in logs {
            let minute = timestamp::parse(&log.created).map_or(0, id_minute);
            by_minute
                .entry(minute)
                .or_default()
                .push((index, source_id, log));
        }
        futures::stream::iter(by_minute)
            .map(|(minute, logs)| async move {
                // The block's counter lives as long as the logs of that minute can.
                let expires_at = logs.iter().filter_map(|(_, _, log)| log.expires_at).max();
                match self.take_ids(minute, logs.len() as u64, expires_at).await {
                    Ok(first) => logs
                        .into_iter()
                        .zip(first..)
                        .map(|((index, source_id, mut log), position)| {
                            let id = id_in_block(minute, position).ok_or_else(|| {
                                StoreError::Internal(format!(
                                    "no ids left in the block of minute {minute}"
                                ))
                            });
                            let result = id.map(|id| {
                                log.id = id;
                                log
                            });
                            (index, source_id, result)
                        })
                        .collect::<Vec<_>>(),
                    Err(error) => logs
                        .into_iter()
                        .map(|(index, source_id, _)| (index, source_id, Err(error.clone())))
                        .collect(),
                }
            })
            .buffer_unordered(CONCURRENT_BLOCKS)
            .flat_map(futures::stream::iter)
            .collect()
            .await
    }

    /// Takes `count` ids of `minute`'s block; returns the position of the first.
    async fn take_ids(
        &self,
        minute: i64,
        count: u64,
        expires_at: Option<i64>,
    ) -> Result<u64, StoreError> {
        let mut request = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key(PK, AttributeValue::S(id_block_key(minute)))
            .expression_attribute_names("#next", NEXT_ID)
            .expression_attribute_values(":count", AttributeValue::N(count.to_string()))
            .return_values(ReturnValue::UpdatedNew);
        request = match expires_at {
            Some(at) => request
                .update_expression("ADD #next :count SET #expires = :expires")
                .expression_attribute_names("#expires", EXPIRES_AT)
                .expression_attribute_values(":expires", AttributeValue::N(at.to_string())),
            None => request
                .update_expression("ADD #next :count REMOVE #expires")
                .expression_attribute_names("#expires", EXPIRES_AT),
        };
        let output = request.send().await?;
        let block: IdBlockRow = output
            .attributes
            .map(serde_dynamo::from_item)
            .transpose()?
            .unwrap_or_default();
        let next = block.next;
        u64::try_from(next)
            .ok()
            .and_then(|next| next.checked_sub(count))
            .ok_or_else(|| StoreError::Corrupt(format!("id block of minute {minute} is corrupt")))
    }

    pub async fn get(&self, id: u64) -> Result<Option<SystemLog>, StoreError> {
        let output = self
            .table
            .client
            .get_item()
            .table_name(&self.table.name)
            .key(PK, AttributeValue::S(log_key(id)))
            .send()
            .await?;
        let row: Option<SystemLogRow> = output.item.map(serde_dynamo::from_item).transpose()?;
        let log = row.map(|row| row.log);
        // Past its retention it is gone, whether or not DynamoDB has deleted it yet.
        Ok(log.filter(|log| is_live(log.expires_at, self.table.lifetime.now())))
    }

    /// Every (source, instance) that has logs, ordered by source then instance, with its counts:
    /// one Query of the aggregate index (which projects the counts), at any number of logs. Each
    /// (source, instance) has a bucket per expiry instant (at most one per day of retention);
    /// buckets whose logs have expired are left out, deleted by DynamoDB or not.
    pub async fn aggregates(&self) -> Result<Vec<InstanceAggregate>, StoreError> {
        let now = self.table.lifetime.now();
        let buckets = PartitionQuery {
            direction: Direction::Ascending,
            ..PartitionQuery::newest_first(
                AGGREGATE_INDEX,
                AGGREGATE_KIND,
                INSTANCE_AGGREGATE.to_owned(),
            )
        };
        let buckets: Vec<AggregateRow> = self.table.reader().partition(&buckets).await?;
        let mut aggregates: Vec<InstanceAggregate> = Vec::new();
        for row in buckets
            .into_iter()
            .filter(|row| is_live(row.expires_at, now))
        {
            // The index keeps one (source, instance)'s buckets next to each other.
            let same = aggregates
                .last()
                .is_some_and(|last| last.source == row.source && last.instance == row.instance);
            if !same {
                aggregates.push(InstanceAggregate {
                    source: row.source.clone(),
                    instance: row.instance.clone(),
                    by_level: [0; Level::ALL.len()],
                });
            }
            if let Some(aggregate) = aggregates.last_mut() {
                for (slot, count) in aggregate.by_level.iter_mut().zip(row.by_level()) {
                    *slot += count.max(0) as u64;
                }
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
            .table
            .client
            .query()
            .table_name(&self.table.name)
            .index_name(INSTANCE_INDEX)
            .key_condition_expression("#si = :si")
            .expression_attribute_names("#si", SOURCE_INSTANCE)
            .expression_attribute_values(
                ":si",
                AttributeValue::S(instance_partition(source, instance)),
            )
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await?;
        let newest = output.items.unwrap_or_default().into_iter().next();
        let row: Option<SystemLogRow> = newest.map(serde_dynamo::from_item).transpose()?;
        Ok(row.map(|row| row.log.created))
    }

    /// Bytes stored in the table and all its indexes, as DynamoDB reports them (AWS refreshes the
    /// figures about every six hours; DynamoDB Local keeps them live).
    pub async fn size_bytes(&self) -> Result<u64, StoreError> {
        let output = self
            .table
            .client
            .describe_table()
            .table_name(&self.table.name)
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

/// How far ahead of the clock a log's time may be.
pub const FUTURE_TOLERANCE: time::Duration = time::Duration::days(1);

/// Validates and normalizes a record into the log to store (its id is given later).
pub(crate) fn prepare(
    record: SystemLogRecord,
    retention: Retention,
    now: OffsetDateTime,
) -> Result<SystemLog, WriteError> {
    let source = Source::named(&record.source).ok_or_else(|| {
        WriteError::Invalid(format!(
            "source '{}' is not one of {}",
            record.source,
            Source::names()
        ))
    })?;
    let level = match record.level.to_ascii_uppercase().as_str() {
        "WARN" => Some(Level::Warning),
        name => Level::named(name),
    }
    .ok_or_else(|| WriteError::Invalid(format!("level '{}' is not a known level", record.level)))?;
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
    // A clock a day ahead is a broken clock; such a log would sort first for years.
    if record.created > now + FUTURE_TOLERANCE {
        return Err(WriteError::Invalid(format!(
            "created {} is more than a day in the future",
            timestamp::format(record.created)
        )));
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
    // What DynamoDB cannot hold as it is (1e200, 40 levels, an empty key) is kept as text; a
    // context whose own keys include an empty one is kept whole, as its JSON text.
    let context = match crate::storable::storable_json(cap_context(context), 2) {
        serde_json::Value::String(text) => serde_json::json!({ "context_json": text }),
        context => context,
    };
    Ok(SystemLog {
        id: 0,
        expires_at: retention.expires_at(record.created),
        created: timestamp::format(record.created),
        source,
        instance,
        level,
        level_number: level.number(),
        logger_name: truncate(&record.logger_name, 256),
        message: truncate(&scrub(&record.message), MESSAGE_MAX_CHARS),
        context,
    })
}

/// One page of logs, with what the pagination headers need.
#[derive(Debug, Default)]
pub struct LogPage {
    pub logs: Vec<SystemLog>,
    pub count: u64,
    pub page: u64,
    pub pages: u64,
    /// Where the next page starts, when an index order serves this list.
    pub next_cursor: Option<String>,
}

impl SystemLogStore {
    /// One page of the logs `filter` selects, in `ordering`, and the number of all matches: runs
    /// the list's plan (crate::system_logs::plan).
    pub async fn list(
        &self,
        filter: &SystemLogFilter,
        ordering: &Ordering,
        spec: &PageSpec,
    ) -> Result<LogPage, SystemLogError> {
        if spec
            .cursor
            .as_ref()
            .is_some_and(|cursor| cursor.query != query_digest(filter, ordering))
        {
            // A cursor of another list (other filters or ordering) would start this one anywhere.
            return Err(invalid_cursor());
        }
        if filter.selects_no_time() {
            let (page, pages) = spec.resolve(0)?;
            return Ok(LogPage {
                page,
                pages,
                ..LogPage::default()
            });
        }
        let order = ordering.comparator();
        let compare = |a: &SystemLogRow, b: &SystemLogRow| order.compare(a, b);
        let now = self.table.lifetime.now();
        // Logs past their retention are gone for readers, deleted by DynamoDB yet or not.
        let keep = |row: &SystemLogRow| filter.keeps(row) && is_live(row.log.expires_at, now);
        let merge = Merge {
            order: &compare,
            keep: &keep,
        };
        let budget = self.table.budget();
        let read = ListRead {
            filter,
            ordering,
            spec,
            merge: &merge,
            budget: &budget,
        };
        let (aggregates, plan, early_rows) = match early_page(filter, ordering, spec) {
            // One round trip instead of two: the page is read while the aggregates are.
            Some(page) => {
                let plan = Plan::new(filter, ordering, &[]);
                let offset = page.saturating_sub(1).saturating_mul(spec.size);
                let (aggregates, rows) = tokio::try_join!(
                    async { Ok(self.aggregates().await?) },
                    self.page_rows(&read, &plan, offset),
                )?;
                (aggregates, plan, Some(rows))
            }
            None => {
                let aggregates = self.aggregates().await?;
                let plan = Plan::new(filter, ordering, &aggregates);
                (aggregates, plan, None)
            }
        };
        let count = self.count(&read, &plan, &aggregates).await?;
        let (page, pages) = spec.resolve(count)?;
        let rows = match early_rows {
            Some(rows) => rows,
            None => self.page_rows(&read, &plan, (page - 1) * spec.size).await?,
        };
        let next_cursor = (plan.merge && page < pages)
            .then(|| {
                rows.last()
                    .map(|row| Cursor::of(row, &query_digest(filter, ordering)).encode())
            })
            .flatten();
        Ok(LogPage {
            logs: rows.into_iter().map(|row| row.log).collect(),
            count,
            page,
            pages,
            next_cursor,
        })
    }

    /// The number of matches: from the aggregates when they know it, else by reading every
    /// candidate of the plan's partitions (see docs/data-model.md). Skipping keeps no row in
    /// memory: only one chunk per partition is held at a time.
    async fn count(
        &self,
        read: &ListRead<'_>,
        plan: &Plan,
        aggregates: &[InstanceAggregate],
    ) -> Result<u64, SystemLogError> {
        if read.filter.counts_from_aggregates() {
            return Ok(read.filter.count_from(aggregates));
        }
        let window = self
            .table
            .reader_within(read.budget)
            .window(plan.queries.clone(), read.merge, usize::MAX, 0)
            .await?;
        Ok(window.skipped as u64)
    }

    /// The rows of the page starting at match `offset`: merged from the index order, resumed
    /// after the cursor when there is one, or every match sorted here when no index order serves.
    async fn page_rows(
        &self,
        read: &ListRead<'_>,
        plan: &Plan,
        offset: u64,
    ) -> Result<Vec<SystemLogRow>, SystemLogError> {
        let size = usize::try_from(read.spec.size).unwrap_or(usize::MAX);
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let reader = self.table.reader_within(read.budget);
        if !plan.merge {
            let mut all = reader
                .window(plan.queries.clone(), read.merge, 0, MAX_SORTED + 1)
                .await?
                .items;
            if all.len() > MAX_SORTED {
                return Err(SystemLogError::TooManyToSort(MAX_SORTED));
            }
            all.sort_by(|a, b| (read.merge.order)(a, b));
            return Ok(all.into_iter().skip(offset).take(size).collect());
        }
        let window = match &read.spec.cursor {
            Some(cursor) => {
                let queries = resume(plan, read.ordering, cursor);
                // Keys DynamoDB refuses as a start can only come from a made-up cursor.
                reader
                    .window(queries, read.merge, 0, size)
                    .await
                    .map_err(|error| match error {
                        StoreError::Rejected(_) => invalid_cursor(),
                        other => other.into(),
                    })?
            }
            // Skipping reads the logs before the page. Reading only their keys would not help:
            // DynamoDB bills a read by the whole item, and resuming every partition afterwards
            // adds a Query each (measured at page 50: 71.0 RCU that way, 57.5 this way).
            None => {
                reader
                    .window(plan.queries.clone(), read.merge, offset, size)
                    .await?
            }
        };
        Ok(window.items)
    }
}

/// What one list request reads with: its parameters and how its rows merge.
struct ListRead<'a> {
    filter: &'a SystemLogFilter,
    ordering: &'a Ordering,
    spec: &'a PageSpec,
    merge: &'a Merge<'a, SystemLogRow>,
    /// What the request's reads of logs may spend, counting and page alike.
    budget: &'a ReadBudget,
}
