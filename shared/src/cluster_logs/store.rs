//! The cluster-logs table. See docs/data-model.md for the key schema and what each call costs.
//!
//! - Logs: key `id` (a ULID). GSIs `cluster-uuid-index` and `cluster-id-index` (partition: the
//!   cluster's UUID or id, sort: `timestamp`) serve per-cluster lists; `time-index` (partition:
//!   `time_shard`, one of [`TIME_SHARDS`], sort: `timestamp`) serves the all-clusters list as a
//!   merge of one Query per shard, so no single partition takes every write.
//! - Counters: one item per time shard (`id` = `#count#<shard>`), updated in the same transaction
//!   as each write, so the all-clusters `total` costs a handful of reads at any table size.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use ulid::Ulid;

use super::{ClusterLog, ClusterLogFilter, ClusterScope, PageRequest, Visibility};
use crate::dynamo::{
    Filter, Item, Merge, NewestFirst, PartitionQuery, StoreError, Window, read_window,
};

pub const CLUSTER_UUID_INDEX: &str = "cluster-uuid-index";
pub const CLUSTER_ID_INDEX: &str = "cluster-id-index";
pub const TIME_INDEX: &str = "time-index";
/// Partitions of `time-index`: spreads the all-logs index over this many partition keys.
pub const TIME_SHARDS: u8 = 4;
const TIME_SHARD: &str = "time_shard";
const COUNTER_PREFIX: &str = "#count#";
const PUBLIC_COUNT: &str = "public_logs";
const INTERNAL_COUNT: &str = "internal_logs";
const ORDER: NewestFirst = NewestFirst {
    sort_attribute: "timestamp",
    tie_breaker: "id",
};

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
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Stores a new log and counts it, atomically. A log whose id is already stored (a redelivered
    /// message) changes nothing: neither the log nor the counters.
    pub async fn create(&self, log: &ClusterLog) -> Result<Created, StoreError> {
        let shard = time_shard(&log.id);
        let mut item: Item = serde_dynamo::to_item(log)?;
        item.insert(TIME_SHARD.to_owned(), AttributeValue::S(shard.clone()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .build()?;
        let outcome = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(self.count_change(&shard, log.internal_only, 1)?)
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(Created::New),
            Err(error) if crate::dynamo::lost_condition(&error) => Ok(Created::AlreadyStored),
            Err(error) => Err(error.into()),
        }
    }

    /// The log with this id, if it exists and `visibility` may see it.
    pub async fn get(
        &self,
        id: &str,
        visibility: Visibility,
    ) -> Result<Option<ClusterLog>, StoreError> {
        // Only ULIDs are log ids; anything else (counter keys among them) is simply not found.
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
        let Some(item) = output.item else {
            return Ok(None);
        };
        let log: ClusterLog = serde_dynamo::from_item(item)?;
        Ok(visibility.allows(&log).then_some(log))
    }

    /// Deletes a log `visibility` may see and uncounts it, atomically. False when there was none.
    pub async fn delete(&self, id: &str, visibility: Visibility) -> Result<bool, StoreError> {
        let Some(log) = self.get(id, visibility).await? else {
            return Ok(false);
        };
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("id", AttributeValue::S(log.id.clone()))
            .condition_expression("attribute_exists(id)")
            .build()?;
        let outcome = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(self.count_change(&time_shard(&log.id), log.internal_only, -1)?)
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(true),
            // Deleted by a concurrent request between our read and our write: it is gone either way.
            Err(error) if crate::dynamo::lost_condition(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// One page of the logs `filter` selects, newest first, and the number of all matches.
    pub async fn list(
        &self,
        filter: &ClusterLogFilter,
        page: &PageRequest,
    ) -> Result<ListPage, StoreError> {
        let visibility = match filter.visibility {
            Visibility::PublicOnly => Some(Filter::equals(
                "internal",
                "internal_only",
                AttributeValue::Bool(false),
            )),
            Visibility::IncludingInternal => None,
        };
        let (queries, known_total) = match &filter.scope {
            ClusterScope::All => {
                let queries = (0..TIME_SHARDS)
                    .map(|shard| {
                        self.partition(
                            Some(TIME_INDEX),
                            TIME_SHARD,
                            shard.to_string(),
                            visibility.clone(),
                        )
                    })
                    .collect();
                (queries, Some(self.count_all(filter.visibility).await?))
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
                        Some(CLUSTER_UUID_INDEX),
                        "cluster_uuid",
                        uuid.clone(),
                        filter,
                    )],
                    None,
                )
            }
            ClusterScope::Cluster {
                uuid: None,
                id: Some(id),
            } => (
                vec![self.partition(Some(CLUSTER_ID_INDEX), "cluster_id", id.clone(), visibility)],
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
        let window = if nothing_to_read {
            Window::default()
        } else {
            let merge = Merge {
                order: &|a, b| ORDER.compare(a, b),
                keep: &|_| true,
            };
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
            .collect::<Result<Vec<ClusterLog>, _>>()?;
        let total = match known_total {
            Some(total) => total,
            // Read to the end already: the matches are what we skipped and what we kept.
            None if window.exhausted => (window.skipped + items.len()) as u64,
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
    ) -> PartitionQuery {
        PartitionQuery {
            filter,
            ..PartitionQuery::newest_first(&self.table, index, attribute, value)
        }
    }

    fn count_change(
        &self,
        shard: &str,
        internal: bool,
        delta: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("id", AttributeValue::S(format!("{COUNTER_PREFIX}{shard}")))
            .update_expression("ADD #count :delta")
            .expression_attribute_names(
                "#count",
                if internal {
                    INTERNAL_COUNT
                } else {
                    PUBLIC_COUNT
                },
            )
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// All logs `visibility` may see, from the shard counters: TIME_SHARDS small reads.
    async fn count_all(&self, visibility: Visibility) -> Result<u64, StoreError> {
        let keys: Vec<Item> = (0..TIME_SHARDS)
            .map(|shard| {
                Item::from([(
                    "id".to_owned(),
                    AttributeValue::S(format!("{COUNTER_PREFIX}{shard}")),
                )])
            })
            .collect();
        let mut pending = Some(KeysAndAttributes::builder().set_keys(Some(keys)).build()?);
        let mut total = 0u64;
        // BatchGetItem may hand back unprocessed keys under load; ask again for those only.
        for _attempt in 0..5 {
            let Some(request) = pending.take() else { break };
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await?;
            for counter in output
                .responses
                .and_then(|mut tables| tables.remove(&self.table))
                .unwrap_or_default()
            {
                total += count_of(&counter, PUBLIC_COUNT);
                if visibility == Visibility::IncludingInternal {
                    total += count_of(&counter, INTERNAL_COUNT);
                }
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.table))
                .filter(|request| !request.keys().is_empty());
        }
        if pending.is_some() {
            return Err(StoreError::Unavailable(
                "counters were not read after retries".to_owned(),
            ));
        }
        Ok(total)
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
