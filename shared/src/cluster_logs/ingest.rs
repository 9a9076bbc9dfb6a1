//! Cluster logs from a queue: each SQS message holds a ClusterLog as POST accepts it, or an
//! EventBridge event whose `detail` is one (so an EventBridge rule can target the queue). A
//! cluster message (`"kind":"Cluster"`, or an event of `detail-type` `Cluster`) says a cluster's
//! names and owner instead, for the registry (crate::cluster_logs::registry).
//!
//! Delivery is at least once. A message's log id is derived from the message itself (its SQS
//! message id and send time), so every delivery builds the same log; the batch writer's claim on
//! the message id (see [`crate::batch`]) stores and counts it once.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use ulid::Ulid;

use super::{Cluster, ClusterLog, ClusterLogDraft, ClusterLogError};
use crate::dynamo::StoreError;
use crate::http::{BodyError, json_value};
use crate::identity::Caller;

/// Environment variable naming the identity recorded on queued logs without identity attributes.
pub const SERVICE_IDENTITY_VAR: &str = "INGEST_SERVICE_IDENTITY";
const DEFAULT_SERVICE_IDENTITY: &str = "service-account-cluster-logs-ingest";

/// Message attributes that carry the writer's identity (set by the producer, never read from the body).
pub const IDENTITY_ATTRIBUTES: [&str; 4] = ["created_by", "email", "first_name", "last_name"];

/// One queued message, as far as storing it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage<'a> {
    pub message_id: &'a str,
    /// `SentTimestamp`, milliseconds since the epoch, as SQS reports it.
    pub sent_at_ms: Option<u64>,
    pub body: &'a str,
    /// String message attributes by name.
    pub attributes: HashMap<&'a str, &'a str>,
}

/// What one queued message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    Log(Box<ClusterLog>),
    /// A cluster's names and owner, sent at this instant (ms): a later message replaces it.
    Cluster(Cluster, i64),
}

/// The `kind` and EventBridge `detail-type` of a cluster message.
pub const CLUSTER_KIND: &str = "Cluster";

/// Why a message was not stored. `Invalid` messages never will be (they go to the DLQ after the
/// queue's maxReceiveCount); `Store` failures are worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("invalid message: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<BodyError> for IngestError {
    fn from(error: BodyError) -> Self {
        IngestError::Invalid(error.to_string())
    }
}

/// The identity recorded on queued logs that carry none.
pub fn service_identity_from_env() -> Caller {
    let name = std::env::var(SERVICE_IDENTITY_VAR)
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVICE_IDENTITY.to_owned());
    Caller {
        subject: name.clone(),
        username: Some(name),
        ..Caller::default()
    }
}

impl QueuedMessage<'_> {
    /// What this message asks for: a log to store (with its identity and its derived id), or a
    /// cluster to register.
    pub fn parse(&self, service: &Caller, now: OffsetDateTime) -> Result<Queued, IngestError> {
        let mut body: serde_json::Value = serde_json::from_str(self.body).map_err(|error| {
            IngestError::Invalid(format!("the body is not valid JSON: {error}"))
        })?;
        let mut cluster = body.get("kind").and_then(|kind| kind.as_str()) == Some(CLUSTER_KIND);
        if is_eventbridge_envelope(&body) {
            cluster = body["detail-type"].as_str() == Some(CLUSTER_KIND);
            body = body["detail"].take();
        }
        if cluster {
            return Cluster::from_message(&body)
                .map(|cluster| Queued::Cluster(cluster, self.sent_at(now)))
                .map_err(IngestError::Invalid);
        }
        self.cluster_log(body, service, now)
            .map(|log| Queued::Log(Box::new(log)))
    }

    /// When the message was sent (ms), else now.
    fn sent_at(&self, now: OffsetDateTime) -> i64 {
        self.sent_at_ms.map_or_else(
            || (now.unix_timestamp_nanos() / 1_000_000) as i64,
            |ms| i64::try_from(ms).unwrap_or(i64::MAX),
        )
    }

    /// The ClusterLog a log message asks to store, with its identity and its derived id.
    fn cluster_log(
        &self,
        body: serde_json::Value,
        service: &Caller,
        now: OffsetDateTime,
    ) -> Result<ClusterLog, IngestError> {
        let draft: ClusterLogDraft = json_value(body)?;
        let mut log = draft
            .into_cluster_log(&self.identity(service), now)
            .map_err(|error| match error {
                ClusterLogError::BadRequest(reason) => IngestError::Invalid(reason),
                other => IngestError::Invalid(other.to_string()),
            })?;
        log.id = self.log_id(now).to_string();
        Ok(log)
    }

    /// The producer's identity from message attributes, else the configured service identity.
    fn identity(&self, service: &Caller) -> Caller {
        let attribute = |name: &str| {
            self.attributes
                .get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        match attribute("created_by") {
            Some(created_by) => Caller {
                subject: created_by.clone(),
                username: Some(created_by),
                email: attribute("email"),
                first_name: attribute("first_name"),
                last_name: attribute("last_name"),
                ..Caller::default()
            },
            None => service.clone(),
        }
    }

    /// A ULID from the send time and a hash of the message id: the same for every delivery.
    fn log_id(&self, now: OffsetDateTime) -> Ulid {
        let millis = self
            .sent_at_ms
            .unwrap_or_else(|| (now.unix_timestamp_nanos() / 1_000_000).max(0) as u64);
        let digest = Sha256::digest(self.message_id.as_bytes());
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&digest[..10]); // the 80 random bits of a ULID
        Ulid::from_parts(millis, u128::from_be_bytes(random))
    }
}

/// An EventBridge event: `detail-type`, `source` and an object `detail`.
fn is_eventbridge_envelope(body: &serde_json::Value) -> bool {
    body.get("detail-type").is_some()
        && body.get("source").is_some()
        && body.get("detail").is_some_and(|d| d.is_object())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(message: QueuedMessage<'_>, service: &Caller) -> Result<ClusterLog, IngestError> {
        match message.parse(service, OffsetDateTime::now_utc())? {
            Queued::Log(log) => Ok(*log),
            Queued::Cluster(..) => Err(IngestError::Invalid("a cluster message".into())),
        }
    }

    fn message(body: &str) -> QueuedMessage<'_> {
        QueuedMessage {
            message_id: "059f36b4-87a3-44ab-83d2-661975830a7d",
            sent_at_ms: Some(1_795_255_200_000),
            body,
            attributes: HashMap::new(),
        }
    }

    #[test]
    fn a_redelivered_message_gets_the_same_id() -> Result<(), Box<dyn std::error::Error>> {
        let body = r#"{"cluster_uuid":"c1","severity":"Info","service_name":"hive","summary":"s"}"#;
        let service = service_identity_from_env();
        let first = log_of(message(body), &service)?;
        let again = log_of(message(body), &service)?;
        assert_eq!(first.id, again.id);
        let other = QueuedMessage {
            message_id: "another",
            ..message(body)
        };
        assert_ne!(log_of(other, &service)?.id, first.id);
        Ok(())
    }

    #[test]
    fn eventbridge_envelopes_are_unwrapped_and_identity_never_comes_from_the_body()
    -> Result<(), Box<dyn std::error::Error>> {
        let body = r#"{"version":"0","id":"e1","detail-type":"ClusterLog","source":"alerts","detail":
            {"cluster_uuid":"c1","severity":"Warning","service_name":"alerts","summary":"s","created_by":"mallory"}}"#;
        let log = log_of(message(body), &service_identity_from_env())?;
        assert_eq!(log.severity.as_str(), "Warning");
        assert_eq!(log.created_by.as_deref(), Some(DEFAULT_SERVICE_IDENTITY));
        let mut attributed = message(body);
        attributed.attributes.insert("created_by", "alertmanager");
        let log = log_of(attributed, &service_identity_from_env())?;
        assert_eq!(log.created_by.as_deref(), Some("alertmanager"));
        Ok(())
    }

    #[test]
    fn invalid_messages_say_why() {
        let service = service_identity_from_env();
        for body in [
            "not json",
            "[]",
            r#"{"severity":"Info"}"#,
            r#"{"cluster_uuid":"c","severity":"Nope"}"#,
            r#"{"kind":"Cluster","cluster_uuid":"c","cluster_id":"i"}"#,
            r#"{"version":"0","id":"e","detail-type":"Cluster","source":"ocm","detail":{"cluster_uuid":"c"}}"#,
        ] {
            assert!(
                matches!(
                    message(body).parse(&service, OffsetDateTime::now_utc()),
                    Err(IngestError::Invalid(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn cluster_messages_come_bare_or_in_an_eventbridge_event() -> Result<(), IngestError> {
        let service = service_identity_from_env();
        let cluster = r#"{"cluster_uuid":"u","cluster_id":"i","organization_id":"A"}"#;
        let bare = format!(r#"{{"kind":"Cluster",{}"#, &cluster[1..]);
        let event = format!(
            r#"{{"version":"0","id":"e1","detail-type":"Cluster","source":"ocm","detail":{cluster}}}"#
        );
        for body in [bare, event] {
            let parsed = message(&body).parse(&service, OffsetDateTime::now_utc())?;
            assert!(
                matches!(&parsed, Queued::Cluster(c, 1_795_255_200_000) if c.organization_id.as_deref() == Some("A")),
                "{body}: {parsed:?}"
            );
        }
        Ok(())
    }
}
