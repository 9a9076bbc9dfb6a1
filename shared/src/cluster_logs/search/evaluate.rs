//! A search against one log, as SQL would compare text.

use super::{Op, Search};
use crate::cluster_logs::ClusterLog;

impl Search {
    /// True when `log` satisfies the search.
    pub fn matches(&self, log: &ClusterLog) -> bool {
        match self {
            Search::And(terms) => terms.iter().all(|term| term.matches(log)),
            Search::Or(terms) => terms.iter().any(|term| term.matches(log)),
            Search::Not(inner) => !inner.matches(log),
            Search::Compare { field, op, value } => values_of(log, field).iter().any(|held| {
                let order = held.as_str().cmp(value.as_str());
                match op {
                    Op::Eq => order.is_eq(),
                    Op::Ne => order.is_ne(),
                    Op::Lt => order.is_lt(),
                    Op::Le => order.is_le(),
                    Op::Gt => order.is_gt(),
                    Op::Ge => order.is_ge(),
                }
            }),
            Search::In { field, values } => values_of(log, field)
                .iter()
                .any(|held| values.iter().any(|value| value == held)),
            Search::Like { field, pattern } => values_of(log, field)
                .iter()
                .any(|held| pattern.matches(held)),
        }
    }
}

/// The values a field holds, as text: absent text is `''` (the web UI searches `username = ''`),
/// a list holds each element, a boolean is `true`/`false`.
pub(crate) fn values_of(log: &ClusterLog, field: &str) -> Vec<String> {
    let text = |value: &Option<String>| vec![value.clone().unwrap_or_default()];
    match field {
        "id" => vec![log.id.clone()],
        "cluster_id" => text(&log.cluster_id),
        "cluster_uuid" => text(&log.cluster_uuid),
        "subscription_id" => text(&log.subscription_id),
        "summary" => text(&log.summary),
        "description" => text(&log.description),
        "service_name" => text(&log.service_name),
        "severity" => vec![log.severity.as_str().to_owned()],
        "log_type" => text(&log.log_type),
        "doc_references" => log.doc_references.clone(),
        "internal_only" => vec![log.internal_only.to_string()],
        "event_stream_id" => text(&log.event_stream_id),
        "username" => text(&log.username),
        "timestamp" => vec![log.timestamp.clone()],
        "created_at" => vec![log.created_at.clone()],
        "created_by" => text(&log.created_by),
        "email" => text(&log.email),
        "first_name" => text(&log.first_name),
        "last_name" => text(&log.last_name),
        _ => Vec::new(),
    }
}
