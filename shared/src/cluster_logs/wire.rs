//! The cluster-log API's bodies, in one place: a ClusterLog as sent, the list envelope, the OCM
//! Error body, `fields=` and CSV. Serialization only; crate::cluster_logs::request sends them.

use serde::Serialize;

use super::search::{SEARCH_FIELDS, values_of};
use super::{BASE_PATH, ClusterLog, ClusterLogError, Severity};

/// A ClusterLog as sent: every field present, as the production service sends it and strict
/// clients require (qontract-reconcile's model fails on a missing `username` or `description`).
/// Text without a value is `""` on the wire only: storage leaves it out, so the sparse indexes on
/// `cluster_uuid` and `cluster_id` stay valid. Times are always set, never `""` (the Go SDK cannot
/// parse that). `kind` and `href` are derived, not stored.
#[derive(Debug, Serialize)]
pub struct ClusterLogView<'a> {
    kind: &'static str,
    id: &'a str,
    href: String,
    cluster_id: &'a str,
    cluster_uuid: &'a str,
    subscription_id: &'a str,
    summary: &'a str,
    description: &'a str,
    service_name: &'a str,
    severity: Severity,
    log_type: &'a str,
    doc_references: &'a [String],
    internal_only: bool,
    event_stream_id: &'a str,
    username: &'a str,
    timestamp: &'a str,
    created_at: &'a str,
    created_by: &'a str,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
}

impl<'a> From<&'a ClusterLog> for ClusterLogView<'a> {
    fn from(log: &'a ClusterLog) -> Self {
        let text = |value: &'a Option<String>| value.as_deref().unwrap_or_default();
        Self {
            kind: "ClusterLog",
            id: &log.id,
            href: log.href(),
            cluster_id: text(&log.cluster_id),
            cluster_uuid: text(&log.cluster_uuid),
            subscription_id: text(&log.subscription_id),
            summary: text(&log.summary),
            description: text(&log.description),
            service_name: text(&log.service_name),
            severity: log.severity,
            log_type: text(&log.log_type),
            doc_references: &log.doc_references,
            internal_only: log.internal_only,
            event_stream_id: text(&log.event_stream_id),
            username: text(&log.username),
            timestamp: &log.timestamp,
            created_at: &log.created_at,
            created_by: text(&log.created_by),
            email: text(&log.email),
            first_name: text(&log.first_name),
            last_name: text(&log.last_name),
        }
    }
}

/// The list envelope: `size` is the number of items on this page, `total` all matches. Items are
/// whole views, or (with `fields=`) JSON objects holding the selected fields.
#[derive(Debug, Serialize)]
pub struct ClusterLogList<T: Serialize> {
    kind: &'static str,
    page: u32,
    size: usize,
    total: u64,
    items: Vec<T>,
}

impl<T: Serialize> ClusterLogList<T> {
    pub fn new(page: u32, total: u64, items: Vec<T>) -> Self {
        Self {
            kind: "ClusterLogList",
            page,
            size: items.len(),
            total,
            items,
        }
    }
}

/// The OCM Error body.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    kind: &'static str,
    id: String,
    href: String,
    code: String,
    reason: String,
    operation_id: String,
}

impl ErrorBody {
    pub fn new(error: &ClusterLogError, operation_id: String) -> Self {
        let code = error.code();
        ErrorBody {
            kind: "Error",
            id: code.status().to_string(),
            href: format!("{BASE_PATH}/errors/{}", code.status()),
            code: code.code(),
            reason: error.reason(),
            operation_id,
        }
    }
}

/// Item fields a list may be limited to (`fields=`), besides `id`, which is always sent.
const SELECTABLE: [&str; 2] = ["kind", "href"];

/// `fields=a,b`: the item fields to send, `id` first and always; `None` for all of them.
pub fn selected_fields(text: Option<&str>) -> Result<Option<Vec<&'static str>>, ClusterLogError> {
    let Some(text) = text.filter(|text| !text.trim().is_empty()) else {
        return Ok(None);
    };
    let mut fields = vec!["id"];
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let field = SEARCH_FIELDS
            .iter()
            .chain(&SELECTABLE)
            .find(|known| **known == name)
            .ok_or_else(|| {
                ClusterLogError::BadRequest(format!(
                    "fields: unknown field '{name}'; fields are {}",
                    SEARCH_FIELDS
                        .iter()
                        .chain(&SELECTABLE)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if !fields.contains(field) {
            fields.push(field);
        }
    }
    Ok(Some(fields))
}

/// The text of one CSV cell: absent text is empty, a list its elements separated by spaces.
fn cell(log: &ClusterLog, field: &str) -> String {
    let text = match field {
        "kind" => "ClusterLog".to_owned(),
        "href" => log.href(),
        _ => values_of(log, field).join(" "),
    };
    neutralized(text)
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed
/// with `'`, which spreadsheets show as text (OWASP's CSV injection advice); a log's summary is
/// written by whoever posts it, and read by whoever downloads the history.
fn neutralized(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// A header row, then one row per log (RFC 4180 quoting, by the csv crate).
pub fn csv_body(logs: &[ClusterLog], fields: &[&str]) -> Result<Vec<u8>, ClusterLogError> {
    let failed = |error: csv::Error| ClusterLogError::Internal(format!("CSV not written: {error}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(fields).map_err(failed)?;
    for log in logs {
        writer
            .write_record(fields.iter().map(|field| cell(log, field)))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|error| failed(error.into_error().into()))
}

/// Each view as a JSON object holding only `fields`.
pub fn only_fields<'a>(
    views: impl Iterator<Item = ClusterLogView<'a>>,
    fields: &[&str],
) -> Result<Vec<serde_json::Value>, ClusterLogError> {
    views
        .map(|view| match serde_json::to_value(view) {
            Ok(serde_json::Value::Object(mut item)) => {
                item.retain(|name, _| fields.contains(&name.as_str()));
                Ok(serde_json::Value::Object(item))
            }
            Ok(other) => Ok(other),
            Err(error) => Err(ClusterLogError::Internal(format!(
                "item not serialized: {error}"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod csv_tests {
    use super::neutralized;

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_text() {
        for formula in [
            "=HYPERLINK(\"http://x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(neutralized(formula.to_owned()), format!("'{formula}"));
        }
        for text in ["Cluster upgraded", "", "a=b", "1-2"] {
            assert_eq!(neutralized(text.to_owned()), text);
        }
    }
}
