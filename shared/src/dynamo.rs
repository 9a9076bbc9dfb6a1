//! DynamoDB access shared by both log kinds: the client, error classification, and reading an
//! index newest first, across one or several partitions merged by sort key.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use serde::de::DeserializeOwned;

use crate::partition::{Direction, PartitionQuery, Value};
use crate::retention::Lifetime;

pub type Item = HashMap<String, AttributeValue>;

/// Builds the DynamoDB client from the standard AWS configuration chain. Locally, the standard
/// `AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local; there is no endpoint code of our own.
pub async fn client_from_env() -> Client {
    Client::new(&sdk_config().await)
}

/// The roots DynamoDB's endpoints chain to (Amazon Trust Services, with the Starfield root that
/// cross-signs them), built in.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// The standard AWS configuration chain with the one HTTPS client every function uses: rustls on
/// ring, trusting the Amazon Trust Services roots. The SDK's default client reads and parses the
/// whole platform certificate store at init (measured: about 2 ms of a 4.5 ms cold start) and
/// links aws-lc (about 1.5 MB of every binary); DynamoDB needs neither.
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_TRUST_SERVICES);
    // A bundle that does not parse would be a build mistake; the platform store still works then.
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .unwrap_or_default();
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await
}

/// How long one DynamoDB call may take. A request makes at most a few calls in a row, so even when
/// DynamoDB hangs it answers (503) well inside API Gateway's 30 s and the functions' 10 s timeout,
/// instead of the SDK default of waiting as long as the socket does.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        // No shorter limit per attempt. With a 2.5 s one, one POST in 6,000 under `make load` was
        // acknowledged but never stored; the likely cause is a transaction retried (same client
        // token) while its first attempt still ran, which DynamoDB Local answers as done. Not seen
        // since, in 26,000. Fast failures (throttling, 5xx, refused) are still retried.
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// Retries of one call: throttling, timeouts and 5xx are tried three times in all, with a short
/// jittered backoff; what still fails is a 503 with Retry-After for API callers, and a record to
/// deliver again for the ingest functions.
pub fn retries() -> aws_config::retry::RetryConfig {
    use std::time::Duration;
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(500))
}

/// Environment variable that names a table, read once at cold start.
pub fn table_name(variable: &str) -> Result<String, StoreError> {
    std::env::var(variable)
        .ok()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            StoreError::Misconfigured(format!("environment variable {variable} is not set"))
        })
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB is throttling or failing (5xx) after the SDK's retries: the caller should retry.
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    /// DynamoDB could not be reached or did not answer in time: the caller should retry, but
    /// trying again at once would only wait for the same timeout.
    #[error("DynamoDB is unreachable: {0}")]
    Unreachable(String),
    /// DynamoDB refused the request as malformed (a validation error): a fault of ours.
    #[error("DynamoDB rejected the request: {0}")]
    Rejected(String),
    /// A stored item is not what our code writes.
    #[error("a stored item could not be read: {0}")]
    Corrupt(String),
    /// One of our own invariants did not hold (a request we could not build, a result missing).
    #[error("internal error: {0}")]
    Internal(String),
    #[error("the function is misconfigured: {0}")]
    Misconfigured(String),
    /// The request would read more than its budget: the caller must narrow it (a 400).
    #[error("the request would read more than {limit} read units")]
    OverBudget { limit: u64 },
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(error: serde_dynamo::Error) -> Self {
        StoreError::Corrupt(error.to_string())
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for StoreError {
    fn from(error: aws_sdk_dynamodb::error::BuildError) -> Self {
        StoreError::Internal(format!("request not built: {error}"))
    }
}

const RETRYABLE_CODES: [&str; 5] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
];

impl StoreError {
    /// DynamoDB could not serve the request now (a 503 for API callers, a redelivery for queues).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Unreachable(_)
        )
    }
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    fn from(error: SdkError<E, R>) -> Self {
        let unreachable = matches!(
            error,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        );
        let retryable = match &error {
            SdkError::ServiceError(service) => service
                .err()
                .code()
                .is_some_and(|code| RETRYABLE_CODES.contains(&code)),
            _ => false,
        };
        let text = DisplayErrorContext(&error).to_string();
        if unreachable {
            StoreError::Unreachable(text)
        } else if retryable {
            StoreError::Unavailable(text)
        } else {
            StoreError::Rejected(text)
        }
    }
}

/// One table as a store sees it: the client, the table's name and the retention of what it writes.
#[derive(Debug, Clone)]
pub struct Table {
    pub client: Client,
    pub name: String,
    pub lifetime: Lifetime,
    /// The read units one API request may spend ([`ReadBudget`]).
    pub read_budget: u64,
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
            lifetime: Lifetime::default(),
            read_budget: ReadBudget::limit_from_env(),
        }
    }

    /// A fresh budget for one request.
    pub fn budget(&self) -> ReadBudget {
        ReadBudget::new(self.read_budget)
    }

    /// A reader with no budget: for reads whose size the caller cannot choose (counters,
    /// aggregates, the cap's own batches).
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            client: &self.client,
            table: &self.name,
            budget: None,
        }
    }

    /// A reader that spends from `budget`, refusing to read past it.
    pub fn reader_within<'a>(&'a self, budget: &'a ReadBudget) -> Reader<'a> {
        Reader {
            client: &self.client,
            table: &self.name,
            budget: Some(budget),
        }
    }
}

/// Queries of one merge in flight at once.
const CONCURRENT_QUERIES: usize = 16;

/// Environment variable: the read units one API request may spend (default [`READ_BUDGET_UNITS`]).
pub const READ_BUDGET_VAR: &str = "READ_BUDGET_UNITS";
/// The default budget: 2,500 read units are about 20 MB read at eventual consistency, about 20
/// Query pages of 1 MB, well inside the functions' 10 s on DynamoDB (a page takes tens of ms).
pub const READ_BUDGET_UNITS: u64 = 2_500;

/// The read capacity one request may consume, spent as its Queries report what they consumed.
#[derive(Debug)]
pub struct ReadBudget {
    limit: u64,
    /// Thousandths of a read unit spent so far.
    spent: std::sync::atomic::AtomicU64,
}

impl ReadBudget {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            spent: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The budget `READ_BUDGET_UNITS` sets (unset or unreadable: the default).
    pub fn limit_from_env() -> u64 {
        std::env::var(READ_BUDGET_VAR)
            .ok()
            .and_then(|value| value.trim().parse().ok())
            .filter(|limit| *limit > 0)
            .unwrap_or(READ_BUDGET_UNITS)
    }

    /// Spends `units`; an error once more than the limit is spent.
    fn spend(&self, units: f64) -> Result<(), StoreError> {
        let thousandths = (units.max(0.0) * 1000.0).ceil() as u64;
        let spent = self
            .spent
            .fetch_add(thousandths, std::sync::atomic::Ordering::SeqCst)
            + thousandths;
        if spent > self.limit.saturating_mul(1000) {
            return Err(StoreError::OverBudget { limit: self.limit });
        }
        Ok(())
    }

    /// Read units spent so far.
    pub fn spent(&self) -> f64 {
        self.spent.load(std::sync::atomic::Ordering::SeqCst) as f64 / 1000.0
    }
}

/// Runs partition queries (crate::partition) against one table.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub client: &'a Client,
    pub table: &'a str,
    /// What the reads may spend; `None`: no limit.
    pub budget: Option<&'a ReadBudget>,
}

fn attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Text(text) => AttributeValue::S(text.clone()),
        Value::Number(number) => AttributeValue::N(number.clone()),
        Value::Flag(flag) => AttributeValue::Bool(*flag),
    }
}

/// The ExclusiveStartKey of a query that resumes after an item.
fn start_key(key: &[(String, String)]) -> Item {
    key.iter()
        .map(|(name, value)| (name.clone(), AttributeValue::S(value.clone())))
        .collect()
}

impl Reader<'_> {
    fn request(
        &self,
        query: &PartitionQuery,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let mut key_condition = "#pk = :pk".to_owned();
        let mut request = self
            .client
            .query()
            .table_name(self.table)
            .set_index_name(query.index.map(str::to_owned))
            .expression_attribute_names("#pk", query.partition_attribute)
            .expression_attribute_values(":pk", AttributeValue::S(query.partition_value.clone()))
            .scan_index_forward(query.direction == Direction::Ascending);
        // A bound longer than any sort key can be is left to the conditions applied while
        // reading (DynamoDB refuses it as a key condition); the other bound still narrows.
        let fits = |bound: &Option<String>| {
            bound
                .clone()
                .filter(|bound| bound.len() <= crate::partition::SORT_KEY_MAX_BYTES)
        };
        let range = query
            .sort_range
            .as_ref()
            .map(|range| crate::partition::SortRange {
                attribute: range.attribute,
                lower: fits(&range.lower),
                upper: fits(&range.upper),
            });
        if let Some(range) = range.as_ref().filter(|r| r.is_bounded()) {
            request = request.expression_attribute_names("#sk", range.attribute);
            key_condition.push_str(match (&range.lower, &range.upper) {
                (Some(_), Some(_)) => " AND #sk BETWEEN :lower AND :upper",
                (Some(_), None) => " AND #sk >= :lower",
                _ => " AND #sk <= :upper",
            });
            if let Some(lower) = &range.lower {
                request =
                    request.expression_attribute_values(":lower", AttributeValue::S(lower.clone()));
            }
            if let Some(upper) = &range.upper {
                request =
                    request.expression_attribute_values(":upper", AttributeValue::S(upper.clone()));
            }
        }
        request = request.key_condition_expression(key_condition);
        if let Some(filter) = &query.filter {
            request = request.filter_expression(&filter.expression);
            for (placeholder, name) in &filter.names {
                request = request.expression_attribute_names(placeholder, name);
            }
            for (placeholder, value) in &filter.values {
                request = request.expression_attribute_values(placeholder, attribute(value));
            }
        }
        request
    }

    /// Spends what one Query consumed from the budget, if there is one (as DynamoDB reports it;
    /// were it not to, half a unit per item read stands in).
    fn charge(
        &self,
        consumed: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>,
        scanned: i32,
    ) -> Result<(), StoreError> {
        let Some(budget) = self.budget else {
            return Ok(());
        };
        let units = consumed
            .and_then(|consumed| consumed.capacity_units())
            .unwrap_or(f64::from(scanned.max(0)) * 0.5);
        budget.spend(units)
    }

    /// Every item of one partition that the query selects, as rows, in the query's order. For
    /// small partitions (counters, aggregates): it holds them all.
    pub async fn partition<T: DeserializeOwned>(
        &self,
        query: &PartitionQuery,
    ) -> Result<Vec<T>, StoreError> {
        let mut rows = Vec::new();
        if !query.can_hold_items() {
            return Ok(rows);
        }
        let mut start = query.start_after.as_deref().map(start_key);
        loop {
            let output = self
                .request(query)
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            self.charge(output.consumed_capacity(), output.scanned_count())?;
            for item in output.items.unwrap_or_default() {
                rows.push(serde_dynamo::from_item(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(rows),
            }
        }
    }

    /// Counts the matching items. Reads every item of the partition that the key selects (a COUNT
    /// is billed like reading them), so it costs what that partition holds, never the whole table.
    pub async fn count(&self, query: &PartitionQuery) -> Result<u64, StoreError> {
        let mut total = 0u64;
        if !query.can_hold_items() {
            return Ok(total);
        }
        let mut start = query.start_after.as_deref().map(start_key);
        loop {
            let output = self
                .request(query)
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            self.charge(output.consumed_capacity(), output.scanned_count())?;
            total += u64::try_from(output.count()).unwrap_or(0);
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }
}

/// A string attribute, or `""` when it is absent or not a string.
pub fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    match item.get(name) {
        Some(AttributeValue::S(value)) => value.as_str(),
        _ => "",
    }
}

/// The result of reading a window of a merged listing.
#[derive(Debug)]
pub struct Window<T> {
    pub items: Vec<T>,
    /// True when every partition was read to its end: the matches are exactly `skipped + items`.
    pub exhausted: bool,
    pub skipped: usize,
}

impl<T> Default for Window<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            exhausted: false,
            skipped: 0,
        }
    }
}

struct Cursor<T> {
    query: PartitionQuery,
    buffer: VecDeque<T>,
    next_start: Option<Item>,
    done: bool,
}

/// How a merged read orders and selects rows.
pub struct Merge<'a, T> {
    /// `Less` when the first row comes first. Each partition must already be in this order.
    pub order: &'a (dyn Fn(&T, &T) -> Ordering + Sync),
    /// Conditions DynamoDB cannot express (case-insensitive text, expiry), applied while reading.
    pub keep: &'a (dyn Fn(&T) -> bool + Sync),
}

impl Reader<'_> {
    /// Reads matches `skip..skip+take` of the merge of `queries` (a k-way merge by `merge.order`),
    /// each item read as a row `T`.
    ///
    /// Each partition is read lazily, all that need more at once, in chunks no larger than what is
    /// still needed, so a page costs about one page of reads plus a small chunk per extra partition.
    pub async fn window<T: DeserializeOwned + Send>(
        &self,
        queries: Vec<PartitionQuery>,
        merge: &Merge<'_, T>,
        skip: usize,
        take: usize,
    ) -> Result<Window<T>, StoreError> {
        let partitions = queries.len().max(1);
        let mut cursors: Vec<Cursor<T>> = queries
            .into_iter()
            .map(|query| Cursor {
                next_start: query.start_after.as_deref().map(start_key),
                done: !query.can_hold_items(),
                query,
                buffer: VecDeque::new(),
            })
            .collect();
        let wanted = skip.saturating_add(take);
        let mut window = Window::default();
        let mut seen = 0usize;
        while seen < wanted {
            let chunk = (wanted - seen).div_ceil(partitions).clamp(10, 1_000);
            // At most CONCURRENT_QUERIES at once: a list over thousands of partitions (every
            // instance of a platform) must not open thousands of connections.
            // Collected first: a stream over the iterator's closures is not Send for every lifetime.
            let mut refills = Vec::new();
            for cursor in cursors.iter_mut() {
                if cursor.buffer.is_empty() && !cursor.done {
                    refills.push(self.fill(cursor, chunk, merge.keep));
                }
            }
            let filled: Vec<Result<(), StoreError>> =
                futures::StreamExt::collect(futures::StreamExt::buffer_unordered(
                    futures::stream::iter(refills),
                    CONCURRENT_QUERIES,
                ))
                .await;
            filled.into_iter().collect::<Result<(), StoreError>>()?;
            let first = cursors
                .iter()
                .enumerate()
                .filter_map(|(index, cursor)| cursor.buffer.front().map(|row| (index, row)))
                .min_by(|a, b| (merge.order)(a.1, b.1))
                .map(|(index, _)| index);
            let Some(row) = first.and_then(|index| cursors[index].buffer.pop_front()) else {
                window.exhausted = true;
                break;
            };
            seen += 1;
            if seen > skip {
                window.items.push(row);
            } else {
                window.skipped += 1;
            }
        }
        if !window.exhausted {
            window.exhausted = cursors.iter().all(|c| c.done && c.buffer.is_empty());
        }
        Ok(window)
    }

    /// Reads the next chunk of one partition; a filtered chunk may come back empty while more remain.
    async fn fill<T: DeserializeOwned>(
        &self,
        cursor: &mut Cursor<T>,
        chunk: usize,
        keep: &(dyn Fn(&T) -> bool + Sync),
    ) -> Result<(), StoreError> {
        while cursor.buffer.is_empty() && !cursor.done {
            let output = self
                .request(&cursor.query)
                .limit(i32::try_from(chunk).unwrap_or(1_000))
                .set_exclusive_start_key(cursor.next_start.take())
                .send()
                .await?;
            self.charge(output.consumed_capacity(), output.scanned_count())?;
            for item in output.items.unwrap_or_default() {
                let row: T = serde_dynamo::from_item(item)?;
                if keep(&row) {
                    cursor.buffer.push_back(row);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => cursor.next_start = Some(key),
                _ => cursor.done = true,
            }
        }
        Ok(())
    }
}

/// True when a transaction was cancelled because one of its conditions did not hold.
pub fn lost_condition<R>(
    error: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .any(|reason| reason.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_built_in_roots_parse_when_the_client_is_built() {
        // The SDK parses the trust store while it validates the client; a bad bundle would panic.
        assert_eq!(
            String::from_utf8_lossy(AMAZON_TRUST_SERVICES)
                .matches("BEGIN CERTIFICATE")
                .count(),
            5
        );
        let client = Client::new(&sdk_config().await);
        assert!(client.config().http_client().is_some());
    }
}
