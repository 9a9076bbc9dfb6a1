//! CloudWatch Logs subscription and SQS -> system logs. Both go through the one write path
//! (`SystemLogStore::write`), which stores and counts each record once however often it comes.
//!
//! - SQS: each message is one system log record as JSON. A message that was not stored, invalid or
//!   not, is reported in `batchItemFailures`, so SQS redelivers only that one, and the redrive
//!   policy moves one that keeps failing to the dead-letter queue.
//! - CloudWatch Logs: an invocation is all or nothing for Lambda, so when any line was not stored
//!   the invocation fails; Lambda retries it (the lines stored before are recognized by their event
//!   ids and not stored again) and then hands it to the function's dead-letter queue.

use aws_lambda_events::event::cloudwatch_logs::{LogData, LogsEvent};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use shared::system_logs::cloudwatch::{StreamMapping, record_from_line};
use shared::system_logs::{SystemLogRecord, SystemLogStore, WriteError, Written};
use shared::telemetry::redact;

/// What the function holds across invocations: built once at cold start.
#[derive(Debug, Clone)]
pub struct IngestState {
    pub store: SystemLogStore,
    pub mapping: StreamMapping,
}

impl IngestState {
    pub async fn from_env() -> Result<Self, shared::dynamo::StoreError> {
        Ok(Self {
            store: SystemLogStore::from_env().await?,
            mapping: StreamMapping::from_env()?,
        })
    }
}

/// Tallies of one invocation, logged at its end.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub stored: usize,
    pub already_stored: usize,
    pub expired: usize,
    pub invalid: usize,
    pub failed: usize,
}

/// One entry point for both event sources (one function, two triggers in template.yaml).
pub async fn handler(state: &IngestState, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    if payload.get("awslogs").is_some() {
        // aws_lambda_events decodes `awslogs.data` (base64, gzip) only from borrowed text.
        let logs: LogsEvent = serde_json::from_str(&payload.to_string())?;
        let tally = ingest_logs(state, &logs.aws_logs.data).await?;
        Ok(serde_json::json!({ "stored": tally.stored, "already_stored": tally.already_stored }))
    } else if payload.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(payload)?;
        Ok(serde_json::to_value(ingest_queue(state, &event).await?)?)
    } else {
        Err("neither a CloudWatch Logs subscription event nor an SQS event".into())
    }
}

/// Stores the lines of one subscription delivery; an error when any must be delivered again.
pub async fn ingest_logs(state: &IngestState, data: &LogData) -> Result<Tally, Error> {
    if data.message_type == "CONTROL_MESSAGE" {
        // CloudWatch checks the subscription with these; they are not logs.
        return Ok(Tally::default());
    }
    let (source, instance) = state
        .mapping
        .locate(&data.log_group, &data.log_stream)
        .inspect_err(|unmapped| tracing::error!(%unmapped, "log stream not mapped"))?;
    let records = data
        .log_events
        .iter()
        .map(|event| {
            let logged_at = time::OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(event.timestamp) * 1_000_000,
            )
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            (
                format!("cwl#{}#{}", data.log_group, event.id),
                record_from_line(&event.message, logged_at, &source, &instance),
            )
        })
        .collect::<Vec<_>>();
    let ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
    let results = state.store.write(records).await;
    let tally = tally(&ids, &results);
    tracing::info!(
        log_group = %data.log_group,
        log_stream = %data.log_stream,
        stored = tally.stored,
        already_stored = tally.already_stored,
        expired = tally.expired,
        failed = tally.failed + tally.invalid,
        "CloudWatch Logs delivery"
    );
    if tally.failed + tally.invalid > 0 {
        return Err(format!(
            "{} of {} log events not stored; the invocation must be retried",
            tally.failed + tally.invalid,
            ids.len()
        )
        .into());
    }
    Ok(tally)
}

/// Stores the messages of one SQS batch; the ones to deliver again are in the response.
pub async fn ingest_queue(
    state: &IngestState,
    event: &SqsEvent,
) -> Result<SqsBatchResponse, Error> {
    if event
        .records
        .iter()
        .any(|record| record.message_id.is_none())
    {
        // A failure cannot name such a record; failing the batch redelivers it all, which is safe.
        return Err("an SQS record without a messageId".into());
    }
    let mut failures = Vec::new();
    let mut records = Vec::new();
    let mut ids = Vec::new();
    for message in &event.records {
        let message_id = message.message_id.clone().unwrap_or_default();
        let sent_at = message
            .attributes
            .get("SentTimestamp")
            .and_then(|ms| ms.parse::<i128>().ok())
            .and_then(|ms| time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok());
        match SystemLogRecord::from_message(message.body.as_deref().unwrap_or_default(), sent_at) {
            Ok(record) => {
                records.push((format!("sqs#{message_id}"), record));
                ids.push(message_id);
            }
            Err(reason) => {
                tracing::warn!(
                    message_id,
                    reason = %redact(&reason),
                    "invalid message not stored; it goes to the dead-letter queue after maxReceiveCount"
                );
                failures.push(message_id);
            }
        }
    }
    let results = state.store.write(records).await;
    let tally = tally(&ids, &results);
    for (message_id, result) in ids.into_iter().zip(&results) {
        if result.is_err() {
            failures.push(message_id);
        }
    }
    tracing::info!(
        stored = tally.stored,
        already_stored = tally.already_stored,
        expired = tally.expired,
        failed = failures.len(),
        "SQS batch"
    );
    Ok(shared::sqs::redeliver(failures))
}

/// Counts the outcomes and logs why each record that was not stored failed.
fn tally(ids: &[String], results: &[Result<Written, WriteError>]) -> Tally {
    let mut tally = Tally::default();
    for (id, result) in ids.iter().zip(results) {
        match result {
            Ok(Written::Stored(_)) => tally.stored += 1,
            Ok(Written::AlreadyStored) => tally.already_stored += 1,
            Ok(Written::Expired) => tally.expired += 1,
            Err(WriteError::Invalid(reason)) => {
                tally.invalid += 1;
                tracing::warn!(id, reason = %redact(reason), "invalid record not stored");
            }
            Err(WriteError::Store(error)) => {
                tally.failed += 1;
                tracing::error!(id, error = %redact(&error.to_string()), "record not stored; it will be delivered again");
            }
        }
    }
    tally
}
