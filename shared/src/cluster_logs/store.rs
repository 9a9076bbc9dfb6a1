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
//!   Per-cluster counters (`#ccount#…`, [`super::table::ClusterCounted`]) change in the same
//!   transactions, so a cluster's `total` is one or two small Queries at any cluster size.
//! - Claims: `id` = `claim#<source id>`, one per queued message (see [`crate::batch`]).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use ulid::Ulid;

use super::plan::{Arrangement, ListPlan, SORTED_READ, Total};
use super::query::{ClusterLogOrder, MAX_SORTED};
use super::registry::ClusterRegistry;
use super::table::{
    COUNTER, COUNTER_INDEX, COUNTER_KIND, ClusterCounted, ClusterLogRow, CounterFields, CounterRow,
    ID, INTERNAL_COUNT, PUBLIC_COUNT, counter_key,
};
use super::{ClusterLog, ClusterLogError, ClusterLogFilter, PageRequest, Visibility};
use crate::batch::{
    Applied, CountChange, CountedAction, Entry, OnceWriter, Outcome, Storable, apply_counted,
};
use crate::dynamo::{Item, Merge, ReadBudget, StoreError, Table, Window};
use crate::partition::{Direction, PartitionQuery};
use crate::retention::{Lifetime, bucket_name, is_live};

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
    table: Table,
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
        Ok(serde_dynamo::to_item(ClusterLogRow::new(
            self.log.clone(),
            self.expires_at,
        ))?)
    }

    fn counts(&self) -> Result<Vec<CountChange>, StoreError> {
        count_changes(&self.log, self.expires_at)
    }

    fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }
}

/// The counters a log is counted in, among the logs expiring when it does: its time shard's, and
/// its cluster's (by UUID, by id, and by id alone when it names no UUID).
fn count_changes(
    log: &ClusterLog,
    expires_at: Option<i64>,
) -> Result<Vec<CountChange>, StoreError> {
    let attribute = if log.internal_only {
        INTERNAL_COUNT
    } else {
        PUBLIC_COUNT
    };
    let bucket = bucket_name(expires_at);
    let mut changes = vec![CountChange::new(
        counter_key(&log.id, &bucket),
        &CounterFields::new(expires_at),
        attribute,
    )?];
    for counted in ClusterCounted::of(log) {
        changes.push(CountChange::new(
            counted.key(&bucket),
            &CounterFields::of_cluster(&counted, expires_at),
            attribute,
        )?);
    }
    Ok(changes)
}

impl ClusterLogStore {
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

    /// The log with its expiry under this store's retention (from its `timestamp`, else now).
    pub fn prepare(&self, log: ClusterLog) -> StoredClusterLog {
        let created =
            crate::timestamp::parse(&log.timestamp).unwrap_or_else(|_| self.table.lifetime.now());
        StoredClusterLog {
            expires_at: self.table.lifetime.expires_at(created),
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
            client: &self.table.client,
            table: &self.table.name,
            key: ID,
        };
        Box::pin(writer.write(entries, self.table.lifetime.now())).await
    }

    pub fn table(&self) -> &str {
        &self.table.name
    }

    /// The cluster registry, kept in the same table.
    pub fn registry(&self) -> ClusterRegistry<'_> {
        ClusterRegistry { table: &self.table }
    }

    pub fn client(&self) -> &Client {
        &self.table.client
    }

    /// Stores a new log and counts it, atomically. A log whose id is already stored changes
    /// nothing: neither the log nor the counters.
    pub async fn create(&self, log: &ClusterLog) -> Result<Created, StoreError> {
        let stored = self.prepare(log.clone());
        let put = Put::builder()
            .table_name(&self.table.name)
            .set_item(Some(stored.item()?))
            .condition_expression(format!("attribute_not_exists({ID})"))
            .build()?;
        let action = CountedAction {
            action: TransactWriteItem::builder().put(put).build(),
            also: None,
            counts: stored.counts()?,
            delta: 1,
        };
        match apply_counted(&self.table.client, &self.table.name, ID, vec![action])
            .await
            .pop()
        {
            Some(Applied::Done) => Ok(Created::New),
            Some(Applied::ConditionFailed(_)) => Ok(Created::AlreadyStored),
            Some(Applied::Failed(error)) => Err(error),
            None => Err(StoreError::Internal("the write was not applied".into())),
        }
    }

    /// The stored row of a live log, if any.
    async fn live_row(&self, id: &str) -> Result<Option<ClusterLogRow>, StoreError> {
        // Only ULIDs are log ids; anything else (counter and claim keys among them) is not found.
        let Ok(id) = Ulid::from_string(id) else {
            return Ok(None);
        };
        let output = self
            .table
            .client
            .get_item()
            .table_name(&self.table.name)
            .key(ID, AttributeValue::S(id.to_string()))
            .consistent_read(true)
            .send()
            .await?;
        let row: Option<ClusterLogRow> = output.item.map(serde_dynamo::from_item).transpose()?;
        // Past its retention it is gone, whether or not DynamoDB has deleted it yet.
        Ok(row.filter(|row| is_live(row.expires_at, self.table.lifetime.now())))
    }

    /// The log with this id, if it exists and `visibility` may see it.
    pub async fn get(
        &self,
        id: &str,
        visibility: Visibility,
    ) -> Result<Option<ClusterLog>, StoreError> {
        let row = self.live_row(id).await?;
        Ok(row.map(|row| row.log).filter(|log| visibility.allows(log)))
    }

    /// Deletes a log `visibility` may see, with its claim, and uncounts it, atomically. False
    /// when there was none.
    pub async fn delete(&self, id: &str, visibility: Visibility) -> Result<bool, StoreError> {
        let Some(row) = self.live_row(id).await? else {
            return Ok(false);
        };
        if !visibility.allows(&row.log) {
            return Ok(false);
        }
        let delete = Delete::builder()
            .table_name(&self.table.name)
            .key(ID, AttributeValue::S(row.log.id.clone()))
            .condition_expression(format!("attribute_exists({ID})"))
            .build()?;
        let claim = match &row.claim {
            Some(claim) => Some(
                Delete::builder()
                    .table_name(&self.table.name)
                    .key(ID, AttributeValue::S(claim.clone()))
                    .build()?,
            ),
            None => None,
        };
        let action = CountedAction {
            action: TransactWriteItem::builder().delete(delete).build(),
            also: claim.map(|claim| TransactWriteItem::builder().delete(claim).build()),
            counts: count_changes(&row.log, row.expires_at)?,
            delta: -1,
        };
        match apply_counted(&self.table.client, &self.table.name, ID, vec![action])
            .await
            .pop()
        {
            Some(Applied::Done) => Ok(true),
            // Deleted by a concurrent request between our read and our write: gone either way.
            Some(Applied::ConditionFailed(_)) => Ok(false),
            Some(Applied::Failed(error)) => Err(error),
            None => Err(StoreError::Internal("the delete was not applied".into())),
        }
    }

    /// One page of the logs `filter` selects, and the number of all matches: runs the list's plan,
    /// within a read budget of its own.
    pub async fn list(
        &self,
        filter: &ClusterLogFilter,
        page: &PageRequest,
    ) -> Result<ListPage, ClusterLogError> {
        self.list_within(filter, page, &self.read_budget()).await
    }

    /// A fresh read budget for one request.
    pub fn read_budget(&self) -> ReadBudget {
        self.table.budget()
    }

    /// [`Self::list`] spending from `budget`, which a request's other reads of logs share.
    pub async fn list_within(
        &self,
        filter: &ClusterLogFilter,
        page: &PageRequest,
        budget: &ReadBudget,
    ) -> Result<ListPage, ClusterLogError> {
        let plan = ListPlan::new(filter, page);
        if plan.total == Total::Nothing {
            return Ok(ListPage::default());
        }
        let now = self.table.lifetime.now();
        let order = |a: &ClusterLogRow, b: &ClusterLogRow| plan.compare(&a.log, &b.log);
        // Logs past their retention are gone, deleted by DynamoDB yet or not; the search is applied
        // to each log as it is read.
        let keep = |row: &ClusterLogRow| is_live(row.expires_at, now) && plan.matches(&row.log);
        let merge = Merge {
            order: &order,
            keep: &keep,
        };
        match &plan.arrangement {
            Arrangement::Sorted(order) => self.sorted(&plan, &merge, order, budget).await,
            Arrangement::Merged => self.merged(&plan, &merge, budget).await,
        }
    }

    /// The total the counters give, when they give it (`None`: it is counted by reading).
    async fn counted_total(&self, total: &Total) -> Result<Option<u64>, StoreError> {
        Ok(match total {
            Total::Counters(visibility) => Some(self.count_all(*visibility).await?),
            Total::ClusterCounters(counted, visibility) => {
                Some(self.count_cluster(counted, *visibility).await?)
            }
            Total::Nothing | Total::Matches => None,
        })
    }

    /// A page of a merge of partitions already in the list's order, and its total.
    async fn merged(
        &self,
        plan: &ListPlan<'_>,
        merge: &Merge<'_, ClusterLogRow>,
        budget: &ReadBudget,
    ) -> Result<ListPage, ClusterLogError> {
        let page = || async move {
            self.table
                .reader_within(budget)
                .window(plan.queries.clone(), merge, plan.offset, plan.size)
                .await
        };
        let (known_total, window, reads_page) = if plan.reads_page_with_count() {
            let (total, window) = futures::try_join!(self.counted_total(&plan.total), page())?;
            (total, window, true)
        } else {
            let total = self.counted_total(&plan.total).await?;
            let reads_page = plan.reads_page(total);
            let window = if reads_page {
                page().await?
            } else {
                Window::default()
            };
            (total, window, reads_page)
        };
        let items: Vec<ClusterLog> = window
            .items
            .into_iter()
            .map(|row| plan.complete(row.log))
            .collect();
        let total = match known_total {
            Some(total) => total,
            // Read to the end already: the matches are what we skipped and what we kept.
            None if window.exhausted && reads_page => (window.skipped + items.len()) as u64,
            // A search: its matches are counted by reading them.
            None => {
                self.table
                    .reader_within(budget)
                    .window(plan.queries.clone(), merge, usize::MAX, 0)
                    .await?
                    .skipped as u64
            }
        };
        Ok(ListPage { items, total })
    }

    /// Every match (up to the cap) read and sorted here: for orders no index serves.
    async fn sorted(
        &self,
        plan: &ListPlan<'_>,
        merge: &Merge<'_, ClusterLogRow>,
        order: &ClusterLogOrder,
        budget: &ReadBudget,
    ) -> Result<ListPage, ClusterLogError> {
        let all = self
            .table
            .reader_within(budget)
            .window(plan.queries.clone(), merge, 0, SORTED_READ)
            .await?;
        if all.items.len() > MAX_SORTED {
            return Err(ClusterLogError::BadRequest(format!(
                "More than {MAX_SORTED} logs match; narrow the search to order them by anything but 'timestamp' or 'created_at'"
            )));
        }
        let mut logs: Vec<ClusterLog> = all
            .items
            .into_iter()
            .map(|row| plan.complete(row.log))
            .collect();
        logs.sort_by(|a, b| order.compare(a, b));
        let total = logs.len() as u64;
        let items = logs.into_iter().skip(plan.offset).take(plan.size).collect();
        Ok(ListPage { items, total })
    }

    /// All live logs `visibility` may see, from the counters: one small Query of `counter-index`
    /// (a handful of counters per expiry period), at any number of logs.
    async fn count_all(&self, visibility: Visibility) -> Result<u64, StoreError> {
        self.count_kind(COUNTER.to_owned(), visibility).await
    }

    /// A cluster's live logs `visibility` may see, from its counters: one small Query of
    /// `counter-index` per kind counted (one or two), whatever the cluster holds.
    async fn count_cluster(
        &self,
        counted: &[ClusterCounted],
        visibility: Visibility,
    ) -> Result<u64, StoreError> {
        let counts = counted
            .iter()
            .map(|counted| self.count_kind(counted.kind(), visibility));
        Ok(futures::future::try_join_all(counts)
            .await?
            .into_iter()
            .sum())
    }

    /// The live logs `visibility` may see in the counters of `counter-index` partition `kind`.
    async fn count_kind(&self, kind: String, visibility: Visibility) -> Result<u64, StoreError> {
        let now = self.table.lifetime.now();
        let counters = PartitionQuery {
            direction: Direction::Ascending,
            ..PartitionQuery::newest_first(COUNTER_INDEX, COUNTER_KIND, kind)
        };
        let counters: Vec<CounterRow> = self.table.reader().partition(&counters).await?;
        let live = counters.iter().filter(|c| is_live(c.expires_at, now));
        Ok(live
            .map(|counter| {
                let internal = match visibility {
                    Visibility::IncludingInternal => counter.internal_logs.max(0),
                    Visibility::PublicOnly => 0,
                };
                (counter.public_logs.max(0) + internal) as u64
            })
            .sum())
    }
}
