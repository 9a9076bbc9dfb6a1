//! Storing a batch of logs from an at-least-once source (SQS, CloudWatch Logs) so that each record
//! is stored once and counted once, however often it is delivered, retried or cut short.
//!
//! BatchWriteItem stores 25 items per request but cannot check a condition, so idempotency lives in
//! a claim item per record, keyed by the source's own id (SQS message id, CloudWatch event id):
//!
//! 1. **Claim and count**: transactions of up to 100 items put each record's claim
//!    (`claim#<source id>`, holding the log's id; condition: no claim yet) and add the new claims
//!    to their count buckets. A claim and its count exist together or not at all. A claim that
//!    exists already (a redelivery, or a concurrent delivery) is reported back with the id it holds;
//!    that record is neither claimed nor counted again.
//! 2. **Store**: BatchWriteItem, 25 logs per request, unprocessed items retried with backoff, for new
//!    claims and for records claimed before alike, under the claimed id. The put of an earlier
//!    delivery's log is the same item again, so a delivery cut short between the steps is finished
//!    by the next, and a record is acknowledged only once this delivery has seen its log stored.
//!
//! 3. **Undo what was refused**: a log DynamoDB refuses for good (a batch it refuses is put again
//!    one item at a time, so only the refused fail) has its claim deleted and its count taken back
//!    in one transaction, so counts equal stored logs whatever DynamoDB refuses. Before step 1,
//!    every item is checked against DynamoDB's limits (crate::storable): one that would be refused
//!    is never claimed.
//!
//! Between the steps a log is counted a moment before it is visible; a delivery that failed there
//! is redelivered and completes it. Deleting a log (the per-source cap, the API) deletes its claim
//! in the same transaction, so a later redelivery stores and counts it afresh, not uncounted.
//! Claims expire with the log they protect, or after [`CLAIM_WINDOW_DAYS`], whichever is first.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, PutRequest, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update, WriteRequest,
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::dynamo::{Item, StoreError, text};
use crate::retention::is_live;

/// How long a claim outlives its first delivery: SQS keeps a message at most 14 days, and
/// CloudWatch Logs retries a failed invocation for hours, not days.
pub const CLAIM_WINDOW_DAYS: i64 = 15;
/// Items per BatchWriteItem request (DynamoDB's limit).
pub const BATCH_WRITE_ITEMS: usize = 25;
/// Actions per TransactWriteItems request (DynamoDB's limit).
const TRANSACTION_ITEMS: usize = 100;
/// Requests of one batch in flight at once.
const CONCURRENT_REQUESTS: usize = 32;
/// Attempts for unprocessed items and conflicting transactions before a record is reported failed.
const ATTEMPTS: u32 = 8;
/// Attempts when DynamoDB throttles: each call has had the SDK's own retries already, so a few
/// suffice. An unreachable DynamoDB is not tried again here: that would only wait for the same
/// timeout, and the records are delivered again anyway.
const UNAVAILABLE_ATTEMPTS: u32 = 3;
const CLAIM_PREFIX: &str = "claim#";
/// The attribute of a stored log that names its claim, so that deleting the log can delete it.
pub const CLAIM: &str = "claim";

/// A log that the batch writer can store and count.
pub trait Storable {
    /// Its id: proposed for a new claim, or the claimed one after [`Storable::adopt`].
    fn id(&self) -> String;
    /// Takes the id an earlier delivery of the same record claimed.
    fn adopt(&mut self, id: &str) -> Result<(), StoreError>;
    /// The item as stored, keys and index attributes included.
    fn item(&self) -> Result<Item, StoreError>;
    /// The count buckets this log adds one to.
    fn counts(&self) -> Result<Vec<CountChange>, StoreError>;
    /// When DynamoDB deletes it; `None` for never.
    fn expires_at(&self) -> Option<i64>;
}

/// One count attribute of one bucket item, changed by `delta`.
#[derive(Debug, Clone, PartialEq)]
pub struct CountChange {
    /// The bucket item's key value.
    pub bucket: String,
    /// Attributes set on the bucket whenever it changes (what its index needs, its expiry).
    pub fields: BucketFields,
    pub attribute: String,
}

/// Attributes a bucket item carries besides its counts.
type BucketFields = Item;

impl CountChange {
    /// A change of `attribute` in the bucket `bucket`, which carries `fields` (a row of its table).
    pub fn new(
        bucket: String,
        fields: &impl Serialize,
        attribute: impl Into<String>,
    ) -> Result<Self, StoreError> {
        Ok(CountChange {
            bucket,
            fields: serde_dynamo::to_item(fields)?,
            attribute: attribute.into(),
        })
    }
}

/// Count changes summed per bucket and attribute, ready to go into a transaction.
#[derive(Debug, Default)]
pub struct Counts {
    buckets: HashMap<String, (BucketFields, HashMap<String, i64>)>,
}

impl Counts {
    pub fn add(&mut self, change: CountChange, delta: i64) {
        let (_, attributes) = self
            .buckets
            .entry(change.bucket)
            .or_insert_with(|| (change.fields, HashMap::new()));
        *attributes.entry(change.attribute).or_default() += delta;
    }

    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// One Update per bucket: `SET` its fields, `ADD` its deltas.
    pub fn updates(&self, table: &str, key: &str) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut updates = Vec::with_capacity(self.buckets.len());
        for (bucket, (fields, deltas)) in &self.buckets {
            let mut update = Update::builder()
                .table_name(table)
                .key(key, AttributeValue::S(bucket.clone()));
            let mut sets = Vec::new();
            for (n, (name, value)) in fields.iter().enumerate() {
                sets.push(format!("#f{n} = :f{n}"));
                update = update
                    .expression_attribute_names(format!("#f{n}"), name)
                    .expression_attribute_values(format!(":f{n}"), value.clone());
            }
            let mut adds = Vec::new();
            for (n, (name, delta)) in deltas.iter().enumerate() {
                adds.push(format!("#a{n} :a{n}"));
                update = update
                    .expression_attribute_names(format!("#a{n}"), name)
                    .expression_attribute_values(
                        format!(":a{n}"),
                        AttributeValue::N(delta.to_string()),
                    );
            }
            let mut expression = format!("ADD {}", adds.join(", "));
            if !sets.is_empty() {
                expression = format!("SET {} {expression}", sets.join(", "));
            }
            updates.push(
                TransactWriteItem::builder()
                    .update(update.update_expression(expression).build()?)
                    .build(),
            );
        }
        Ok(updates)
    }
}

/// A record to store, with the source's own id for it.
#[derive(Debug, Clone)]
pub struct Entry<T> {
    /// Unique per record at its source, e.g. `sqs#<message id>` or `cwl#<group>#<event id>`.
    pub source_id: String,
    pub log: T,
}

/// What became of one entry.
#[derive(Debug)]
pub enum Outcome<T> {
    Stored(T),
    /// Claimed and counted by an earlier (or concurrent) delivery; its log is stored now.
    AlreadyStored,
    /// Its retention had already passed when it arrived: acknowledged, not stored.
    Expired,
    /// Not stored: the source should deliver it again.
    Failed(StoreError),
}

impl<T> Outcome<T> {
    /// True when the source may forget the record.
    pub fn is_acknowledged(&self) -> bool {
        !matches!(self, Outcome::Failed(_))
    }
}

/// A record's claim: the id its log was stored under, kept until the log or the claim window
/// expires (the table's key attribute, `claim#<source id>`, is set beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ClaimRow {
    log_id: String,
    /// Always written; read only for `log_id`, so a claim without it still names its log.
    #[serde(default)]
    expires_at: i64,
}

/// Entries with their positions in the batch.
type Positioned<T> = Vec<(usize, Entry<T>)>;

/// Splits a batch: entries to claim, entries already expired (their outcome set), and entries
/// that repeat an earlier source id of the batch (with the position they follow).
fn sort_out<T: Storable>(
    entries: Vec<Entry<T>>,
    now: OffsetDateTime,
    outcomes: &mut [Option<Outcome<T>>],
) -> (Positioned<T>, Vec<(usize, usize)>) {
    // A source id repeated inside one batch follows its first occurrence's fate.
    let mut first_of: HashMap<String, usize> = HashMap::new();
    let mut follows: Vec<(usize, usize)> = Vec::new();
    let mut live = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        if let Some(first) = first_of.get(&entry.source_id) {
            follows.push((index, *first));
        } else if !is_live(entry.log.expires_at(), now) {
            outcomes[index] = Some(Outcome::Expired);
        } else {
            first_of.insert(entry.source_id.clone(), index);
            live.push((index, entry));
        }
    }
    (live, follows)
}

/// Stores batches into one table whose key attribute is `key`.
#[derive(Debug, Clone, Copy)]
pub struct OnceWriter<'a> {
    pub client: &'a Client,
    pub table: &'a str,
    pub key: &'static str,
}

/// An entry (by its position in the batch) and whether its log was put.
type Written<T> = (usize, Entry<T>, Result<(), StoreError>);

impl OnceWriter<'_> {
    /// Stores each entry once and counts it once; outcomes are in the order of `entries`.
    pub async fn write<T: Storable>(
        &self,
        entries: Vec<Entry<T>>,
        now: OffsetDateTime,
    ) -> Vec<Outcome<T>> {
        let mut outcomes: Vec<Option<Outcome<T>>> = entries.iter().map(|_| None).collect();
        let (live, follows) = sort_out(entries, now, &mut outcomes);
        let (to_store, earlier) = self.claim(live, now, &mut outcomes).await;
        let (stored, refused) = self.store(to_store, &mut outcomes).await;
        // Refused for good after its claim: the claim and its count go again, so that counts
        // equal stored logs whatever DynamoDB refuses.
        self.unclaim(refused, &mut outcomes).await;
        for (index, entry) in stored {
            outcomes[index] = Some(if earlier.contains(&index) {
                Outcome::AlreadyStored
            } else {
                Outcome::Stored(entry.log)
            });
        }
        for (index, first) in follows {
            outcomes[index] = Some(match &outcomes[first] {
                Some(Outcome::Failed(error)) => Outcome::Failed(error.clone()),
                Some(Outcome::Expired) => Outcome::Expired,
                _ => Outcome::AlreadyStored,
            });
        }
        outcomes
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or_else(|| {
                    Outcome::Failed(StoreError::Internal("record was not processed".into()))
                })
            })
            .collect()
    }

    /// Claims and counts each live entry (step 1). Returns the entries whose logs are to be put,
    /// and the positions of those an earlier delivery had claimed (they take its id).
    async fn claim<T: Storable>(
        &self,
        live: Vec<(usize, Entry<T>)>,
        now: OffsetDateTime,
        outcomes: &mut [Option<Outcome<T>>],
    ) -> (Vec<(usize, Entry<T>)>, Vec<usize>) {
        let window_end = now.unix_timestamp() + CLAIM_WINDOW_DAYS * 86_400;
        let mut claims = Vec::with_capacity(live.len());
        let mut claimed = Vec::with_capacity(live.len());
        for (index, entry) in live {
            let claim = ClaimRow {
                log_id: entry.log.id(),
                expires_at: entry
                    .log
                    .expires_at()
                    .map_or(window_end, |at| at.min(window_end)),
            };
            // A log DynamoDB would refuse is never claimed nor counted: it fails alone, here.
            let storable = entry.log.item().and_then(|item| {
                crate::storable::check_item(&item, self.key)
                    .map_err(|reason| StoreError::Rejected(format!("not storable: {reason}")))
            });
            match storable
                .and_then(|()| self.claim_put(&entry.source_id, &claim))
                .and_then(|put| Ok((put, entry.log.counts()?)))
            {
                Ok((put, counts)) => {
                    claims.push(CountedAction {
                        action: TransactWriteItem::builder().put(put).build(),
                        also: None,
                        counts,
                        delta: 1,
                    });
                    claimed.push((index, entry));
                }
                Err(error) => outcomes[index] = Some(Outcome::Failed(error)),
            }
        }
        let applied = apply_counted(self.client, self.table, self.key, claims).await;
        let mut to_store = Vec::with_capacity(claimed.len());
        let mut earlier = Vec::new();
        for ((index, mut entry), applied) in claimed.into_iter().zip(applied) {
            let adopted = match applied {
                Applied::Done => Ok(false),
                Applied::ConditionFailed(old) => serde_dynamo::from_item::<_, ClaimRow>(old)
                    .map_err(StoreError::from)
                    .and_then(|old| entry.log.adopt(&old.log_id))
                    .map(|()| true),
                Applied::Failed(error) => Err(error),
            };
            match adopted {
                Ok(adopted) => {
                    if adopted {
                        earlier.push(index);
                    }
                    to_store.push((index, entry));
                }
                Err(error) => outcomes[index] = Some(Outcome::Failed(error)),
            }
        }
        (to_store, earlier)
    }

    /// The Put of a record's claim, on condition that it has none yet.
    fn claim_put(&self, source_id: &str, claim: &ClaimRow) -> Result<Put, StoreError> {
        let mut item: Item = serde_dynamo::to_item(claim)?;
        item.insert(self.key.to_owned(), claim_key(source_id));
        Ok(Put::builder()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", self.key)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()?)
    }

    /// Puts the logs 25 per BatchWriteItem; returns those stored and those DynamoDB refused for
    /// good (to unclaim), records other failures in `outcomes`.
    async fn store<T: Storable>(
        &self,
        entries: Vec<(usize, Entry<T>)>,
        outcomes: &mut [Option<Outcome<T>>],
    ) -> (Vec<(usize, Entry<T>)>, Vec<(usize, Entry<T>, StoreError)>) {
        let mut requests = Vec::new();
        let mut chunk = Vec::new();
        for (index, entry) in entries {
            match entry.log.item() {
                Ok(mut item) => {
                    item.insert(CLAIM.to_owned(), claim_key(&entry.source_id));
                    chunk.push((index, entry, item));
                }
                Err(error) => outcomes[index] = Some(Outcome::Failed(error)),
            }
            if chunk.len() == BATCH_WRITE_ITEMS {
                requests.push(std::mem::take(&mut chunk));
            }
        }
        if !chunk.is_empty() {
            requests.push(chunk);
        }
        let results: Vec<Vec<Written<T>>> = futures::stream::iter(requests)
            .map(|chunk| self.put_chunk(chunk))
            .buffer_unordered(CONCURRENT_REQUESTS)
            .collect()
            .await;
        let mut stored = Vec::new();
        let mut refused = Vec::new();
        for (index, entry, result) in results.into_iter().flatten() {
            match result {
                Ok(()) => stored.push((index, entry)),
                Err(error @ StoreError::Rejected(_)) => refused.push((index, entry, error)),
                Err(error) => outcomes[index] = Some(Outcome::Failed(error)),
            }
        }
        (stored, refused)
    }

    /// Deletes the claims of logs DynamoDB refused for good, and takes them off their counts, in
    /// one transaction each with its count; the records fail (their source delivers them again,
    /// and each comes back to be claimed afresh, or, refused each time, ends in a dead-letter queue).
    async fn unclaim<T: Storable>(
        &self,
        refused: Vec<(usize, Entry<T>, StoreError)>,
        outcomes: &mut [Option<Outcome<T>>],
    ) {
        let mut undo = Vec::new();
        let mut positions = Vec::new();
        for (index, entry, error) in refused {
            let delete = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(self.table)
                .key(self.key, claim_key(&entry.source_id))
                .condition_expression("log_id = :id")
                .expression_attribute_values(":id", AttributeValue::S(entry.log.id()))
                .build();
            match (delete, entry.log.counts()) {
                (Ok(delete), Ok(counts)) => {
                    undo.push(CountedAction {
                        action: TransactWriteItem::builder().delete(delete).build(),
                        also: None,
                        counts,
                        delta: -1,
                    });
                    positions.push(index);
                }
                (Err(build), _) => {
                    tracing::error!(error = %build, "claim of a refused log not undone")
                }
                (_, Err(count)) => {
                    tracing::error!(error = %count, "claim of a refused log not undone")
                }
            }
            outcomes[index] = Some(Outcome::Failed(error));
        }
        for (index, applied) in positions
            .into_iter()
            .zip(apply_counted(self.client, self.table, self.key, undo).await)
        {
            match applied {
                Applied::Done => {}
                // Another delivery holds the claim now: it is that delivery's to keep.
                Applied::ConditionFailed(_) => {}
                Applied::Failed(error) => tracing::error!(
                    position = index,
                    %error,
                    "the claim and count of a refused log could not be undone"
                ),
            }
        }
    }

    async fn put_chunk<T>(&self, chunk: Vec<(usize, Entry<T>, Item)>) -> Vec<Written<T>> {
        let mut pending: HashMap<String, Item> = chunk
            .iter()
            .map(|(_, _, item)| (text(item, self.key).to_owned(), item.clone()))
            .collect();
        let mut failure: Option<StoreError> = None;
        for attempt in 0..ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let mut writes = Vec::with_capacity(pending.len());
            for item in pending.values() {
                match PutRequest::builder().set_item(Some(item.clone())).build() {
                    Ok(put) => writes.push(WriteRequest::builder().put_request(put).build()),
                    Err(error) => failure = Some(error.into()),
                }
            }
            if failure.is_some() {
                break;
            }
            match self
                .client
                .batch_write_item()
                .request_items(self.table, writes)
                .send()
                .await
            {
                Ok(output) => {
                    let unprocessed: Vec<String> = output
                        .unprocessed_items
                        .unwrap_or_default()
                        .remove(self.table)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|write| write.put_request())
                        .map(|put| text(put.item(), self.key).to_owned())
                        .collect();
                    pending.retain(|key, _| unprocessed.contains(key));
                    failure = None;
                }
                Err(error) => {
                    let error = StoreError::from(error);
                    if let StoreError::Rejected(_) = error {
                        // One item refused fails the whole request: put each alone, so that only
                        // the refused fail, and the rest of the batch is stored.
                        return self.put_each(chunk, pending).await;
                    }
                    let retry = matches!(error, StoreError::Unavailable(_))
                        && attempt + 1 < UNAVAILABLE_ATTEMPTS;
                    failure = Some(error);
                    if !retry {
                        break;
                    }
                }
            }
        }
        let failure = failure.unwrap_or_else(|| {
            StoreError::Unavailable(format!(
                "DynamoDB left items unprocessed after {ATTEMPTS} attempts"
            ))
        });
        chunk
            .into_iter()
            .map(|(index, entry, item)| {
                let result = if pending.contains_key(text(&item, self.key)) {
                    Err(failure.clone())
                } else {
                    Ok(())
                };
                (index, entry, result)
            })
            .collect()
    }
}

impl OnceWriter<'_> {
    /// Puts the still pending items of a chunk one PutItem each (after DynamoDB refused their
    /// BatchWriteItem): each item's own outcome.
    async fn put_each<T>(
        &self,
        chunk: Vec<(usize, Entry<T>, Item)>,
        pending: HashMap<String, Item>,
    ) -> Vec<Written<T>> {
        let puts = chunk.into_iter().map(|(index, entry, item)| {
            let pending = pending.contains_key(text(&item, self.key));
            async move {
                let result = if pending {
                    self.client
                        .put_item()
                        .table_name(self.table)
                        .set_item(Some(item))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(StoreError::from)
                } else {
                    Ok(())
                };
                (index, entry, result)
            }
        });
        futures::stream::iter(puts)
            .buffer_unordered(CONCURRENT_REQUESTS)
            .collect()
            .await
    }
}

/// A conditional write and the count changes that must happen with it, or not at all.
#[derive(Debug, Clone)]
pub struct CountedAction {
    /// The conditional write: its cancellation reason says whether its condition held.
    pub action: TransactWriteItem,
    /// A write that goes with it, unconditionally (a deleted log's claim).
    pub also: Option<TransactWriteItem>,
    pub counts: Vec<CountChange>,
    pub delta: i64,
}

impl CountedAction {
    fn items(&self) -> usize {
        1 + usize::from(self.also.is_some())
    }
}

/// What became of one [`CountedAction`].
#[derive(Debug)]
pub enum Applied {
    Done,
    /// Its condition did not hold: nothing of it was applied. The item as it was, when the action
    /// asked for it (`ReturnValuesOnConditionCheckFailure`).
    ConditionFailed(Item),
    Failed(StoreError),
}

/// Applies each action together with its count change: transactions of up to 100 items (actions
/// and the summed changes of their buckets). An action whose condition fails is taken out and the
/// rest of its transaction is tried again; conflicts and throttling are retried with backoff.
/// Results are in the order of `actions`.
pub async fn apply_counted(
    client: &Client,
    table: &str,
    key: &str,
    actions: Vec<CountedAction>,
) -> Vec<Applied> {
    let mut results: Vec<Option<Applied>> = actions.iter().map(|_| None).collect();
    let mut groups: Vec<Vec<(usize, CountedAction)>> = Vec::new();
    let mut group = Vec::new();
    let mut buckets: Vec<String> = Vec::new();
    let mut size = 0;
    for (index, action) in actions.into_iter().enumerate() {
        let new_buckets = action
            .counts
            .iter()
            .filter(|count| !buckets.contains(&count.bucket))
            .count();
        if size + buckets.len() + action.items() + new_buckets > TRANSACTION_ITEMS {
            groups.push(std::mem::take(&mut group));
            buckets.clear();
            size = 0;
        }
        size += action.items();
        for count in &action.counts {
            if !buckets.contains(&count.bucket) {
                buckets.push(count.bucket.clone());
            }
        }
        group.push((index, action));
    }
    if !group.is_empty() {
        groups.push(group);
    }
    // One group at a time: groups share count buckets (all lines of a log stream land in one),
    // and concurrent transactions on one item cancel each other.
    for group in groups {
        for (index, applied) in apply_group(client, table, key, group).await {
            results[index] = Some(applied);
        }
    }
    results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| Applied::Failed(StoreError::Internal("not applied".into())))
        })
        .collect()
}

async fn apply_group(
    client: &Client,
    table: &str,
    key: &str,
    mut group: Vec<(usize, CountedAction)>,
) -> Vec<(usize, Applied)> {
    let mut finished = Vec::new();
    let mut failure = None;
    let mut attempt = 0;
    while !group.is_empty() && attempt < ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        attempt += 1;
        let (items, positions) = match transaction(&group, table, key) {
            Ok(transaction) => transaction,
            Err(error) => {
                failure = Some(error);
                break;
            }
        };
        let error = match client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => {
                finished.extend(group.drain(..).map(|(index, _)| (index, Applied::Done)));
                failure = None;
                break;
            }
            Err(error) => error,
        };
        let (failed_conditions, conflict) = cancellation(&error, &positions);
        if !failed_conditions.is_empty() {
            for (n, item) in failed_conditions.into_iter().rev() {
                let (index, _) = group.remove(n);
                finished.push((index, Applied::ConditionFailed(item)));
            }
            attempt -= 1; // not a failure: the rest goes again at once
            continue;
        }
        let error = StoreError::from(error);
        let retry = conflict
            || (matches!(error, StoreError::Unavailable(_)) && attempt < UNAVAILABLE_ATTEMPTS);
        failure = Some(error);
        if !retry {
            break;
        }
    }
    let failure = failure.unwrap_or_else(|| {
        StoreError::Unavailable(format!("counts not updated after {ATTEMPTS} attempts"))
    });
    finished.extend(
        group
            .into_iter()
            .map(|(index, _)| (index, Applied::Failed(failure.clone()))),
    );
    finished
}

/// A group's transaction: each action's items, then one update per count bucket; and where each
/// action's own item sits (cancellation reasons are positional).
fn transaction(
    group: &[(usize, CountedAction)],
    table: &str,
    key: &str,
) -> Result<(Vec<TransactWriteItem>, Vec<usize>), StoreError> {
    let mut counts = Counts::default();
    let mut items: Vec<TransactWriteItem> = Vec::with_capacity(group.len() + 4);
    let mut positions = Vec::with_capacity(group.len());
    for (_, action) in group {
        positions.push(items.len());
        items.push(action.action.clone());
        items.extend(action.also.clone());
        for count in &action.counts {
            counts.add(count.clone(), action.delta);
        }
    }
    items.extend(counts.updates(table, key)?);
    Ok((items, positions))
}

/// Of a cancelled transaction: the actions (by their place in the group) whose condition failed,
/// with the item as it was; and whether another transaction conflicted with it.
fn cancellation<R>(
    error: &SdkError<TransactWriteItemsError, R>,
    positions: &[usize],
) -> (Vec<(usize, Item)>, bool) {
    let reasons: Vec<(&str, Option<&Item>)> = match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .map(|reason| (reason.code().unwrap_or_default(), reason.item()))
            .collect(),
        _ => Vec::new(),
    };
    let failed_conditions = positions
        .iter()
        .enumerate()
        .filter_map(|(n, position)| match reasons.get(*position) {
            Some(("ConditionalCheckFailed", item)) => Some((n, item.cloned().unwrap_or_default())),
            _ => None,
        })
        .collect();
    let conflict = reasons
        .iter()
        .any(|(code, _)| *code == "TransactionConflict");
    (failed_conditions, conflict)
}

fn claim_key(source_id: &str) -> AttributeValue {
    AttributeValue::S(format!("{CLAIM_PREFIX}{source_id}"))
}

/// Exponential backoff with jitter: about 25 ms, 50 ms, ... up to 1.6 s.
fn backoff(attempt: u32) -> Duration {
    let base = 25u64 << attempt.min(6);
    let jitter = ulid::Ulid::new().random() as u64 % (base / 2 + 1);
    Duration::from_millis(base / 2 + jitter)
}
