//! A ClusterLog as stored and as sent, and the body a writer POSTs.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ulid::Ulid;

use crate::identity::{Caller, Role};
use crate::timestamp;

use super::ClusterLogError;

/// Severity values, case as written (`Info`, never `info`). The last three are accepted by newer
/// servers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum Severity {
    Debug,
    #[default]
    Info,
    Warning,
    Error,
    Fatal,
    Major,
    Critical,
    Low,
    Moderate,
    Important,
}

impl Severity {
    pub const ALL: [Severity; 10] = [
        Severity::Debug,
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Fatal,
        Severity::Major,
        Severity::Critical,
        Severity::Low,
        Severity::Moderate,
        Severity::Important,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Debug => "Debug",
            Severity::Info => "Info",
            Severity::Warning => "Warning",
            Severity::Error => "Error",
            Severity::Fatal => "Fatal",
            Severity::Major => "Major",
            Severity::Critical => "Critical",
            Severity::Low => "Low",
            Severity::Moderate => "Moderate",
            Severity::Important => "Important",
        }
    }

    /// The severity of this exact name, if any.
    pub fn named(name: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str() == name)
    }

    /// The names, for messages.
    pub fn names() -> String {
        Severity::ALL.map(Severity::as_str).join(", ")
    }
}

/// Longest `cluster_uuid` and `cluster_id`, in bytes: they are index partition keys, which
/// DynamoDB takes up to 2,048 bytes.
pub const CLUSTER_NAME_MAX_BYTES: usize = crate::partition::PARTITION_KEY_MAX_BYTES;
/// Longest `summary`, in characters (the contract's limit).
pub const SUMMARY_MAX_CHARS: usize = 255;
/// Longest `description`, in characters: keeps a log well inside DynamoDB's 400 KB item limit.
pub const DESCRIPTION_MAX_CHARS: usize = 64 * 1024;
/// Longest value of any other text field, in characters.
pub const FIELD_MAX_CHARS: usize = 1024;
/// Most `doc_references` entries on one log.
pub const DOC_REFERENCES_MAX: usize = 50;
/// Largest log, as JSON. The field limits alone allow more in multi-byte text (64 Ki characters of
/// four bytes each, plus 50 references): this keeps every stored item, with its index attributes,
/// under DynamoDB's 400 KB item limit, which would otherwise reject a queued log again and again.
pub const LOG_MAX_BYTES: usize = 300 * 1024;

/// A stored cluster log. Text fields without a value are absent (never `""`), so the GSIs on
/// `cluster_uuid` and `cluster_id` stay sparse and valid; the wire view
/// (crate::cluster_logs::wire::ClusterLogView) sends them as `""`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClusterLog {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_type: Option<String>,
    #[serde(default)]
    pub doc_references: Vec<String>,
    #[serde(default)]
    pub internal_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_stream_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub timestamp: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
}

impl ClusterLog {
    pub fn href(&self) -> String {
        format!("{}/cluster_logs/{}", super::BASE_PATH, self.id)
    }
}

/// Which logs a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Customers: internal logs do not exist for them.
    PublicOnly,
    /// Callers with the internal role.
    IncludingInternal,
}

impl Visibility {
    pub fn of(caller: &Caller) -> Self {
        if caller.has(Role::ServiceLogsInternal) {
            Visibility::IncludingInternal
        } else {
            Visibility::PublicOnly
        }
    }

    pub fn allows(self, log: &ClusterLog) -> bool {
        self == Visibility::IncludingInternal || !log.internal_only
    }
}

/// The body of a POST, as osdctl, the Go SDK (`"kind":"LogEntry"`, only set fields) and agents
/// send it. Server-set fields (`id`, `href`, `kind`, `created_at`, the identity fields) are
/// accepted and ignored: readers and writers ignore what they do not know.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClusterLogDraft {
    pub cluster_id: Option<String>,
    pub cluster_uuid: Option<String>,
    pub subscription_id: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub service_name: Option<String>,
    pub severity: Option<String>,
    pub log_type: Option<String>,
    pub doc_references: Option<Vec<String>>,
    pub internal_only: Option<bool>,
    pub event_stream_id: Option<String>,
    pub username: Option<String>,
    pub timestamp: Option<String>,
}

impl ClusterLogDraft {
    /// Validates the draft and completes it into the log to store, written by `caller` at `now`.
    pub fn into_cluster_log(
        self,
        caller: &Caller,
        now: OffsetDateTime,
    ) -> Result<ClusterLog, ClusterLogError> {
        let text = |name: &'static str,
                    value: Option<String>,
                    max: usize|
         -> Result<Option<String>, ClusterLogError> {
            match value {
                Some(value) if value.chars().count() > max => Err(ClusterLogError::BadRequest(
                    format!("Field '{name}' is longer than {max} characters"),
                )),
                Some(value) if value.is_empty() => Ok(None),
                other => Ok(other),
            }
        };
        let cluster_id = text("cluster_id", self.cluster_id, FIELD_MAX_CHARS)?;
        let cluster_uuid = text("cluster_uuid", self.cluster_uuid, FIELD_MAX_CHARS)?;
        // Both are index keys: in bytes (1,024 "€" are 3 KB), within what a DynamoDB key may hold.
        for (name, value) in [("cluster_id", &cluster_id), ("cluster_uuid", &cluster_uuid)] {
            if value
                .as_ref()
                .is_some_and(|value| value.len() > CLUSTER_NAME_MAX_BYTES)
            {
                return Err(ClusterLogError::BadRequest(format!(
                    "Field '{name}' is longer than {CLUSTER_NAME_MAX_BYTES} bytes"
                )));
            }
        }
        if cluster_id.is_none() && cluster_uuid.is_none() {
            return Err(ClusterLogError::BadRequest(
                "Either 'cluster_uuid' or 'cluster_id' is required".to_owned(),
            ));
        }
        let severity = severity(self.severity.as_deref())?;
        // The production API requires both; agents that leave one out get a 400 there too.
        let service_name = required(
            text("service_name", self.service_name, FIELD_MAX_CHARS)?,
            "service_name",
        )?;
        let summary = required(text("summary", self.summary, SUMMARY_MAX_CHARS)?, "summary")?;
        let timestamp = sent_time(self.timestamp.as_deref(), now)?;
        let doc_references = doc_references(self.doc_references.unwrap_or_default())?;
        let id = Ulid::from_datetime(now.into());
        let log = ClusterLog {
            id: id.to_string(),
            cluster_id,
            cluster_uuid,
            subscription_id: text("subscription_id", self.subscription_id, FIELD_MAX_CHARS)?,
            summary: Some(summary),
            description: text("description", self.description, DESCRIPTION_MAX_CHARS)?,
            service_name: Some(service_name),
            severity,
            log_type: text("log_type", self.log_type, FIELD_MAX_CHARS)?,
            doc_references,
            internal_only: self.internal_only.unwrap_or(false),
            event_stream_id: text("event_stream_id", self.event_stream_id, FIELD_MAX_CHARS)?
                .or_else(|| Some(Ulid::new().to_string())),
            username: text("username", self.username, FIELD_MAX_CHARS)?,
            timestamp,
            created_at: timestamp::format(now),
            created_by: Some(caller.display_name().to_owned()),
            email: caller.email.clone(),
            first_name: caller.first_name.clone(),
            last_name: caller.last_name.clone(),
        };
        let size = serde_json::to_vec(&log).map_or(0, |bytes| bytes.len());
        if size > LOG_MAX_BYTES {
            return Err(ClusterLogError::BadRequest(format!(
                "The log is {size} bytes as JSON; a log may hold at most {LOG_MAX_BYTES} bytes"
            )));
        }
        Ok(log)
    }
}

/// A text field that must have a value.
fn required(value: Option<String>, name: &str) -> Result<String, ClusterLogError> {
    value.ok_or_else(|| ClusterLogError::BadRequest(format!("Field '{name}' is required")))
}

/// `severity`: required, one of [`Severity::ALL`] as written.
fn severity(sent: Option<&str>) -> Result<Severity, ClusterLogError> {
    match sent {
        None | Some("") => Err(ClusterLogError::BadRequest(
            "Field 'severity' is required".to_owned(),
        )),
        Some(name) => Severity::named(name).ok_or_else(|| {
            ClusterLogError::BadRequest(format!(
                "Field 'severity' is '{name}'; expected one of {}",
                Severity::names()
            ))
        }),
    }
}

/// `timestamp`: the writer's own time (at most a day ahead of ours: further is a broken clock,
/// and the log would head every history for years), else now.
fn sent_time(sent: Option<&str>, now: OffsetDateTime) -> Result<String, ClusterLogError> {
    match sent {
        None | Some("") => Ok(timestamp::format(now)),
        Some(sent) => {
            let at = timestamp::parse(sent).map_err(|error| {
                ClusterLogError::BadRequest(format!("Field 'timestamp': {error}"))
            })?;
            if at > now + time::Duration::days(1) {
                return Err(ClusterLogError::BadRequest(format!(
                    "Field 'timestamp': {sent} is more than a day in the future"
                )));
            }
            Ok(timestamp::format(at))
        }
    }
}

/// `doc_references`: at most [`DOC_REFERENCES_MAX`], each at most [`FIELD_MAX_CHARS`].
fn doc_references(references: Vec<String>) -> Result<Vec<String>, ClusterLogError> {
    if references.len() > DOC_REFERENCES_MAX {
        return Err(ClusterLogError::BadRequest(format!(
            "Field 'doc_references' has more than {DOC_REFERENCES_MAX} entries"
        )));
    }
    if references
        .iter()
        .any(|reference| reference.chars().count() > FIELD_MAX_CHARS)
    {
        return Err(ClusterLogError::BadRequest(format!(
            "Each entry of 'doc_references' must be at most {FIELD_MAX_CHARS} characters"
        )));
    }
    Ok(references)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn writer() -> Caller {
        Caller {
            subject: "f3a1".into(),
            username: Some("jdoe".into()),
            email: Some("jdoe@example.com".into()),
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            roles: ["service-logs-writer".to_owned()].into(),
            organization: None,
        }
    }

    fn draft() -> ClusterLogDraft {
        ClusterLogDraft {
            cluster_uuid: Some("c0ffee".into()),
            severity: Some("Info".into()),
            service_name: Some("hive".into()),
            summary: Some("Cluster upgraded".into()),
            ..Default::default()
        }
    }

    #[test]
    fn service_name_and_summary_are_required_as_in_production() {
        for (field, missing) in [
            (
                "service_name",
                ClusterLogDraft {
                    service_name: None,
                    ..draft()
                },
            ),
            (
                "service_name",
                ClusterLogDraft {
                    service_name: Some(String::new()),
                    ..draft()
                },
            ),
            (
                "summary",
                ClusterLogDraft {
                    summary: None,
                    ..draft()
                },
            ),
            (
                "summary",
                ClusterLogDraft {
                    summary: Some(String::new()),
                    ..draft()
                },
            ),
        ] {
            let error = missing
                .into_cluster_log(&writer(), OffsetDateTime::now_utc())
                .unwrap_err();
            assert!(
                matches!(&error, ClusterLogError::BadRequest(reason) if *reason == format!("Field '{field}' is required")),
                "{error}"
            );
        }
    }

    #[test]
    fn server_sets_identity_times_and_ids() -> Result<(), Box<dyn std::error::Error>> {
        let now = datetime!(2025-03-01 10:00:00.25 UTC);
        let log = draft().into_cluster_log(&writer(), now)?;
        assert_eq!(log.created_by.as_deref(), Some("jdoe"));
        assert_eq!(log.email.as_deref(), Some("jdoe@example.com"));
        assert_eq!(log.timestamp, "2025-03-01T10:00:00.250000Z");
        assert_eq!(log.created_at, log.timestamp);
        assert_eq!(log.id.len(), 26);
        assert!(log.event_stream_id.is_some());
        assert!(!log.internal_only);
        Ok(())
    }

    #[test]
    fn summary_of_256_characters_is_rejected() {
        let long = ClusterLogDraft {
            summary: Some("é".repeat(256)),
            ..draft()
        };
        let error = long
            .into_cluster_log(&writer(), OffsetDateTime::now_utc())
            .unwrap_err();
        assert!(matches!(error, ClusterLogError::BadRequest(reason) if reason.contains("summary")));
        let fits = ClusterLogDraft {
            summary: Some("é".repeat(255)),
            ..draft()
        };
        assert!(
            fits.into_cluster_log(&writer(), OffsetDateTime::now_utc())
                .is_ok()
        );
    }

    #[test]
    fn a_log_too_large_for_one_dynamodb_item_is_refused() {
        let four_byte_text = "😀".repeat(DESCRIPTION_MAX_CHARS);
        let large = ClusterLogDraft {
            description: Some(four_byte_text),
            doc_references: Some(vec!["😀".repeat(FIELD_MAX_CHARS); DOC_REFERENCES_MAX]),
            ..draft()
        };
        let error = large
            .into_cluster_log(&writer(), OffsetDateTime::now_utc())
            .unwrap_err();
        assert!(
            matches!(&error, ClusterLogError::BadRequest(reason) if reason.contains("at most 307200 bytes")),
            "{error}"
        );
    }

    #[test]
    fn empty_cluster_ids_count_as_missing() {
        let draft = ClusterLogDraft {
            cluster_uuid: Some(String::new()),
            cluster_id: Some(String::new()),
            ..draft()
        };
        assert!(
            draft
                .into_cluster_log(&writer(), OffsetDateTime::now_utc())
                .is_err()
        );
    }
}
