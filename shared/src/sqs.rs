//! The one piece of the SQS event-source contract both queue consumers share: the partial batch
//! response (ReportBatchItemFailures) that makes SQS redeliver only the records that failed.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};

/// The response that asks SQS to redeliver exactly the messages with these ids.
pub fn redeliver(message_ids: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for item_identifier in message_ids {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = item_identifier;
        response.batch_item_failures.push(failure);
    }
    response
}
