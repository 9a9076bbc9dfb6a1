//! Clusters, and who may read their logs, decided without reading anything: a cluster's two names,
//! what the registry knows of them, the audience a caller belongs to, and how a log posted under
//! one name gets the other. crate::cluster_logs::registry stores the entries; docs/data-model.md
//! says what each lookup costs.

use serde::{Deserialize, Serialize};

use super::{ClusterLog, Visibility};
use crate::identity::{Caller, Role};

/// Longest cluster name, in bytes, the registry holds, so that its keys (`cluster#uuid#` and the
/// name) stay within 1 KB: DynamoDB Local refuses longer ones ("Size limit exceeded"), though
/// DynamoDB allows 2 KB. A longer name is never registered, so it is never found either.
pub const NAME_MAX_BYTES: usize = 1_000;

/// What the registry knows of one cluster: both names, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub cluster_uuid: String,
    pub cluster_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// Absent for a pair learned from a log, until a cluster message says whose it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

impl Cluster {
    /// A cluster message's body (`{"kind":"Cluster", ...}`, or its EventBridge `detail`): both
    /// names and the organization are required; the reason names the first that is not there.
    pub fn from_message(body: &serde_json::Value) -> Result<Self, String> {
        let text = |name: &str, required: bool| -> Result<Option<String>, String> {
            match body.get(name) {
                None | Some(serde_json::Value::Null) if !required => Ok(None),
                Some(serde_json::Value::String(text)) if !text.trim().is_empty() => {
                    if text.len() > NAME_MAX_BYTES {
                        Err(format!("'{name}' is longer than {NAME_MAX_BYTES} bytes"))
                    } else {
                        Ok(Some(text.trim().to_owned()))
                    }
                }
                Some(serde_json::Value::String(_)) | None | Some(serde_json::Value::Null) => {
                    Err(format!("a cluster message needs '{name}'"))
                }
                Some(_) => Err(format!("'{name}' is not a string")),
            }
        };
        let required = |name: &str| text(name, true)?.ok_or_else(|| format!("'{name}' is empty"));
        Ok(Cluster {
            cluster_uuid: required("cluster_uuid")?,
            cluster_id: required("cluster_id")?,
            subscription_id: text("subscription_id", false)?,
            organization_id: Some(required("organization_id")?),
        })
    }

    fn names(&self) -> ClusterNames {
        ClusterNames {
            uuid: Some(self.cluster_uuid.clone()),
            id: Some(self.cluster_id.clone()),
        }
    }
}

/// A cluster's names as a request or a log gives them: either, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClusterNames {
    pub uuid: Option<String>,
    pub id: Option<String>,
}

impl ClusterNames {
    pub fn of(log: &ClusterLog) -> Self {
        ClusterNames {
            uuid: log.cluster_uuid.clone(),
            id: log.cluster_id.clone(),
        }
    }

    /// The one name that decides whose a log is: its UUID when it has one, else its id. A log
    /// whose names disagree with the registry belongs to the cluster of its UUID.
    pub fn owner(&self) -> ClusterNames {
        match &self.uuid {
            Some(uuid) => ClusterNames {
                uuid: Some(uuid.clone()),
                id: None,
            },
            None => self.clone(),
        }
    }

    /// Gives `log` the one of these names it lacks when it carries the other; true if it did.
    pub fn complete(&self, log: &mut ClusterLog) -> bool {
        match (&log.cluster_uuid, &log.cluster_id, &self.uuid, &self.id) {
            (None, Some(id), Some(uuid), Some(own)) if id == own => {
                log.cluster_uuid = Some(uuid.clone());
                true
            }
            (Some(uuid), None, Some(own), Some(id)) if uuid == own => {
                log.cluster_id = Some(id.clone());
                true
            }
            _ => false,
        }
    }
}

/// The registry's entries for the names of a request or a log: by UUID, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registered {
    pub by_uuid: Option<Cluster>,
    pub by_id: Option<Cluster>,
    /// Whether a log was ever stored under the cluster's id alone: only then does a list read
    /// the id's logs without a UUID.
    pub logs_by_id_alone: bool,
}

/// What a write does with a log's names, given what the registry knows of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Naming {
    /// Nothing to add or to learn.
    AsSent,
    /// The log was given the name the registry knows it by.
    Completed,
    /// The log names a pair the registry does not know yet: learn it.
    Learn(Cluster),
    /// The log names a pair the registry holds otherwise: stored as sent, and worth a warning.
    Conflict(Cluster),
}

impl Registered {
    /// The names to read a cluster's logs under: those asked for, and the other name of each
    /// cluster the registry knows.
    pub fn names(&self, asked: &ClusterNames) -> ClusterNames {
        ClusterNames {
            uuid: asked
                .uuid
                .clone()
                .or_else(|| self.by_id.as_ref().map(|c| c.cluster_uuid.clone())),
            id: asked
                .id
                .clone()
                .or_else(|| self.by_uuid.as_ref().map(|c| c.cluster_id.clone())),
        }
    }

    fn entries(&self) -> impl Iterator<Item = &Cluster> {
        self.by_uuid.iter().chain(self.by_id.iter())
    }

    /// Completes `log` with the name it lacks, or says what the registry should learn from it.
    pub fn name(&self, log: &mut ClusterLog) -> Naming {
        let names = ClusterNames::of(log);
        if names.uuid.is_some() && names.id.is_some() {
            return match self.entries().find(|known| known.names() != names) {
                Some(known) => Naming::Conflict(known.clone()),
                None if self.by_uuid.is_none() && self.by_id.is_none() => {
                    match (names.uuid, names.id) {
                        (Some(cluster_uuid), Some(cluster_id)) => Naming::Learn(Cluster {
                            cluster_uuid,
                            cluster_id,
                            subscription_id: log.subscription_id.clone(),
                            organization_id: None,
                        }),
                        _ => Naming::AsSent,
                    }
                }
                None => Naming::AsSent,
            };
        }
        let known = self.by_uuid.as_ref().or(self.by_id.as_ref());
        match known {
            Some(known) if known.names().complete(log) => Naming::Completed,
            _ => Naming::AsSent,
        }
    }
}

/// Whose cluster logs a caller reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// `service-logs-reader` or `service-logs-internal`: every organization's.
    Everyone(Visibility),
    /// Everybody else, a customer: the public logs of their organization's clusters; none when
    /// the token names no organization.
    Organization(Option<String>),
}

impl Audience {
    pub fn of(caller: &Caller) -> Self {
        if caller.has(Role::ServiceLogsInternal) {
            Audience::Everyone(Visibility::IncludingInternal)
        } else if caller.has(Role::ServiceLogsReader) {
            Audience::Everyone(Visibility::PublicOnly)
        } else {
            Audience::Organization(caller.organization.clone())
        }
    }

    pub fn visibility(&self) -> Visibility {
        match self {
            Audience::Everyone(visibility) => *visibility,
            Audience::Organization(_) => Visibility::PublicOnly,
        }
    }

    /// True for staff, who read every cluster's logs whoever owns the cluster.
    pub fn reads_every_cluster(&self) -> bool {
        matches!(self, Audience::Everyone(_))
    }

    /// Whether this audience reads the logs of the cluster these entries describe. A customer
    /// reads only a cluster the registry gives to their organization, by every name asked for:
    /// an unknown cluster, one without an owner and one of another organization are all the same
    /// to them. Fails closed.
    pub fn may_read(&self, registered: &Registered) -> bool {
        match self {
            Audience::Everyone(_) => true,
            Audience::Organization(None) => false,
            Audience::Organization(Some(organization)) => {
                let mut entries = registered.entries().peekable();
                entries.peek().is_some()
                    && entries.all(|c| c.organization_id.as_deref() == Some(organization))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(organization: Option<&str>) -> Cluster {
        Cluster {
            cluster_uuid: "u-1".into(),
            cluster_id: "id-1".into(),
            subscription_id: None,
            organization_id: organization.map(str::to_owned),
        }
    }

    fn log(uuid: Option<&str>, id: Option<&str>) -> ClusterLog {
        ClusterLog {
            cluster_uuid: uuid.map(str::to_owned),
            cluster_id: id.map(str::to_owned),
            ..ClusterLog::default()
        }
    }

    #[test]
    fn a_log_posted_under_one_name_gets_the_other_the_registry_knows() {
        let known = Registered {
            by_id: Some(cluster(None)),
            ..Registered::default()
        };
        let mut by_id = log(None, Some("id-1"));
        assert_eq!(known.name(&mut by_id), Naming::Completed);
        assert_eq!(by_id.cluster_uuid.as_deref(), Some("u-1"));
        let mut unknown = log(None, Some("id-1"));
        assert_eq!(Registered::default().name(&mut unknown), Naming::AsSent);
        assert_eq!(unknown.cluster_uuid, None);
    }

    #[test]
    fn a_new_pair_is_learned_and_a_conflicting_one_stored_as_sent() {
        let mut both = log(Some("u-1"), Some("id-1"));
        assert!(matches!(
            Registered::default().name(&mut both),
            Naming::Learn(c) if c.cluster_uuid == "u-1" && c.cluster_id == "id-1"
        ));
        let known = Registered {
            by_uuid: Some(cluster(Some("A"))),
            ..Registered::default()
        };
        assert_eq!(known.name(&mut both), Naming::AsSent);
        let mut other = log(Some("u-1"), Some("id-2"));
        assert!(matches!(known.name(&mut other), Naming::Conflict(_)));
        assert_eq!(other.cluster_id.as_deref(), Some("id-2"));
    }

    #[test]
    fn customers_read_only_clusters_of_their_organization() {
        let of = |organization: Option<&str>| Registered {
            by_uuid: Some(cluster(organization)),
            ..Registered::default()
        };
        let customer = |org: Option<&str>| Audience::Organization(org.map(str::to_owned));
        assert!(customer(Some("A")).may_read(&of(Some("A"))));
        assert!(!customer(Some("A")).may_read(&of(Some("B"))));
        assert!(!customer(Some("A")).may_read(&of(None)));
        assert!(!customer(Some("A")).may_read(&Registered::default()));
        assert!(!customer(None).may_read(&of(Some("A"))));
        let split = Registered {
            by_uuid: Some(cluster(Some("A"))),
            by_id: Some(cluster(Some("B"))),
            logs_by_id_alone: false,
        };
        assert!(!customer(Some("A")).may_read(&split));
        assert!(Audience::Everyone(Visibility::PublicOnly).may_read(&Registered::default()));
    }

    #[test]
    fn cluster_messages_need_both_names_and_an_owner() {
        let message = serde_json::json!({"kind": "Cluster", "cluster_uuid": "u-1",
            "cluster_id": "id-1", "subscription_id": "s-1", "organization_id": "A"});
        assert_eq!(
            Cluster::from_message(&message).map(|c| c.organization_id),
            Ok(Some("A".to_owned()))
        );
        for missing in ["cluster_uuid", "cluster_id", "organization_id"] {
            let mut without = message.clone();
            without[missing] = serde_json::json!("");
            assert!(Cluster::from_message(&without).is_err(), "{missing}");
        }
        let mut numeric = message;
        numeric["cluster_id"] = serde_json::json!(7);
        assert!(Cluster::from_message(&numeric).is_err());
    }
}
