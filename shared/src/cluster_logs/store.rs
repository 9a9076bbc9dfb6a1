//! The cluster-logs table. See docs/data-model.md for the key schema and what each call costs.
//!
//! - Logs: key `id` (a ULID). GSIs `cluster-uuid-index` and `cluster-id-index` (partition: the
//!   cluster's UUID or id, sort: `timestamp`) serve per-cluster lists; `time-index` (partition:
//!   `time_shard`, one of [`TIME_SHARDS`], sort: `timestamp`) serves the all-clusters list as a
//!   merge of one Query per shard, so no single partition takes every write. The same three
//!   partitions sorted by `created_at` (`*-created-index`) serve lists in the order of creation.
//! - Counters: `id` = `#count#<expiry>#<shard>`, the public and internal logs of one time shard that
//!   expire at the same instant (see [`crate::retention`]), changed in the same transaction as each
//!   write and delete, and carrying that `expires_at` so DynamoDB deletes them with their logs.
//!   `counter-index` lists them, so the all-clusters `total` is one small Query at any table size.
//! - Claims: `id` = `claim#<source id>`, one per queued message (see [`crate::batch`]).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use ulid::Ulid;

use super::query::{MAX_SORTED, SortTime};
use super::{ClusterLog, ClusterLogError, ClusterLogFilter, ClusterScope, PageRequest, Visibility};
use crate::batch::{
    Applied, CLAIM, CountChange, CountedAction, Entry, OnceWriter, Outcome, Storable, apply_counted,
};
use crate::dynamo::{
    Filter, Item, Merge, NewestFirst, PartitionQuery, SortRange, StoreError, Window, read_window,
};
use crate::retention::{EXPIRES_AT, Lifetime, bucket_name, item_is_live};

pub const CLUSTER_UUID_INDEX: &str = "cluster-uuid-index";
pub const CLUSTER_ID_INDEX: &str = "cluster-id-index";
pub const TIME_INDEX: &str = "time-index";
/// The same three partitions sorted by `created_at`, for lists in the order of creation.
pub const CLUSTER_UUID_CREATED_INDEX: &str = "cluster-uuid-created-index";
pub const CLUSTER_ID_CREATED_INDEX: &str = "cluster-id-created-index";
pub const TIME_CREATED_INDEX: &str = "time-created-index";
pub const COUNTER_INDEX: &str = "counter-index";
const COUNTER_KIND: &str = "counter_kind";
const COUNTER: &str = "count";
/// Partitions of `time-index`: spreads the all-logs index over this many partition keys.
pub const TIME_SHARDS: u8 = 4;
const TIME_SHARD: &str = "time_shard";
const COUNTER_PREFIX: &str = "#count#";
const PUBLIC_COUNT: &str = "public_logs";
const INTERNAL_COUNT: &str = "internal_logs";

/// The indexes a list reads, by the time field it is read in the order of.
struct ListIndexes {
    by_uuid: &'static str,
    by_id: &'static str,
    by_time: &'static str,
}

impl ListIndexes {
    fn sorted_by(sort: SortTime) -> Self {
        match sort {
            SortTime::Timestamp => ListIndexes {
                by_uuid: CLUSTER_UUID_INDEX,
                by_id: CLUSTER_ID_INDEX,
                by_time: TIME_INDEX,
            },
            SortTime::CreatedAt => ListIndexes {
                by_uuid: CLUSTER_UUID_CREATED_INDEX,
                by_id: CLUSTER_ID_CREATED_INDEX,
                by_time: TIME_CREATED_INDEX,
            },
        }
    }
}

/// How a list reads its index partitions: which way, over which range of their sort key.
struct Reading {
    forward: bool,
    range: SortRange,
}

/// What [`ClusterLogStore::create`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    /// A log with this id was stored before: nothing changed.
    AlreadyStored,
}

/// One page of a list, with the number of all matches.
#[derive(Debug, Default)]
pub struct ListPage {
    pub items: Vec<ClusterLog>,
    pub total: u64,
}

#[derive(Debug, Clone)]
pub struct ClusterLogStore {
    client: Client,
    table: String,
    lifetime: Lifetime,
}

/// A cluster log on its way into the table, with its expiry.
#[derive(Debug, Clone)]
pub struct StoredClusterLog {
    pub log: ClusterLog,
    expires_at: Option<i64>,
}

impl Storable for StoredClusterLog {
    fn id(&self) -> String {
        self.log.id.clone()
    }

    fn adopt(&mut self, id: &str) -> Result<(), StoreError> {
        id.clone_into(&mut self.log.id);
        Ok(())
    }

    fn item(&self) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(&self.log)?;
        item.insert(
            TIME_SHARD.to_owned(),
            AttributeValue::S(time_shard(&self.log.id)),
        );
        if let Some(at) = self.expires_at {
            item.insert(EXPIRES_AT.to_owned(), AttributeValue::N(at.to_string()));
        }
        Ok(item)
    }

    fn count(&self) -> CountChange {
        count_change(&self.log.id, self.log.internal_only, self.expires_at)
    }

    fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }
}

/// The counter a log is counted in: its time shard's, among the logs expiring when it does.
fn count_change(id: &str, internal: bool, expires_at: Option<i64>) -> CountChange {
    let mut fields = vec![(COUNTER_KIND, AttributeValue::S(COUNTER.into()))];
    if let Some(at) = expires_at {
        fields.push((EXPIRES_AT, AttributeValue::N(at.to_string())));
    }
    CountChange {
        bucket: format!(
            "{COUNTER_PREFIX}{}#{}",
            bucket_name(expires_at),
            time_shard(id)
        ),
        fields,
        attribute: if internal {
            INTERNAL_COUNT
        } else {
            PUBLIC_COUNT
        }
        .to_owned(),
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for StoreError {
    fn from(error: aws_sdk_dynamodb::error::BuildError) -> Self {
        StoreError::Rejected(error.to_string())
    }
}

impl ClusterLogStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            lifetime: Lifetime::default(),
        }
    }

    /// Keeps logs for `lifetime.retention`; tests also move its clock to see what a later day sees.
    pub fn with_lifetime(mut self, lifetime: Lifetime) -> Self {
        self.lifetime = lifetime;
        self
    }

    pub fn lifetime(&self) -> Lifetime {
        self.lifetime
    }

    /// The log with its expiry under this store's retention (from its `timestamp`, else now).
    pub fn prepare(&self, log: ClusterLog) -> StoredClusterLog {
        let created =
            crate::timestamp::parse(&log.timestamp).unwrap_or_else(|_| self.lifetime.now());
        StoredClusterLog {
            expires_at: self.lifetime.expires_at(created),
            log,
        }
    }

    /// Stores queued logs once each and counts them once (see [`crate::batch`]); `source_id` is
    /// the record's id at its source. Outcomes are in input order.
    pub async fn write(
        &self,
        entries: Vec<(String, ClusterLog)>,
    ) -> Vec<Outcome<StoredClusterLog>> {
        let entries = entries
            .into_iter()
            .map(|(source_id, log)| Entry {
                source_id,
                log: self.prepare(log),
            })
            .collect();
        let writer = OnceWriter {
            client: &self.client,
            table: &self.table,
            key: "id",
        };
        Box::pin(writer.write(entries, self.lifetime.now())).await
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Stores a new log and counts it, atomically. A log whose id is already stored changes
    /// nothing: neither the log nor the counters.
    pub async fn create(&self, log: &ClusterLog) -> Result<Created, StoreError> {
        let stored = self.prepare(log.clone());
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(stored.item()?))
            .condition_expression("attribute_not_exists(id)")
            .build()?;
        let action = CountedAction {
            action: TransactWriteItem::builder().put(put).build(),
            also: None,
            count: stored.count(),
            delta: 1,
        };
        match apply_counted(&self.client, &self.table, "id", vec![action])
            .await
            .pop()
        {
            Some(Applied::Done) => Ok(Created::New),
            Some(Applied::ConditionFailed(_)) => Ok(Created::AlreadyStored),
            Some(Applied::Failed(error)) => Err(error),
            None => Err(StoreError::Rejected("the write was not applied".into())),
        }
    }

    /// The stored item of a live log, if any.
    async fn live_item(&self, id: &str) -> Result<Option<Item>, StoreError> {
        // Only ULIDs are log ids; anything else (counter and claim keys among them) is not found.
        let Ok(id) = Ulid::from_string(id) else {
            return Ok(None);
        };
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", AttributeValue::S(id.to_string()))
            .consistent_read(true)
            .send()
            .await?;
        // Past its retention it is gone, whether or not DynamoDB has deleted it yet.
        Ok(output
            .item
            .filter(|item| item_is_live(item, self.lifetime.now())))
    }

    /// The log with this id, if it exists and `visibility` may see it.
    pub async fn get(
        &self,
        id: &str,
        visibility: Visibility,
    ) -> Result<Option<ClusterLog>, StoreError> {
        let Some(item) = self.live_item(id).await? else {
            return Ok(None);
        };
        let log: ClusterLog = serde_dynamo::from_item(item)?;
        Ok(visibility.allows(&log).then_some(log))
    }

    /// Deletes a log `visibility` may see, with its claim, and uncounts it, atomically. False
    /// when there was none.
    pub async fn delete(&self, id: &str, visibility: Visibility) -> Result<bool, StoreError> {
        let Some(item) = self.live_item(id).await? else {
            return Ok(false);
        };
        let expires_at = item
            .get(EXPIRES_AT)
            .map(|_| crate::dynamo::number(&item, EXPIRES_AT));
        let claim = item.get(CLAIM).cloned();
        let log: ClusterLog = serde_dynamo::from_item(item)?;
        if !visibility.allows(&log) {
            return Ok(false);
        }
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("id", AttributeValue::S(log.id.clone()))
            .condition_expression("attribute_exists(id)")
            .build()?;
        let claim = match claim {
            Some(claim) => Some(
                Delete::builder()
                    .table_name(&self.table)
                    .key("id", claim)
                    .build()?,
            ),
            None => None,
        };
        let action = CountedAction {
            action: TransactWriteItem::builder().delete(delete).build(),
            also: claim.map(|claim| TransactWriteItem::builder().delete(claim).build()),
            count: count_change(&log.id, log.internal_only, expires_at),
            delta: -1,
        };
        match apply_counted(&self.client, &self.table, "id", vec![action])
            .await
            .pop()
        {
            Some(Applied::Done) => Ok(true),
            // Deleted by a concurrent request between our read and our write: gone either way.
            Some(Applied::ConditionFailed(_)) => Ok(false),
            Some(Applied::Failed(error)) => Err(error),
            None => Err(StoreError::Rejected("the delete was not applied".into())),
        }
    }

    /// One page of the logs `filter` selects, newest first, and the number of all matches.
    pub async fn list(
        &self,
        filter: &ClusterLogFilter,
        page: &PageRequest,
    ) -> Result<ListPage, ClusterLogError> {
        let visibility = match filter.visibility {
            Visibility::PublicOnly => Some(Filter::equals(
                "internal",
                "internal_only",
                AttributeValue::Bool(false),
            )),
            Visibility::IncludingInternal => None,
        };
        // What DynamoDB can check of the search goes into every Query's FilterExpression (bound
        // names and values only); the whole search is still applied to what comes back.
        let visibility = both(
            visibility,
            filter.search.as_ref().and_then(|search| search.filter()),
        );
        // `timestamp` and `created_at` each have their indexes: an order on either reads them
        // forwards or backwards, and a range of it in the search becomes the key condition, so
        // only that range is read. Other orders read by `timestamp` and sort in memory.
        let index_order = match &filter.order {
            None => Some((SortTime::Timestamp, false)),
            Some(order) => order.index_order(),
        };
        let (sort, forward) = index_order.unwrap_or((SortTime::Timestamp, false));
        let indexes = ListIndexes::sorted_by(sort);
        let newest_first = NewestFirst {
            sort_attribute: sort.attribute(),
            tie_breaker: "id",
        };
        let (lower, upper) = filter
            .search
            .as_ref()
            .map_or((None, None), |search| search.range(sort.attribute()));
        if lower.zip(upper).is_some_and(|(lower, upper)| lower > upper) {
            // An empty range (DynamoDB would reject it as a BETWEEN): nothing matches.
            return Ok(ListPage::default());
        }
        let read = Reading {
            forward,
            range: SortRange {
                attribute: sort.attribute(),
                lower: lower.map(str::to_owned),
                upper: upper.map(str::to_owned),
            },
        };
        let (queries, known_total) = match &filter.scope {
            ClusterScope::All => {
                let queries = (0..TIME_SHARDS)
                    .map(|shard| {
                        self.partition(
                            Some(indexes.by_time),
                            TIME_SHARD,
                            shard.to_string(),
                            visibility.clone(),
                            &read,
                        )
                    })
                    .collect();
                // With a search the counters do not know the total: the matches are counted
                // by reading.
                let total = match filter.search {
                    None => Some(self.count_all(filter.visibility).await?),
                    Some(_) => None,
                };
                (queries, total)
            }
            ClusterScope::Cluster {
                uuid: Some(uuid),
                id,
            } => {
                let same_id = id.as_ref().map(|id| {
                    Filter::equals("cluster_id", "cluster_id", AttributeValue::S(id.clone()))
                });
                let filter = both(same_id, visibility);
                (
                    vec![self.partition(
                        Some(indexes.by_uuid),
                        "cluster_uuid",
                        uuid.clone(),
                        filter,
                        &read,
                    )],
                    None,
                )
            }
            ClusterScope::Cluster {
                uuid: None,
                id: Some(id),
            } => (
                vec![self.partition(
                    Some(indexes.by_id),
                    "cluster_id",
                    id.clone(),
                    visibility,
                    &read,
                )],
                None,
            ),
            ClusterScope::Cluster {
                uuid: None,
                id: None,
            } => return Ok(ListPage::default()),
        };
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let nothing_to_read =
            page.size == 0 || known_total.is_some_and(|total| page.offset() >= total);
        let now = self.lifetime.now();
        let order = |a: &Item, b: &Item| {
            let order = newest_first.compare(a, b);
            if read.forward { order.reverse() } else { order }
        };
        // Logs past their retention are gone, deleted by DynamoDB yet or not; the search is applied
        // to each log as it is read.
        let keep = |item: &Item| {
            item_is_live(item, now)
                && filter.search.as_ref().is_none_or(|search| {
                    serde_dynamo::from_item::<_, ClusterLog>(item.clone())
                        .is_ok_and(|log| search.matches(&log))
                })
        };
        let merge = Merge {
            order: &order,
            keep: &keep,
        };
        if let Some(order) = filter.order.as_ref().filter(|_| index_order.is_none()) {
            // Orders no index serves: read every match (up to the cap) and sort them here.
            let all = read_window(&self.client, queries, &merge, 0, MAX_SORTED + 1).await?;
            if all.items.len() > MAX_SORTED {
                return Err(ClusterLogError::BadRequest(format!(
                    "More than {MAX_SORTED} logs match; narrow the search to order them by anything but 'timestamp' or 'created_at'"
                )));
            }
            let mut logs = all
                .items
                .into_iter()
                .map(serde_dynamo::from_item)
                .collect::<Result<Vec<ClusterLog>, _>>()
                .map_err(StoreError::from)?;
            logs.sort_by(|a, b| order.compare(a, b));
            let total = logs.len() as u64;
            let items = logs
                .into_iter()
                .skip(offset)
                .take(page.size as usize)
                .collect();
            return Ok(ListPage { items, total });
        }
        let window = if nothing_to_read {
            Window::default()
        } else {
            read_window(
                &self.client,
                queries.clone(),
                &merge,
                offset,
                page.size as usize,
            )
            .await?
        };
        let items = window
            .items
            .into_iter()
            .map(serde_dynamo::from_item)
            .collect::<Result<Vec<ClusterLog>, _>>()
            .map_err(StoreError::from)?;
        let total = match known_total {
            Some(total) => total,
            // Read to the end already: the matches are what we skipped and what we kept.
            None if window.exhausted && !nothing_to_read => (window.skipped + items.len()) as u64,
            None if filter.search.is_some() => {
                read_window(&self.client, queries, &merge, usize::MAX, 0)
                    .await?
                    .skipped as u64
            }
            None => {
                let mut total = 0;
                for query in &queries {
                    total += query.count(&self.client).await?;
                }
                total
            }
        };
        Ok(ListPage { items, total })
    }

    fn partition(
        &self,
        index: Option<&'static str>,
        attribute: &'static str,
        value: String,
        filter: Option<Filter>,
        read: &Reading,
    ) -> PartitionQuery {
        PartitionQuery {
            filter,
            forward: read.forward,
            sort_range: Some(read.range.clone()),
            ..PartitionQuery::newest_first(&self.table, index, attribute, value)
        }
    }

    /// All live logs `visibility` may see, from the counters: one small Query of `counter-index`
    /// (a handful of counters per expiry period), at any number of logs.
    async fn count_all(&self, visibility: Visibility) -> Result<u64, StoreError> {
        let now = self.lifetime.now();
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(COUNTER_INDEX)
                .key_condition_expression("#kind = :kind")
                .expression_attribute_names("#kind", COUNTER_KIND)
                .expression_attribute_values(":kind", AttributeValue::S(COUNTER.into()))
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            for counter in output.items.unwrap_or_default() {
                if !item_is_live(&counter, now) {
                    continue;
                }
                total += count_of(&counter, PUBLIC_COUNT);
                if visibility == Visibility::IncludingInternal {
                    total += count_of(&counter, INTERNAL_COUNT);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }
}

fn both(first: Option<Filter>, second: Option<Filter>) -> Option<Filter> {
    match (first, second) {
        (Some(first), Some(second)) => Some(first.and(second)),
        (first, second) => first.or(second),
    }
}

fn count_of(item: &Item, attribute: &str) -> u64 {
    match item.get(attribute) {
        Some(AttributeValue::N(number)) => number.parse::<i64>().map_or(0, |n| n.max(0) as u64),
        _ => 0,
    }
}

/// The time shard of a log: from the random part of its ULID, so shards fill evenly.
fn time_shard(id: &str) -> String {
    let random = Ulid::from_string(id).map(|ulid| ulid.random()).unwrap_or(0);
    (random % u128::from(TIME_SHARDS)).to_string()
}
