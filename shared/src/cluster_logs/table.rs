//! The cluster-logs table's key schema, in one place: attribute and index names, and the row a log
//! is stored as. template.yaml declares the same (tests/template.rs holds the two together);
//! docs/data-model.md explains each.

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::ClusterLog;
use super::cluster::Cluster;

/// The table's partition key: a log's ULID, a counter's or a claim's key.
pub const ID: &str = "id";
pub const CLUSTER_UUID: &str = "cluster_uuid";
pub const CLUSTER_ID: &str = "cluster_id";
pub const INTERNAL_ONLY: &str = "internal_only";
/// The partition of `time-index`: one of [`TIME_SHARDS`], from the random bits of the ULID.
pub const TIME_SHARD: &str = "time_shard";

pub const CLUSTER_UUID_INDEX: &str = "cluster-uuid-index";
pub const CLUSTER_ID_INDEX: &str = "cluster-id-index";
pub const TIME_INDEX: &str = "time-index";
/// The same three partitions sorted by `created_at`, for lists in the order of creation.
pub const CLUSTER_UUID_CREATED_INDEX: &str = "cluster-uuid-created-index";
pub const CLUSTER_ID_CREATED_INDEX: &str = "cluster-id-created-index";
pub const TIME_CREATED_INDEX: &str = "time-created-index";
/// Lists the counters, so the all-clusters `total` is one small Query at any table size.
pub const COUNTER_INDEX: &str = "counter-index";
/// Partitions of `time-index`: spreads the all-logs index over this many partition keys.
pub const TIME_SHARDS: u8 = 4;

/// The counters' partition in `counter-index`, and its one value.
pub const COUNTER_KIND: &str = "counter_kind";
pub const COUNTER: &str = "count";
pub const COUNTER_PREFIX: &str = "#count#";
pub const PUBLIC_COUNT: &str = "public_logs";
pub const INTERNAL_COUNT: &str = "internal_logs";

/// The registry's items: one under each name of a cluster (crate::cluster_logs::registry).
pub const CLUSTER_BY_UUID_PREFIX: &str = "cluster#uuid#";
pub const CLUSTER_BY_ID_PREFIX: &str = "cluster#id#";
/// When the cluster message an entry came from was sent (ms): an older one never replaces it.
pub const REGISTERED_AT: &str = "registered_at";
pub const SUBSCRIPTION_ID: &str = "subscription_id";
pub const ORGANIZATION_ID: &str = "organization_id";
/// Set on an id's registry item when a log is stored under that id alone, before the log is
/// written: only then do the cluster's lists also read the id's logs that carry no UUID, a Query
/// that would otherwise read the cluster's every log again to find none.
pub const LOGS_BY_ID_ALONE: &str = "logs_by_id_alone";

/// A log as stored: its API fields, and what the indexes and the writers add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterLogRow {
    #[serde(flatten)]
    pub log: ClusterLog,
    pub time_shard: String,
    /// When DynamoDB deletes it (epoch seconds); absent while retention is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The key of its claim, for a log written from a queue (crate::batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
}

impl ClusterLogRow {
    pub fn new(log: ClusterLog, expires_at: Option<i64>) -> Self {
        Self {
            time_shard: time_shard(&log.id),
            log,
            expires_at,
            claim: None,
        }
    }
}

/// What a counter carries besides its counts: its place in `counter-index` (the partition of
/// its kind), and its logs' expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterFields {
    pub counter_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl CounterFields {
    /// A time-shard counter of the whole table.
    pub fn new(expires_at: Option<i64>) -> Self {
        Self {
            counter_kind: COUNTER.to_owned(),
            expires_at,
        }
    }

    /// A counter of one cluster's logs.
    pub fn of_cluster(counted: &ClusterCounted, expires_at: Option<i64>) -> Self {
        Self {
            counter_kind: counted.kind(),
            expires_at,
        }
    }
}

/// The logs a per-cluster counter counts: those naming a UUID, those naming an id (with or without
/// a UUID), and those naming an id and no UUID (posted before the registry knew the pair). A
/// per-cluster list without a search reads its total from these instead of counting its logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterCounted {
    Uuid(String),
    Id(String),
    IdAlone(String),
}

/// Where per-cluster counters are: `counter-index` partitions `cluster-count#<what>#<digest>`,
/// items `#ccount#<what>#<digest>#<expiry bucket>`, the digest being the name's SHA-256: a
/// cluster name may be 2 KB, and the item key is also `counter-index`'s sort key (1 KB at most).
pub const CLUSTER_COUNTER_KIND_PREFIX: &str = "cluster-count#";
pub const CLUSTER_COUNTER_PREFIX: &str = "#ccount#";

impl ClusterCounted {
    fn parts(&self) -> (&'static str, String) {
        use sha2::Digest;
        let (what, name) = match self {
            ClusterCounted::Uuid(name) => ("uuid", name),
            ClusterCounted::Id(name) => ("id", name),
            ClusterCounted::IdAlone(name) => ("id-alone", name),
        };
        let digest = sha2::Sha256::digest(name.as_bytes());
        (
            what,
            digest.iter().map(|byte| format!("{byte:02x}")).collect(),
        )
    }

    /// The counters that count `log`.
    pub fn of(log: &ClusterLog) -> Vec<ClusterCounted> {
        let mut counted = Vec::new();
        if let Some(uuid) = &log.cluster_uuid {
            counted.push(ClusterCounted::Uuid(uuid.clone()));
        }
        if let Some(id) = &log.cluster_id {
            counted.push(ClusterCounted::Id(id.clone()));
            if log.cluster_uuid.is_none() {
                counted.push(ClusterCounted::IdAlone(id.clone()));
            }
        }
        counted
    }

    /// Its `counter-index` partition.
    pub fn kind(&self) -> String {
        let (what, name) = self.parts();
        format!("{CLUSTER_COUNTER_KIND_PREFIX}{what}#{name}")
    }

    /// Its counter among the logs expiring in `expiry_bucket`.
    pub fn key(&self, expiry_bucket: &str) -> String {
        let (what, name) = self.parts();
        format!("{CLUSTER_COUNTER_PREFIX}{what}#{name}#{expiry_bucket}")
    }
}

/// A time-shard counter: the public and internal logs of one shard that expire at the same
/// instant, changed by `ADD` in the transaction of every create and delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CounterRow {
    #[serde(default)]
    pub public_logs: i64,
    #[serde(default)]
    pub internal_logs: i64,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// The time shard of a log: from the random part of its ULID, so shards fill evenly.
pub fn time_shard(id: &str) -> String {
    let random = Ulid::from_string(id).map(|ulid| ulid.random()).unwrap_or(0);
    (random % u128::from(TIME_SHARDS)).to_string()
}

/// The key of the counter a log is counted in: its time shard's, among those expiring with it.
pub fn counter_key(id: &str, expiry_bucket: &str) -> String {
    format!("{COUNTER_PREFIX}{expiry_bucket}#{}", time_shard(id))
}

/// A registry item, under one of a cluster's names. It carries neither `timestamp` nor
/// `created_at`, so no log index holds it. An id's item may hold only [`LOGS_BY_ID_ALONE`], until
/// the registry learns whose id it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClusterRow {
    pub id: String,
    #[serde(default)]
    pub cluster_uuid: Option<String>,
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub subscription_id: Option<String>,
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Absent for a pair learned from a log.
    #[serde(default)]
    pub registered_at: Option<i64>,
    /// On an id's item: a log was stored under this id alone (see [`LOGS_BY_ID_ALONE`]).
    #[serde(default)]
    pub logs_by_id_alone: bool,
}

impl ClusterRow {
    /// The cluster this item names, if it names one yet.
    pub fn cluster(&self) -> Option<Cluster> {
        Some(Cluster {
            cluster_uuid: self.cluster_uuid.clone()?,
            cluster_id: self.cluster_id.clone()?,
            subscription_id: self.subscription_id.clone(),
            organization_id: self.organization_id.clone(),
        })
    }
}

/// The key of the registry entry for a cluster's UUID.
pub fn cluster_by_uuid(uuid: &str) -> String {
    format!("{CLUSTER_BY_UUID_PREFIX}{uuid}")
}

/// The key of the registry entry for a cluster's id.
pub fn cluster_by_id(id: &str) -> String {
    format!("{CLUSTER_BY_ID_PREFIX}{id}")
}
