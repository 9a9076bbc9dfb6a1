//! The cluster registry, in the cluster-logs table: one item under each of a cluster's names
//! (`cluster#uuid#<uuid>`, `cluster#id#<id>`), so either name finds the cluster with one read. It
//! learns pairs from logs that carry both names, and owners from cluster messages
//! (crate::cluster_logs::ingest). An id's item also says whether a log was ever stored under that
//! id alone, so that a cluster's lists read the id's logs without a UUID only when there are any. The decisions are pure (crate::cluster_logs::cluster); this is
//! the only registry code that talks to DynamoDB.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, TransactWriteItem, Update,
};

use super::ClusterLog;
use super::cluster::{Cluster, ClusterNames, NAME_MAX_BYTES, Naming, Registered};
use super::table::{
    CLUSTER_ID, CLUSTER_UUID, ClusterRow, ID, LOGS_BY_ID_ALONE, ORGANIZATION_ID, REGISTERED_AT,
    SUBSCRIPTION_ID, cluster_by_id, cluster_by_uuid,
};
use crate::dynamo::{Item, StoreError, Table, lost_condition};
use crate::telemetry::redact;

/// Most keys one BatchGetItem may ask for.
const BATCH_GET_MAX: usize = 100;
/// Rounds of a BatchGetItem's unprocessed keys before DynamoDB counts as unavailable.
const BATCH_GET_ROUNDS: usize = 5;

/// What a cluster message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Registered,
    /// A message sent after this one already said what the registry holds: nothing changed.
    Superseded,
}

/// The registry of the table `table`.
#[derive(Debug, Clone, Copy)]
pub struct ClusterRegistry<'a> {
    pub(super) table: &'a Table,
}

fn key_of(name: &str, key: fn(&str) -> String) -> Option<String> {
    (name.len() <= NAME_MAX_BYTES).then(|| key(name))
}

/// The SET of a registry item's names (and subscription, and owner when it is known), as an
/// UpdateItem: an id's item keeps its [`LOGS_BY_ID_ALONE`].
fn naming(
    cluster: &Cluster,
    key: String,
    table: &str,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    let mut set = vec![
        format!("{CLUSTER_UUID} = :uuid"),
        format!("{CLUSTER_ID} = :id"),
    ];
    let mut update = Update::builder()
        .table_name(table)
        .key(ID, AttributeValue::S(key))
        .expression_attribute_values(":uuid", AttributeValue::S(cluster.cluster_uuid.clone()))
        .expression_attribute_values(":id", AttributeValue::S(cluster.cluster_id.clone()));
    for (attribute, placeholder, value) in [
        (SUBSCRIPTION_ID, ":subscription", &cluster.subscription_id),
        (ORGANIZATION_ID, ":organization", &cluster.organization_id),
    ] {
        if let Some(value) = value {
            set.push(format!("{attribute} = {placeholder}"));
            update =
                update.expression_attribute_values(placeholder, AttributeValue::S(value.clone()));
        }
    }
    update.update_expression(format!("SET {}", set.join(", ")))
}

fn keys(names: &ClusterNames) -> (Option<String>, Option<String>) {
    (
        names
            .uuid
            .as_deref()
            .and_then(|u| key_of(u, cluster_by_uuid)),
        names.id.as_deref().and_then(|i| key_of(i, cluster_by_id)),
    )
}

impl ClusterRegistry<'_> {
    /// The registry's entries for each of `names`, in order: one BatchGetItem (strongly
    /// consistent: it decides who reads what) of at most two keys each.
    pub async fn lookup(&self, names: &[ClusterNames]) -> Result<Vec<Registered>, StoreError> {
        let wanted: HashSet<String> = names
            .iter()
            .flat_map(|names| {
                let (uuid, id) = keys(names);
                uuid.into_iter().chain(id)
            })
            .collect();
        let found = self.get_all(wanted.into_iter().collect()).await?;
        Ok(names
            .iter()
            .map(|names| {
                let (uuid, id) = keys(names);
                let row = |key: Option<String>| key.and_then(|key| found.get(&key));
                let by_id = row(id);
                Registered {
                    by_uuid: row(uuid).and_then(ClusterRow::cluster),
                    by_id: by_id.and_then(ClusterRow::cluster),
                    logs_by_id_alone: by_id.is_some_and(|row| row.logs_by_id_alone),
                }
            })
            .collect())
    }

    pub async fn lookup_one(&self, names: &ClusterNames) -> Result<Registered, StoreError> {
        let mut found = self.lookup(std::slice::from_ref(names)).await?;
        Ok(found.pop().unwrap_or_default())
    }

    /// What a list of the cluster `asked` names needs: the entries for those names, and whether
    /// the cluster's id ever stood alone on a log. Asked by UUID alone, that is a second read, of
    /// the id the registry gives.
    pub async fn resolve(&self, asked: &ClusterNames) -> Result<Registered, StoreError> {
        let mut registered = self.lookup_one(asked).await?;
        if let Some(by_id) = Self::unasked_id(asked, &registered) {
            registered.logs_by_id_alone = self.lookup_one(&by_id).await?.logs_by_id_alone;
        }
        Ok(registered)
    }

    /// The registry's id for a cluster `asked` by UUID alone: its entry, a second read, says
    /// whether that id ever stood alone on a log.
    pub fn unasked_id(asked: &ClusterNames, registered: &Registered) -> Option<ClusterNames> {
        match (&asked.id, registered.names(asked).id) {
            (None, Some(id)) => Some(ClusterNames {
                uuid: None,
                id: Some(id),
            }),
            _ => None,
        }
    }

    async fn get_all(&self, keys: Vec<String>) -> Result<HashMap<String, ClusterRow>, StoreError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .map(|key| HashMap::from([(ID.to_owned(), AttributeValue::S(key.clone()))]))
                .collect();
            for _ in 0..BATCH_GET_ROUNDS {
                if pending.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()?;
                let output = self
                    .table
                    .client
                    .batch_get_item()
                    .request_items(&self.table.name, request)
                    .send()
                    .await?;
                let rows = output.responses.unwrap_or_default();
                for item in rows.into_values().flatten() {
                    let row: ClusterRow = serde_dynamo::from_item(item)?;
                    found.insert(row.id.clone(), row);
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table.name))
                    .map(|keys| keys.keys)
                    .unwrap_or_default();
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(format!(
                    "{} registry keys still unprocessed after {BATCH_GET_ROUNDS} rounds",
                    pending.len()
                )));
            }
        }
        Ok(found)
    }

    /// Gives each log the cluster name the registry knows it by, and teaches the registry each
    /// pair a log names for the first time. A log whose pair disagrees with the registry is
    /// stored as sent, with a warning: only cluster messages change a pair once it is known. A log
    /// left with its id alone marks that id's item, before the log is written.
    pub async fn name_logs<'l>(
        &self,
        logs: impl IntoIterator<Item = &'l mut ClusterLog>,
    ) -> Result<(), StoreError> {
        let mut logs: Vec<&mut ClusterLog> = logs.into_iter().collect();
        let names: Vec<ClusterNames> = logs.iter().map(|log| ClusterNames::of(log)).collect();
        let registered = self.lookup(&names).await?;
        let mut learned = HashSet::new();
        let mut alone = HashSet::new();
        for (log, known) in logs.iter_mut().zip(registered) {
            match known.name(log) {
                Naming::Learn(cluster) => {
                    if learned.insert(cluster.cluster_uuid.clone()) {
                        self.learn(&cluster).await?;
                    }
                }
                Naming::Conflict(known) => tracing::warn!(
                    id = %log.id,
                    cluster_uuid = %redact(log.cluster_uuid.as_deref().unwrap_or_default()),
                    cluster_id = %redact(log.cluster_id.as_deref().unwrap_or_default()),
                    registered_uuid = %redact(&known.cluster_uuid),
                    registered_id = %redact(&known.cluster_id),
                    "the log names a pair the registry holds otherwise; stored as sent"
                ),
                Naming::Completed | Naming::AsSent => {}
            }
            if let (None, Some(id)) = (&log.cluster_uuid, &log.cluster_id)
                && !known.logs_by_id_alone
                && alone.insert(id.clone())
            {
                self.mark_alone(id).await?;
            }
        }
        Ok(())
    }

    /// Notes on the id's item that a log is stored under that id alone.
    async fn mark_alone(&self, id: &str) -> Result<(), StoreError> {
        let Some(key) = key_of(id, cluster_by_id) else {
            return Ok(());
        };
        self.table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key(ID, AttributeValue::S(key))
            .update_expression(format!("SET {LOGS_BY_ID_ALONE} = :alone"))
            .expression_attribute_values(":alone", AttributeValue::Bool(true))
            .send()
            .await?;
        Ok(())
    }

    /// Records a pair first seen on a log, unless either name is already registered.
    async fn learn(&self, cluster: &Cluster) -> Result<(), StoreError> {
        if cluster.cluster_uuid.len() > NAME_MAX_BYTES || cluster.cluster_id.len() > NAME_MAX_BYTES
        {
            return Ok(());
        }
        let update = |key: String| -> Result<TransactWriteItem, StoreError> {
            let update = naming(cluster, key, &self.table.name)
                .condition_expression(format!("attribute_not_exists({CLUSTER_UUID})"))
                .build()?;
            Ok(TransactWriteItem::builder().update(update).build())
        };
        let result = self
            .table
            .client
            .transact_write_items()
            .transact_items(update(cluster_by_uuid(&cluster.cluster_uuid))?)
            .transact_items(update(cluster_by_id(&cluster.cluster_id))?)
            .send()
            .await;
        match result {
            // Known already, by another writer: nothing to learn.
            Err(error) if lost_condition(&error) => Ok(()),
            Err(error) => Err(error.into()),
            Ok(_) => Ok(()),
        }
    }

    /// Stores what a cluster message says, sent at `sent_at_ms`, under both names, unless a
    /// message sent later already did; an id the cluster no longer has stops naming it.
    pub async fn register(
        &self,
        cluster: &Cluster,
        sent_at_ms: i64,
    ) -> Result<Registration, StoreError> {
        let before = self
            .lookup_one(&ClusterNames {
                uuid: Some(cluster.cluster_uuid.clone()),
                id: None,
            })
            .await?;
        let update = |key: String| -> Result<TransactWriteItem, StoreError> {
            let mut update = naming(cluster, key, &self.table.name);
            let set = update.get_update_expression().clone().unwrap_or_default();
            update = update
                .update_expression(format!("{set}, {REGISTERED_AT} = :sent_at"))
                .condition_expression(format!(
                    "attribute_not_exists({REGISTERED_AT}) OR {REGISTERED_AT} <= :sent_at"
                ))
                .expression_attribute_values(":sent_at", AttributeValue::N(sent_at_ms.to_string()));
            if cluster.subscription_id.is_none() {
                let set = update.get_update_expression().clone().unwrap_or_default();
                update = update.update_expression(format!("{set} REMOVE {SUBSCRIPTION_ID}"));
            }
            Ok(TransactWriteItem::builder().update(update.build()?).build())
        };
        let mut transaction = self
            .table
            .client
            .transact_write_items()
            .transact_items(update(cluster_by_uuid(&cluster.cluster_uuid))?)
            .transact_items(update(cluster_by_id(&cluster.cluster_id))?);
        if let Some(old) = before
            .by_uuid
            .filter(|old| old.cluster_id != cluster.cluster_id)
        {
            let delete = Delete::builder()
                .table_name(&self.table.name)
                .key(ID, AttributeValue::S(cluster_by_id(&old.cluster_id)))
                .condition_expression(format!("{CLUSTER_UUID} = :uuid"))
                .expression_attribute_values(
                    ":uuid",
                    AttributeValue::S(cluster.cluster_uuid.clone()),
                )
                .build()?;
            transaction =
                transaction.transact_items(TransactWriteItem::builder().delete(delete).build());
        }
        match transaction.send().await {
            Ok(_) => Ok(Registration::Registered),
            Err(error) if lost_condition(&error) => Ok(Registration::Superseded),
            Err(error) => Err(error.into()),
        }
    }
}
