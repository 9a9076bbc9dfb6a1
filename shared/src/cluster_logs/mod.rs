//! Cluster logs (OpenShift Cluster Manager's service log API): the model, its store, its list
//! queries and its wire format.

//!
//! Layers, one file each: [`request`] (the only code that knows lambda_http), [`query`] (typed
//! parameters), [`plan`] (what a list reads, pure), [`store`] (the only code that runs DynamoDB
//! requests), [`table`] (the key schema), [`wire`] (the bodies), and the [`search`] language.

pub mod cluster;
mod error;
pub mod ingest;
mod model;
pub mod plan;
pub(crate) mod query;
pub mod registry;
pub mod request;
pub mod search;
mod store;
pub mod table;
pub mod wire;

pub use cluster::{Audience, Cluster, ClusterNames, Registered};
pub use error::{ClusterLogError, ErrorCode};
pub use model::{ClusterLog, ClusterLogDraft, Severity, Visibility};
pub use query::{ClusterLogFilter, ClusterLogOrder, ClusterScope, PageRequest, SortTime};
pub use store::{ClusterLogStore, Created, ListPage, StoredClusterLog};

/// Base path of every cluster-log route.
pub const BASE_PATH: &str = "/api/service_logs/v1";
/// Environment variable naming the cluster-logs table.
pub const TABLE_VAR: &str = "CLUSTER_LOGS_TABLE";

/// What every cluster-log function holds across invocations: built once at cold start.
#[derive(Debug, Clone)]
pub struct ClusterLogsState {
    pub store: ClusterLogStore,
    pub auth: crate::identity::Authenticator,
}

impl ClusterLogsState {
    pub async fn from_env() -> Result<Self, crate::dynamo::StoreError> {
        let table = crate::dynamo::table_name(TABLE_VAR)?;
        let client = crate::dynamo::client_from_env().await;
        Ok(Self {
            store: ClusterLogStore::new(client, table).with_lifetime(
                crate::retention::Lifetime::from_env(crate::retention::CLUSTER_LOGS_RETENTION_VAR)?,
            ),
            auth: crate::identity::Authenticator::from_env(),
        })
    }
}

pub use table::{
    CLUSTER_ID_CREATED_INDEX, CLUSTER_ID_INDEX, CLUSTER_UUID_CREATED_INDEX, CLUSTER_UUID_INDEX,
    COUNTER_INDEX, TIME_CREATED_INDEX, TIME_INDEX, TIME_SHARDS,
};
