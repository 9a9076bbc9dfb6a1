//! What the integration tests share: DynamoDB Local, a fresh table per test made from
//! template.yaml, callers, and requests built as API Gateway HTTP API (payload 2.0) events.

pub mod dynamo_calls;
pub mod stand_ins;

use std::path::PathBuf;

use aws_sdk_dynamodb::Client;
use devtools::template::Template;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::cluster_logs::{ClusterLogStore, ClusterLogsState};
use shared::identity::Authenticator;
use shared::system_logs::{SystemLogStore, SystemLogsState};

/// The local token secret the tests switch on where they test local tokens.
pub const LOCAL_SECRET: &str = "integration-test-secret";

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Names of the entries of a workspace folder, e.g. `events` or `functions`.
/// Every Lambda function: the binaries in functions/src/bin.
pub fn function_names() -> Vec<String> {
    file_names("functions/src/bin")
        .into_iter()
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .collect()
}

pub fn file_names(folder: &str) -> Vec<String> {
    std::fs::read_dir(workspace_root().join(folder))
        .unwrap_or_else(|e| panic!("{folder}/: {e}"))
        .map(|entry| {
            entry
                .expect("a folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// The sample event `events/<function>.json` as the function receives it.
pub fn sample_event(function: &str) -> Request {
    let path = workspace_root()
        .join("events")
        .join(format!("{function}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lambda_http::request::from_str(&text).expect("a valid API Gateway event")
}

/// The sample event files whose names start with `prefix`, sorted.
pub fn sample_event_files(prefix: &str) -> Vec<String> {
    let mut files: Vec<String> = file_names("events")
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .collect();
    files.sort();
    files
}

pub fn template() -> Template {
    Template::load(&workspace_root().join("template.yaml")).expect("template.yaml parses")
}

/// A client for the DynamoDB Local that `make test` started.
pub async fn dynamodb() -> Client {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
            .is_ok_and(|url| url.starts_with("http://127.0.0.1")),
        "AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local on 127.0.0.1: run the tests with `make test`"
    );
    shared::dynamo::client_from_env().await
}

/// Creates a table with a unique name from the template's definition of `logical_id`.
pub async fn fresh_table(client: &Client, logical_id: &str) -> String {
    let tables = template().tables().expect("tables in template.yaml");
    let definition = tables
        .get(logical_id)
        .expect("table declared in template.yaml");
    let name = format!("{logical_id}-{}", ulid::Ulid::new());
    definition
        .create(client, &name)
        .await
        .expect("table created on DynamoDB Local");
    name
}

/// Cluster-log functions' state over a fresh table; local tokens on, as under `make dev`.
pub async fn cluster_logs_state() -> ClusterLogsState {
    let client = dynamodb().await;
    let table = fresh_table(&client, "ClusterLogsTable").await;
    ClusterLogsState {
        store: ClusterLogStore::new(client, table),
        auth: Authenticator::new("groups", Some(LOCAL_SECRET)),
    }
}

/// System-log functions' state over a fresh table; local tokens on, as under `make dev`.
pub async fn system_logs_state() -> SystemLogsState {
    let client = dynamodb().await;
    let table = fresh_table(&client, "SystemLogsTable").await;
    SystemLogsState {
        store: SystemLogStore::new(client, table),
        auth: Authenticator::new("groups", Some(LOCAL_SECRET)),
    }
}

/// System-log functions' state as `WALDUR_API_URL=<waldur> make dev` builds it: local tokens, and
/// Waldur's tokens checked by the Waldur at `waldur` and remembered for `cache_seconds`.
pub async fn system_logs_state_with_waldur(waldur: &str, cache_seconds: u64) -> SystemLogsState {
    let state = system_logs_state().await;
    SystemLogsState {
        auth: state.auth.clone().with_local_waldur(
            shared::waldur::WaldurUsers::new(waldur).expect("a loopback URL"),
            cache_seconds,
        ),
        store: state.store,
    }
}

/// The authorizer event API Gateway sends for a request with this Authorization header (none: no
/// header), from events/system-logs-authorizer.json.
pub fn authorizer_event(
    authorization: Option<&str>,
) -> lambda_runtime::LambdaEvent<aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request> {
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("events/system-logs-authorizer.json"))
            .expect("the sample authorizer event"),
    )
    .expect("JSON");
    match authorization {
        Some(value) => event["headers"]["authorization"] = json!(value),
        None => {
            event["headers"]
                .as_object_mut()
                .expect("headers")
                .remove("authorization");
        }
    }
    lambda_runtime::LambdaEvent::new(
        serde_json::from_value(event).expect("an authorizer event"),
        lambda_runtime::Context::default(),
    )
}

/// The same state over the same table, reached through `client` (one that records or fails).
pub fn cluster_logs_through(state: &ClusterLogsState, client: Client) -> ClusterLogsState {
    ClusterLogsState {
        store: ClusterLogStore::new(client, state.store.table()),
        auth: state.auth.clone(),
    }
}

/// The same state over the same table, reached through `client` (one that records or fails).
pub fn system_logs_through(state: &SystemLogsState, client: Client) -> SystemLogsState {
    SystemLogsState {
        store: SystemLogStore::new(client, state.store.table()),
        auth: state.auth.clone(),
    }
}

/// Who sends a request, and how their identity reaches the function.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No credentials at all.
    Anonymous,
    /// Claims verified by API Gateway's JWT authorizer, as deployed; roles as API Gateway flattens
    /// them, and the organization claim (`org_id`) when there is one.
    Gateway {
        user: String,
        roles: Vec<String>,
        organization: Option<String>,
    },
    /// A local token in the Authorization header, as under `make dev`.
    LocalToken(String),
    /// The context the system-log routes' Lambda authorizer returned, as deployed.
    LambdaAuthorizer(std::collections::HashMap<String, String>),
}

/// The organization of [`Caller::customer`].
pub const CUSTOMER_ORGANIZATION: &str = "acme";

impl Caller {
    pub fn with_roles(roles: &[&str]) -> Self {
        Caller::Gateway {
            user: "jdoe".to_owned(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            organization: None,
        }
    }

    /// An SRE tool or agent (osdctl, CAD): posts, and reads every organization's public logs.
    pub fn sre() -> Self {
        Self::with_roles(&["service-logs-writer", "service-logs-reader"])
    }

    pub fn writer() -> Self {
        Self::with_roles(&["service-logs-writer"])
    }

    pub fn reader() -> Self {
        Self::with_roles(&["service-logs-reader"])
    }

    /// A customer of [`CUSTOMER_ORGANIZATION`]: no role.
    pub fn customer() -> Self {
        Self::customer_of(CUSTOMER_ORGANIZATION)
    }

    pub fn customer_of(organization: &str) -> Self {
        Caller::Gateway {
            user: format!("{organization}-user"),
            roles: Vec::new(),
            organization: Some(organization.to_owned()),
        }
    }

    /// A token with neither a role nor an organization.
    pub fn nobody() -> Self {
        Self::with_roles(&[])
    }

    pub fn internal() -> Self {
        Self::with_roles(&["service-logs-internal"])
    }

    pub fn admin() -> Self {
        Self::with_roles(&["service-logs-admin", "service-logs-internal"])
    }
}

/// Puts a cluster into `organization`, as a cluster message does (now: later than before).
pub async fn register_cluster(state: &ClusterLogsState, uuid: &str, id: &str, organization: &str) {
    let cluster = shared::cluster_logs::Cluster {
        cluster_uuid: uuid.to_owned(),
        cluster_id: id.to_owned(),
        subscription_id: None,
        organization_id: Some(organization.to_owned()),
    };
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    state
        .store
        .registry()
        .register(&cluster, now_ms)
        .await
        .expect("the cluster registered");
}

/// A request as API Gateway delivers it to the route `route` (e.g. `/cluster_logs/{id}`).
#[derive(Debug, Clone)]
pub struct ApiRequest {
    method: &'static str,
    route: String,
    path: String,
    path_parameters: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<String>,
    base64_body: bool,
    caller: Caller,
    request_id: String,
    headers: Vec<(String, String)>,
}

impl ApiRequest {
    /// `route` and `path` are relative to /api/service_logs/v1.
    pub fn new(method: &'static str, route: &str, path: &str) -> Self {
        Self::under(shared::cluster_logs::BASE_PATH, method, route, path)
    }

    /// A system-logs request: `route` and `path` are relative to /api/system-logs; a reader calls.
    pub fn system(method: &'static str, route: &str, path: &str) -> Self {
        Self::under("/api/system-logs", method, route, path)
            .caller(Caller::with_roles(&["system-logs-reader"]))
    }

    /// A request to a route given whole (`/api/...`), its path the route itself.
    pub fn at(method: &'static str, route: &str) -> Self {
        Self::under("", method, route, route)
    }

    fn under(base: &str, method: &'static str, route: &str, path: &str) -> Self {
        Self {
            method,
            route: format!("{base}{route}"),
            path: format!("{base}{path}"),
            path_parameters: Vec::new(),
            query: Vec::new(),
            body: None,
            base64_body: false,
            caller: Caller::sre(),
            request_id: format!("req-{}", ulid::Ulid::new()),
            headers: Vec::new(),
        }
    }

    pub fn path_parameter(mut self, name: &str, value: &str) -> Self {
        self.path_parameters
            .push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// A body API Gateway passes base64-encoded, as it does with bytes that are not text.
    pub fn binary_body(mut self, bytes: &[u8]) -> Self {
        use base64::Engine;
        self.body = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
        self.base64_body = true;
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.body(body.to_string())
    }

    /// A header as the client sends it (API Gateway hands them over lower-cased).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn caller(mut self, caller: Caller) -> Self {
        self.caller = caller;
        self
    }

    pub fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn event(&self) -> Value {
        let mut headers = json!({"accept": "application/json", "host": "api.example.com", "x-forwarded-proto": "https"});
        let mut authorizer = Value::Null;
        match &self.caller {
            Caller::Anonymous => {}
            Caller::Gateway {
                user,
                roles,
                organization,
            } => {
                authorizer = json!({"jwt": {"claims": {
                    "sub": format!("sub-{user}"), "preferred_username": user, "email": format!("{user}@example.com"),
                    "given_name": "Jane", "family_name": "Doe", "groups": format!("[{}]", roles.join(" ")),
                }, "scopes": null}});
                if let Some(organization) = organization {
                    authorizer["jwt"]["claims"]["org_id"] = json!(organization);
                }
            }
            Caller::LocalToken(token) => {
                headers["authorization"] = json!(format!("Bearer {token}"));
            }
            Caller::LambdaAuthorizer(context) => {
                authorizer = json!({ "lambda": context });
            }
        }
        let raw_query = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut event = json!({
            "version": "2.0",
            "routeKey": format!("{} {}", self.method, self.route),
            "rawPath": self.path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "local", "domainName": "api.example.com",
                "stage": "$default", "requestId": self.request_id, "routeKey": format!("{} {}", self.method, self.route),
                "time": "21/Nov/2026:10:00:00 +0000", "timeEpoch": 0,
                "http": {"method": self.method, "path": self.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "tests"},
            },
            "isBase64Encoded": false,
        });
        if !authorizer.is_null() {
            event["requestContext"]["authorizer"] = authorizer;
        }
        if !self.query.is_empty() {
            event["queryStringParameters"] = self
                .query
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
        }
        if !self.path_parameters.is_empty() {
            event["pathParameters"] = self
                .path_parameters
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
        }
        for (name, value) in &self.headers {
            event["headers"][name] = json!(value);
        }
        if let Some(body) = &self.body {
            event["body"] = json!(body);
            event["isBase64Encoded"] = json!(self.base64_body);
            event["headers"]["content-type"] = json!("application/json");
        }
        event
    }

    pub fn build(&self) -> Request {
        lambda_http::request::from_str(&self.event().to_string())
            .expect("a valid API Gateway event")
    }
}

/// An SQS message as Lambda delivers it in a batch.
pub fn sqs_message(message_id: &str, body: &str) -> Value {
    json!({
        "messageId": message_id, "receiptHandle": "handle", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795255200123"},
        "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:queue", "awsRegion": "eu-west-1",
    })
}

/// A gzip body, inflated.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut inflated)
        .expect("a gzip body");
    inflated
}

/// A response's status and its body parsed as JSON (`Null` when empty).
pub fn read(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.body().as_ref();
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).expect("a JSON body")
    };
    (status, json)
}

/// Every cluster-log route: method, route under /api/service_logs/v1, and the function serving it.
pub const CLUSTER_LOG_ROUTES: [(&str, &str, &str); 6] = [
    ("POST", "/cluster_logs", "cluster-logs-create"),
    ("GET", "/cluster_logs", "cluster-logs-list"),
    ("GET", "/cluster_logs/{id}", "cluster-logs-get"),
    ("DELETE", "/cluster_logs/{id}", "cluster-logs-delete"),
    (
        "GET",
        "/clusters/{uuid}/cluster_logs",
        "cluster-logs-list-by-uuid",
    ),
    (
        "GET",
        "/clusters/cluster_logs",
        "cluster-logs-list-by-cluster",
    ),
];

/// Runs `request` through the handler of the function `function`, as its main.rs would.
pub async fn invoke(state: &ClusterLogsState, function: &str, request: Request) -> Response<Body> {
    let outcome = match function {
        "cluster-logs-create" => functions::cluster_logs_create::handler(state, request).await,
        "cluster-logs-get" => functions::cluster_logs_get::handler(state, request).await,
        "cluster-logs-delete" => functions::cluster_logs_delete::handler(state, request).await,
        "cluster-logs-list" => functions::cluster_logs_list::handler(state, request).await,
        "cluster-logs-list-by-uuid" => {
            functions::cluster_logs_list_by_uuid::handler(state, request).await
        }
        "cluster-logs-list-by-cluster" => {
            functions::cluster_logs_list_by_cluster::handler(state, request).await
        }
        other => panic!("no function named {other}"),
    };
    outcome.expect("handlers answer every request with a response")
}

impl ApiRequest {
    /// Sends this request to the function its method and route belong to.
    pub async fn send(&self, state: &ClusterLogsState) -> (u16, Value) {
        read(self.respond(state).await)
    }

    /// Sends this request to its function and hands back the response as it is.
    pub async fn respond(&self, state: &ClusterLogsState) -> Response<Body> {
        let base = shared::cluster_logs::BASE_PATH;
        let function = CLUSTER_LOG_ROUTES
            .iter()
            .find(|(method, route, _)| {
                *method == self.method && format!("{base}{route}") == self.route
            })
            .map(|(_, _, function)| *function)
            .expect("a declared route");
        invoke(state, function, self.build()).await
    }
}

/// Percent-encodes everything but unreserved characters, as a client building a URL does.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every system-log route: route under /api/system-logs, and the function serving it (any method).
pub const SYSTEM_LOG_ROUTES: [(&str, &str); 4] = [
    ("/", "system-logs-list"),
    ("/{id}/", "system-logs-retrieve"),
    ("/instances/", "system-logs-instances"),
    ("/stats/", "system-logs-stats"),
];

/// A response as a test reads it: status, headers by lowercase name, and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Value,
    pub raw_body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

impl ApiRequest {
    /// Sends this system-logs request to the function its route belongs to.
    pub async fn answer(&self, state: &SystemLogsState) -> Answer {
        let function = SYSTEM_LOG_ROUTES
            .iter()
            .find(|(route, _)| format!("/api/system-logs{route}") == self.route)
            .map(|(_, function)| *function)
            .expect("a declared route");
        Self::dispatch_system(state, function, self.build()).await
    }

    /// Runs `request` through the system-log function `function`, as its main.rs would.
    pub async fn dispatch_system(
        state: &SystemLogsState,
        function: &str,
        request: Request,
    ) -> Answer {
        let response = match function {
            "system-logs-list" => functions::system_logs_list::handler(state, request).await,
            "system-logs-retrieve" => {
                functions::system_logs_retrieve::handler(state, request).await
            }
            "system-logs-instances" => {
                functions::system_logs_instances::handler(state, request).await
            }
            "system-logs-stats" => functions::system_logs_stats::handler(state, request).await,
            other => panic!("no function named {other}"),
        }
        .expect("handlers answer every request with a response");
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let raw_body = response.body().as_ref().to_vec();
        let gzip = response
            .headers()
            .get("content-encoding")
            .is_some_and(|value| value == "gzip");
        let body = if raw_body.is_empty() {
            Value::Null
        } else if gzip {
            serde_json::from_slice(&gunzip(&raw_body)).expect("a JSON body")
        } else {
            serde_json::from_slice(&raw_body).expect("a JSON body")
        };
        Answer {
            status: response.status().as_u16(),
            headers,
            body,
            raw_body,
        }
    }
}
