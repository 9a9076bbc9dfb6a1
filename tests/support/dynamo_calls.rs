//! DynamoDB clients for tests that look at the calls themselves: one that records what each call
//! needs IAM to allow, and ones that DynamoDB throttles or refuses (answered here, never sent).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents as Components;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// The IAM permissions the calls a client made needed: (action, resource), the resource being the
/// table name or `TABLE/index/INDEX`.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<BTreeSet<(String, String)>>>);

impl CallLog {
    /// A client like `client` whose calls are recorded here.
    pub fn watching(client: &Client) -> (Client, CallLog) {
        let log = CallLog::default();
        let config = client
            .config()
            .to_builder()
            .interceptor(log.clone())
            .build();
        (Client::from_conf(config), log)
    }

    pub fn permissions(&self) -> BTreeSet<(String, String)> {
        self.0.lock().map(|set| set.clone()).unwrap_or_default()
    }

    fn add(&self, action: &str, table: &str, index: Option<&str>) {
        let resource = match index {
            Some(index) => format!("{table}/index/{index}"),
            None => table.to_owned(),
        };
        if let Ok(mut set) = self.0.lock() {
            set.insert((format!("dynamodb:{action}"), resource));
        }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let table = |name: Option<&str>| name.unwrap_or("?").to_owned();
        if let Some(query) = input.downcast_ref::<operation::query::QueryInput>() {
            self.add("Query", &table(query.table_name()), query.index_name());
        } else if let Some(scan) = input.downcast_ref::<operation::scan::ScanInput>() {
            self.add("Scan", &table(scan.table_name()), scan.index_name());
        } else if let Some(get) = input.downcast_ref::<operation::get_item::GetItemInput>() {
            self.add("GetItem", &table(get.table_name()), None);
        } else if let Some(put) = input.downcast_ref::<operation::put_item::PutItemInput>() {
            self.add("PutItem", &table(put.table_name()), None);
        } else if let Some(update) = input.downcast_ref::<operation::update_item::UpdateItemInput>()
        {
            self.add("UpdateItem", &table(update.table_name()), None);
        } else if let Some(delete) = input.downcast_ref::<operation::delete_item::DeleteItemInput>()
        {
            self.add("DeleteItem", &table(delete.table_name()), None);
        } else if let Some(describe) =
            input.downcast_ref::<operation::describe_table::DescribeTableInput>()
        {
            self.add("DescribeTable", &table(describe.table_name()), None);
        } else if let Some(batch) =
            input.downcast_ref::<operation::batch_write_item::BatchWriteItemInput>()
        {
            for name in batch
                .request_items()
                .into_iter()
                .flat_map(|items| items.keys())
            {
                self.add("BatchWriteItem", name, None);
            }
        } else if let Some(batch) =
            input.downcast_ref::<operation::batch_get_item::BatchGetItemInput>()
        {
            for name in batch
                .request_items()
                .into_iter()
                .flat_map(|items| items.keys())
            {
                self.add("BatchGetItem", name, None);
            }
        } else if let Some(transaction) =
            input.downcast_ref::<operation::transact_write_items::TransactWriteItemsInput>()
        {
            // IAM authorizes each action of a transaction as the single-item call.
            for item in transaction.transact_items() {
                if let Some(put) = item.put() {
                    self.add("PutItem", put.table_name(), None);
                }
                if let Some(update) = item.update() {
                    self.add("UpdateItem", update.table_name(), None);
                }
                if let Some(delete) = item.delete() {
                    self.add("DeleteItem", delete.table_name(), None);
                }
                if let Some(check) = item.condition_check() {
                    self.add("ConditionCheckItem", check.table_name(), None);
                }
            }
        } else {
            self.add("an operation CallLog does not know", "?", None);
        }
        Ok(())
    }
}

/// Which requests an [`Answering`] client answers itself, and with what DynamoDB error body.
trait Rule: std::fmt::Debug + Send + Sync + 'static {
    /// `Some(body)`: answer `request` with a DynamoDB 400 of that body instead of sending it.
    fn answer(&self, request: &HttpRequest) -> Option<&'static str>;
}

/// An HTTP client in front of DynamoDB that answers the requests its rule picks itself (they are
/// never sent), as DynamoDB would answer them, and counts them.
#[derive(Debug)]
struct Answering<R> {
    inner: SharedHttpClient,
    rule: Arc<R>,
    answered: Arc<AtomicU64>,
}

impl<R> Clone for Answering<R> {
    fn clone(&self) -> Self {
        Answering {
            inner: self.inner.clone(),
            rule: self.rule.clone(),
            answered: self.answered.clone(),
        }
    }
}

impl<R: Rule> Answering<R> {
    /// A client like `client` whose requests pass through `rule` first.
    fn client(client: &Client, rule: R) -> (Client, Self) {
        let answering = Answering {
            inner: client
                .config()
                .http_client()
                .expect("the client has an HTTP client"),
            rule: Arc::new(rule),
            answered: Arc::new(AtomicU64::new(0)),
        };
        let config = client
            .config()
            .to_builder()
            .http_client(answering.clone())
            .build();
        (Client::from_conf(config), answering)
    }

    fn answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }
}

impl<R: Rule> HttpClient for Answering<R> {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &Components,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(AnsweringConnector {
            inner: self.inner.http_connector(settings, components),
            answering: self.clone(),
        })
    }
}

#[derive(Debug)]
struct AnsweringConnector<R> {
    inner: SharedHttpConnector,
    answering: Answering<R>,
}

impl<R: Rule> HttpConnector for AnsweringConnector<R> {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(body) = self.answering.rule.answer(&request) else {
            return self.inner.call(request);
        };
        self.answering.answered.fetch_add(1, Ordering::SeqCst);
        let mut response = HttpResponse::new(
            StatusCode::try_from(400).expect("a status code"),
            SdkBody::from(body),
        );
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(response))
    }
}

/// An HTTP client in front of DynamoDB that answers the next `calls` calls itself with
/// `ProvisionedThroughputExceededException`, as DynamoDB does when a partition is over its limit.
#[derive(Debug, Clone)]
pub struct Throttling(Answering<ThrottleNext>);

#[derive(Debug)]
struct ThrottleNext {
    remaining: AtomicU64,
}

impl Rule for ThrottleNext {
    fn answer(&self, _: &HttpRequest) -> Option<&'static str> {
        let throttled = self
            .remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        throttled.then_some(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
        )
    }
}

impl Throttling {
    /// A client like `client` that DynamoDB throttles for the next `calls` calls.
    pub fn client(client: &Client, calls: u64) -> (Client, Throttling) {
        let remaining = AtomicU64::new(calls);
        let (client, answering) = Answering::client(client, ThrottleNext { remaining });
        (client, Throttling(answering))
    }

    /// Throttles the next `calls` calls (0: none).
    pub fn throttle(&self, calls: u64) {
        self.0.rule.remaining.store(calls, Ordering::SeqCst);
    }

    /// Calls answered with a throttling error so far.
    pub fn throttled(&self) -> u64 {
        self.0.answered()
    }
}

/// The text that makes [`Refusing`] refuse a request: put it in a field of a log.
pub const REFUSED_MARKER: &str = "refused-by-dynamodb";

/// An HTTP client in front of DynamoDB that refuses, with DynamoDB's `ValidationException`, every
/// request whose body holds [`REFUSED_MARKER`]: an item DynamoDB takes for no reason the checks
/// before it foresaw (a BatchWriteItem holding it is refused whole, as DynamoDB refuses one).
#[derive(Debug, Clone)]
pub struct Refusing(Answering<RefuseMarked>);

#[derive(Debug)]
struct RefuseMarked;

impl Rule for RefuseMarked {
    fn answer(&self, request: &HttpRequest) -> Option<&'static str> {
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        // Writes of logs only: claims and counts (transactions) are left alone.
        let writes_logs = target.ends_with("BatchWriteItem") || target.ends_with("PutItem");
        let marked = request.body().bytes().is_some_and(|body| {
            body.windows(REFUSED_MARKER.len())
                .any(|w| w == REFUSED_MARKER.as_bytes())
        });
        (writes_logs && marked).then_some(
            r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid: refused for the test"}"#,
        )
    }
}

impl Refusing {
    pub fn client(client: &Client) -> (Client, Refusing) {
        let (client, answering) = Answering::client(client, RefuseMarked);
        (client, Refusing(answering))
    }

    /// Requests refused so far.
    pub fn refused(&self) -> u64 {
        self.0.answered()
    }
}
