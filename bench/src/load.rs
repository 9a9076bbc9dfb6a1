//! Data for the bench: written through the real write path once, then grown to size by copying
//! those items back in time with plain BatchWriteItem (the write path's claims and counters
//! would take DynamoDB Local a quarter of an hour per million logs). Counts are scaled to match
//! and checked through the stores afterwards.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::StreamExt;
use shared::dynamo::Item;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// BatchWriteItem requests in flight at once, as the write path sends them.
const CONCURRENT_BATCHES: usize = 32;

/// Every item of a table (setup only: no request path scans).
pub async fn scan_all(client: &Client, table: &str) -> Result<Vec<Item>, BoxError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        items.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

/// Puts `items` with BatchWriteItem, 25 a request, retrying what comes back unprocessed.
pub async fn put_all(client: &Client, table: &str, items: Vec<Item>) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let batches: Vec<Vec<Item>> = items.chunks(25).map(<[Item]>::to_vec).collect();
    let results: Vec<Result<(), BoxError>> = futures::stream::iter(batches)
        .map(|batch| async move {
            let mut requests: Vec<WriteRequest> = batch
                .into_iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item)).build()?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, BoxError>>()?;
            for attempt in 0..20u32 {
                if requests.is_empty() {
                    return Ok(());
                }
                let output = client
                    .batch_write_item()
                    .request_items(table, std::mem::take(&mut requests))
                    .send()
                    .await?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut left| left.remove(table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
                }
            }
            Err("items stayed unprocessed after 20 attempts".into())
        })
        .buffer_unordered(CONCURRENT_BATCHES)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(started.elapsed())
}

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

fn shifted(time: &str, back: time::Duration) -> Option<String> {
    shared::timestamp::parse(time)
        .ok()
        .map(|at| shared::timestamp::format(at - back))
}

/// Multiplies every count attribute of the count items by `factor`.
async fn scale_counts(
    client: &Client,
    table: &str,
    counters: Vec<Item>,
    key: &str,
    factor: u64,
) -> Result<(), BoxError> {
    let scaled = counters
        .into_iter()
        .map(|mut item| {
            for (name, value) in item.iter_mut() {
                if let AttributeValue::N(number) = value
                    && name != key
                    && name != shared::retention::EXPIRES_AT
                    && let Ok(count) = number.parse::<u64>()
                {
                    *value = AttributeValue::N((count * factor).to_string());
                }
            }
            item
        })
        .collect();
    put_all(client, table, scaled).await?;
    Ok(())
}

/// A table counter holding what a growth added (`template` is one of the table's counters):
/// the table's total is the sum of its counters.
pub fn added_counter(template: &Item, public: u64, internal: u64) -> Item {
    let mut item = template.clone();
    item.insert("id".into(), AttributeValue::S("#count#bench-growth".into()));
    item.insert("public_logs".into(), AttributeValue::N(public.to_string()));
    item.insert(
        "internal_logs".into(),
        AttributeValue::N(internal.to_string()),
    );
    item
}

/// A kind of log the bench grows: its table's key attribute, and how one log is moved back in
/// time (`None` leaves it out).
pub struct LogKind {
    key: &'static str,
    moved_back: fn(&Item, time::Duration) -> Option<Item>,
}

/// System logs: each copy moved back with ids from its own minutes.
pub const SYSTEM_LOGS: LogKind = LogKind {
    key: "pk",
    moved_back: system_log_moved_back,
};

/// Cluster logs: fresh ULIDs from the moved times.
pub const CLUSTER_LOGS: LogKind = LogKind {
    key: "id",
    moved_back: cluster_log_moved_back,
};

/// Grows a table written by the write path to `copies.end` times its logs: copy `c` of each log is
/// moved back by `span * c`, and the counters are scaled to match.
pub async fn grow(
    client: &Client,
    table: &str,
    kind: &LogKind,
    (originals, counters): (&[Item], &[Item]),
    copies: std::ops::Range<u64>,
    span: time::Duration,
) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let to_copy = copies.end;
    for copy in copies {
        let back = span * copy as i32;
        let items = originals
            .iter()
            .filter_map(|item| (kind.moved_back)(item, back))
            .collect();
        put_all(client, table, items).await?;
    }
    scale_counts(client, table, counters.to_vec(), kind.key, to_copy).await?;
    Ok(started.elapsed())
}

/// A system log `back` earlier, its id taken from that minute.
fn system_log_moved_back(item: &Item, back: time::Duration) -> Option<Item> {
    let id_shift = ((back.whole_minutes() as u64) << 26) as i128;
    let mut item = item.clone();
    let id = match item.get("id") {
        Some(AttributeValue::N(id)) => id.parse::<i128>().ok()? - id_shift,
        _ => return None,
    };
    let id = u64::try_from(id).ok()?;
    let created = shifted(&text(&item, "created")?, back)?;
    item.insert("id".into(), AttributeValue::N(id.to_string()));
    item.insert(
        "pk".into(),
        AttributeValue::S(shared::system_logs::log_key(id)),
    );
    item.insert(
        "created_key".into(),
        AttributeValue::S(shared::system_logs::created_key(&created, id)),
    );
    item.insert("created".into(), AttributeValue::S(created));
    item.remove("claim");
    Some(item)
}

/// A cluster log `back` earlier, with a fresh ULID of its moved creation time.
fn cluster_log_moved_back(item: &Item, back: time::Duration) -> Option<Item> {
    let mut item = item.clone();
    let timestamp = shifted(&text(&item, "timestamp")?, back)?;
    let created_at = shifted(&text(&item, "created_at")?, back)?;
    let at = shared::timestamp::parse(&created_at).ok()?;
    let id = ulid::Ulid::from_parts(
        (at.unix_timestamp_nanos() / 1_000_000) as u64,
        ulid::Ulid::new().random(),
    );
    if item.contains_key("href") {
        item.insert(
            "href".into(),
            AttributeValue::S(format!(
                "{}/cluster_logs/{id}",
                shared::cluster_logs::BASE_PATH
            )),
        );
    }
    item.insert("id".into(), AttributeValue::S(id.to_string()));
    item.insert(
        "time_shard".into(),
        AttributeValue::S(
            (id.random() % u128::from(shared::cluster_logs::TIME_SHARDS)).to_string(),
        ),
    );
    item.insert("timestamp".into(), AttributeValue::S(timestamp));
    item.insert("created_at".into(), AttributeValue::S(created_at));
    item.remove("claim");
    Some(item)
}

/// Splits a table's items into logs and the rest (claims, counters, id blocks), by `is_log`.
pub fn split(items: Vec<Item>, is_log: impl Fn(&Item) -> bool) -> (Vec<Item>, Vec<Item>) {
    items.into_iter().partition(|item| is_log(item))
}

/// The count items among `others`: their key starts with `prefix`.
pub fn counters(others: &[Item], key: &str, prefix: &str) -> Vec<Item> {
    others
        .iter()
        .filter(|item| text(item, key).is_some_and(|k| k.starts_with(prefix)))
        .cloned()
        .collect()
}
