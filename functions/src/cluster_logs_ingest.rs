//! SQS -> cluster logs, and the cluster registry. Cluster messages are registered first; each log
//! gets the cluster name it lacks from the registry. The batch goes through the one batch writer (`ClusterLogStore::write`):
//! each message is stored and counted once however often it is delivered. A message that was not
//! stored, invalid or not, is reported in `batchItemFailures` so SQS redelivers only that one, and
//! the queue's redrive policy moves a message that keeps failing to the dead-letter queue. A
//! record is acknowledged only once it is stored.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use shared::batch::Outcome;
use shared::cluster_logs::ingest::{self, IngestError, Queued, QueuedMessage};
use shared::cluster_logs::registry::Registration;
use shared::cluster_logs::{Cluster, ClusterLogStore, TABLE_VAR};
use shared::identity::Caller;
use shared::retention::{CLUSTER_LOGS_RETENTION_VAR, Lifetime};
use shared::telemetry::redact;

/// What the function holds across invocations: built once at cold start.
#[derive(Debug, Clone)]
pub struct IngestState {
    pub store: ClusterLogStore,
    /// Recorded as the writer of messages without identity attributes.
    pub service: Caller,
}

impl IngestState {
    pub async fn from_env() -> Result<Self, shared::dynamo::StoreError> {
        let table = shared::dynamo::table_name(TABLE_VAR)?;
        Ok(Self {
            store: ClusterLogStore::new(shared::dynamo::client_from_env().await, table)
                .with_lifetime(Lifetime::from_env(CLUSTER_LOGS_RETENTION_VAR)?),
            service: ingest::service_identity_from_env(),
        })
    }
}

pub async fn handler(
    state: &IngestState,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let now = time::OffsetDateTime::now_utc();
    let records = &event.payload.records;
    if records.iter().any(|record| record.message_id.is_none()) {
        // A failure cannot name such a record; failing the batch redelivers it all, which is safe.
        return Err("an SQS record without a messageId".into());
    }
    let mut failures = Vec::new();
    let mut entries = Vec::new();
    let mut ids = Vec::new();
    let mut clusters = Vec::new();
    for record in records {
        let message_id = record.message_id.as_deref().unwrap_or_default();
        match queued(record).parse(&state.service, now) {
            Ok(Queued::Log(log)) => {
                entries.push((format!("sqs#{message_id}"), *log));
                ids.push(message_id.to_owned());
            }
            Ok(Queued::Cluster(cluster, sent_at)) => clusters.push((message_id, cluster, sent_at)),
            Err(IngestError::Invalid(reason)) => {
                tracing::warn!(
                    message_id,
                    reason = %redact(&reason),
                    "invalid message not stored; it goes to the dead-letter queue after maxReceiveCount"
                );
                failures.push(message_id.to_owned());
            }
            Err(IngestError::Store(error)) => {
                tracing::error!(message_id, error = %redact(&error.to_string()), "message not stored; SQS will redeliver it");
                failures.push(message_id.to_owned());
            }
        }
    }
    // Clusters first, so that a log in the same batch is stored under both of its cluster's names.
    failures.extend(register(state, clusters).await);
    let registry = state.store.registry();
    if let Err(error) = registry
        .name_logs(entries.iter_mut().map(|(_, log)| log))
        .await
    {
        tracing::error!(error = %redact(&error.to_string()), "the cluster registry is unavailable; SQS will redeliver the batch's logs");
        failures.extend(ids);
        return Ok(shared::sqs::redeliver(failures));
    }
    for (message_id, outcome) in ids.into_iter().zip(state.store.write(entries).await) {
        match outcome {
            Outcome::Stored(_) => {}
            Outcome::AlreadyStored => {
                tracing::info!(message_id, "redelivered message was stored before");
            }
            Outcome::Expired => {
                tracing::info!(message_id, "message older than the retention: not stored");
            }
            Outcome::Failed(error) => {
                tracing::error!(message_id, error = %redact(&error.to_string()), "message not stored; SQS will redeliver it");
                failures.push(message_id);
            }
        }
    }
    Ok(shared::sqs::redeliver(failures))
}

/// Registers each cluster message; the ids of those to deliver again.
async fn register(state: &IngestState, clusters: Vec<(&str, Cluster, i64)>) -> Vec<String> {
    let mut failures = Vec::new();
    for (message_id, cluster, sent_at) in clusters {
        match state.store.registry().register(&cluster, sent_at).await {
            Ok(Registration::Registered) => tracing::info!(
                message_id,
                cluster_uuid = %cluster.cluster_uuid,
                "cluster registered"
            ),
            Ok(Registration::Superseded) => tracing::info!(
                message_id,
                cluster_uuid = %cluster.cluster_uuid,
                "a later cluster message was registered before: nothing changed"
            ),
            Err(error) => {
                tracing::error!(message_id, error = %redact(&error.to_string()), "cluster not registered; SQS will redeliver it");
                failures.push(message_id.to_owned());
            }
        }
    }
    failures
}

/// The parts of an SQS message that make a cluster log.
fn queued(record: &SqsMessage) -> QueuedMessage<'_> {
    QueuedMessage {
        message_id: record.message_id.as_deref().unwrap_or_default(),
        sent_at_ms: record
            .attributes
            .get("SentTimestamp")
            .and_then(|ms| ms.parse().ok()),
        body: record.body.as_deref().unwrap_or_default(),
        attributes: record
            .message_attributes
            .iter()
            .filter_map(|(name, attribute)| {
                Some((name.as_str(), attribute.string_value.as_deref()?))
            })
            .collect(),
    }
}
