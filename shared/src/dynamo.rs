//! DynamoDB access shared by both log kinds: the client, error classification, and reading an
//! index newest first, across one or several partitions merged by sort key.

use std::collections::{HashMap, VecDeque};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Select};

pub type Item = HashMap<String, AttributeValue>;

/// Builds the DynamoDB client from the standard AWS configuration chain. Locally, the standard
/// `AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local; there is no endpoint code of our own.
pub async fn client_from_env() -> Client {
    let config = aws_config::load_from_env().await;
    Client::new(&config)
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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB is unreachable, timing out or throttling: the caller should retry.
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
    #[error("DynamoDB rejected the request: {0}")]
    Rejected(String),
    #[error("a stored item could not be read: {0}")]
    Corrupt(#[from] serde_dynamo::Error),
    #[error("the function is misconfigured: {0}")]
    Misconfigured(String),
}

const RETRYABLE_CODES: [&str; 5] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
];

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    fn from(error: SdkError<E, R>) -> Self {
        let retryable = match &error {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ServiceError(service) => service
                .err()
                .code()
                .is_some_and(|code| RETRYABLE_CODES.contains(&code)),
            _ => false,
        };
        let text = DisplayErrorContext(&error).to_string();
        if retryable {
            StoreError::Unavailable(text)
        } else {
            StoreError::Rejected(text)
        }
    }
}

/// One Query over one partition of a table or index, read newest first (descending sort key).
#[derive(Debug, Clone)]
pub struct PartitionQuery {
    pub table: String,
    pub index: Option<&'static str>,
    pub partition_attribute: &'static str,
    pub partition_value: String,
    /// A FilterExpression over non-key attributes, with its names and values bound, never pasted.
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Filter {
    /// ANDs `other` onto this filter; names and values must use distinct placeholders.
    pub fn and(mut self, other: Filter) -> Filter {
        self.expression = if self.expression.is_empty() {
            other.expression
        } else {
            format!("({}) AND ({})", self.expression, other.expression)
        };
        self.names.extend(other.names);
        self.values.extend(other.values);
        self
    }

    /// `attribute = value`, both bound through placeholders named after `tag`.
    pub fn equals(tag: &str, attribute: &str, value: AttributeValue) -> Filter {
        Filter {
            expression: format!("#{tag} = :{tag}"),
            names: HashMap::from([(format!("#{tag}"), attribute.to_owned())]),
            values: HashMap::from([(format!(":{tag}"), value)]),
        }
    }
}

impl PartitionQuery {
    fn request(
        &self,
        client: &Client,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let mut request = client
            .query()
            .table_name(&self.table)
            .set_index_name(self.index.map(str::to_owned))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", self.partition_attribute)
            .expression_attribute_values(":pk", AttributeValue::S(self.partition_value.clone()))
            .scan_index_forward(false);
        if let Some(filter) = &self.filter {
            request = request.filter_expression(&filter.expression);
            for (placeholder, name) in &filter.names {
                request = request.expression_attribute_names(placeholder, name);
            }
            for (placeholder, value) in &filter.values {
                request = request.expression_attribute_values(placeholder, value.clone());
            }
        }
        request
    }

    /// Counts the matching items. Reads every item of the partition that the key selects (a COUNT
    /// is billed like reading them), so it costs what that partition holds, never the whole table.
    pub async fn count(&self, client: &Client) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .request(client)
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            total += u64::try_from(output.count()).unwrap_or(0);
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }
}

/// Sort order of merged items: by this attribute, then by `tie_breaker`, both descending.
#[derive(Debug, Clone, Copy)]
pub struct NewestFirst {
    pub sort_attribute: &'static str,
    pub tie_breaker: &'static str,
}

impl NewestFirst {
    fn key<'a>(&self, item: &'a Item) -> (&'a str, &'a str) {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(value)) => value.as_str(),
            _ => "",
        };
        (text(self.sort_attribute), text(self.tie_breaker))
    }
}

/// The result of reading a window of a newest-first listing.
#[derive(Debug, Default)]
pub struct Window {
    pub items: Vec<Item>,
    /// True when every partition was read to its end: the matches are exactly `skipped + items`.
    pub exhausted: bool,
    pub skipped: usize,
}

struct Cursor {
    query: PartitionQuery,
    buffer: VecDeque<Item>,
    next_start: Option<Item>,
    done: bool,
}

/// Reads items `skip..skip+take` of the newest-first merge of `queries`.
///
/// Each partition is read lazily in chunks no larger than what is still needed, so a first page
/// costs about one page of reads plus one small chunk per extra partition, and never the table.
pub async fn read_window(
    client: &Client,
    queries: Vec<PartitionQuery>,
    order: NewestFirst,
    skip: usize,
    take: usize,
) -> Result<Window, StoreError> {
    let partitions = queries.len().max(1);
    let mut cursors: Vec<Cursor> = queries
        .into_iter()
        .map(|query| Cursor {
            query,
            buffer: VecDeque::new(),
            next_start: None,
            done: false,
        })
        .collect();
    let wanted = skip.saturating_add(take);
    let mut window = Window::default();
    let mut seen = 0usize;
    while seen < wanted {
        let remaining = wanted - seen;
        for cursor in cursors
            .iter_mut()
            .filter(|c| c.buffer.is_empty() && !c.done)
        {
            let chunk = remaining.div_ceil(partitions).clamp(10, 1_000);
            fill(client, cursor, chunk).await?;
        }
        let newest = cursors
            .iter()
            .enumerate()
            .filter_map(|(index, cursor)| {
                cursor.buffer.front().map(|item| (index, order.key(item)))
            })
            .max_by(|a, b| a.1.cmp(&b.1))
            .map(|(index, _)| index);
        let Some(index) = newest else {
            window.exhausted = true;
            break;
        };
        let Some(item) = cursors[index].buffer.pop_front() else {
            break;
        };
        seen += 1;
        if seen > skip {
            window.items.push(item);
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
async fn fill(client: &Client, cursor: &mut Cursor, chunk: usize) -> Result<(), StoreError> {
    while cursor.buffer.is_empty() && !cursor.done {
        let output = cursor
            .query
            .request(client)
            .limit(i32::try_from(chunk).unwrap_or(1_000))
            .set_exclusive_start_key(cursor.next_start.take())
            .send()
            .await?;
        cursor.buffer.extend(output.items.unwrap_or_default());
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => cursor.next_start = Some(key),
            _ => cursor.done = true,
        }
    }
    Ok(())
}
