//! System logs (Waldur's `/api/system-logs/`): the model, the one write path every writer uses,
//! the store, list queries and the DRF-style wire format.

//!
//! Layers, one file each: [`request`] (the only code that knows lambda_http), [`query`] (typed
//! parameters), [`plan`] (what a list reads, pure), [`store`] and [`cap`] (the only code that runs
//! DynamoDB requests), [`table`] (the key schema), [`wire`] (the bodies and pagination headers).

mod cap;
pub mod cloudwatch;
mod error;
mod model;
pub mod plan;
pub mod query;
pub mod request;
pub(crate) mod scrub;
pub(crate) mod store;
pub mod table;
pub mod wire;

pub use cap::{CapReport, MAX_DELETES_PER_RUN, MAX_PER_SOURCE_VAR, max_per_source_from_env};
pub use error::SystemLogError;
pub use model::{Level, Source, SystemLog, SystemLogRecord};
pub use query::{
    Cursor, Ordering, PageNumber, PageSpec, QueryParams, SystemLogFilter, list_request,
};
pub use scrub::{MESSAGE_MAX_CHARS, TRACEBACK_MAX_CHARS, scrub};
pub use store::{InstanceAggregate, LogPage, SystemLogStore, WriteError, Written};
pub use table::{AGGREGATE_INDEX, INSTANCE_INDEX, LEVEL_INDEX, MAX_ID, created_key, log_key};

/// Environment variable naming the system-logs table.
pub const TABLE_VAR: &str = "SYSTEM_LOGS_TABLE";

/// What every system-log function holds across invocations: built once at cold start.
#[derive(Debug, Clone)]
pub struct SystemLogsState {
    pub store: SystemLogStore,
    pub auth: crate::identity::Authenticator,
}

impl SystemLogsState {
    /// The state of a route's function; a `WALDUR_API_URL` that is not https fails the cold start.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        Ok(Self {
            store: SystemLogStore::from_env().await?,
            auth: crate::identity::Authenticator::from_env_with_waldur()?,
        })
    }
}

impl SystemLogStore {
    /// The table named by `SYSTEM_LOGS_TABLE`, with the retention `SYSTEM_LOGS_RETENTION_DAYS` sets.
    pub async fn from_env() -> Result<Self, crate::dynamo::StoreError> {
        let table = crate::dynamo::table_name(TABLE_VAR)?;
        let client = crate::dynamo::client_from_env().await;
        Ok(
            SystemLogStore::new(client, table).with_lifetime(crate::retention::Lifetime::from_env(
                crate::retention::SYSTEM_LOGS_RETENTION_VAR,
            )?),
        )
    }
}
