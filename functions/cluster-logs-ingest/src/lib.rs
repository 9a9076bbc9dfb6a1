//! SQS -> cluster logs. Each message is stored once (redeliveries meet their first delivery's
//! conditional write); a message that failed, invalid or not, is reported in `batchItemFailures`
//! so SQS redelivers only that one, and the queue's redrive policy moves a message that keeps
//! failing to the dead-letter queue. A record is acknowledged only once it is stored.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use lambda_runtime::{Error, LambdaEvent};
use shared::cluster_logs::ingest::{self, IngestError, QueuedMessage};
use shared::cluster_logs::{ClusterLogStore, Created, TABLE_VAR};
use shared::identity::Caller;

/// Messages of one batch stored at the same time.
const CONCURRENT_MESSAGES: usize = 10;

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
            store: ClusterLogStore::new(shared::dynamo::client_from_env().await, table),
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
    let failures: Vec<String> = futures::stream::iter(records)
        .map(|record| async move { store_one(state, record, now).await })
        .buffer_unordered(CONCURRENT_MESSAGES)
        .filter_map(|failed| async move { failed })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for item_identifier in failures {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = item_identifier;
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// Stores one message; its id when it must be retried.
async fn store_one(
    state: &IngestState,
    record: &SqsMessage,
    now: time::OffsetDateTime,
) -> Option<String> {
    let message_id = record.message_id.as_deref().unwrap_or_default();
    let message = QueuedMessage {
        message_id,
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
    };
    match ingest::store(&state.store, &message, &state.service, now).await {
        Ok(Created::New) => None,
        Ok(Created::AlreadyStored) => {
            tracing::info!(message_id, "redelivered message was stored before");
            None
        }
        Err(IngestError::Invalid(reason)) => {
            tracing::warn!(
                message_id,
                reason,
                "invalid message not stored; it goes to the dead-letter queue after maxReceiveCount"
            );
            Some(message_id.to_owned())
        }
        Err(IngestError::Store(error)) => {
            tracing::error!(message_id, error = %error, "message not stored; SQS will redeliver it");
            Some(message_id.to_owned())
        }
    }
}
