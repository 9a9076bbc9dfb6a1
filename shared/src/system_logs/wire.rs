//! The system-log API's bodies and pagination headers, in one place: a log as Waldur sends it and
//! the `Link` header. Serialization only; crate::system_logs::request sends them.

use serde::Serialize;

use super::{QueryParams, SystemLog};

/// The count header of a paginated list.
pub const RESULT_COUNT_HEADER: &str = "x-result-count";
/// The pagination links of a list.
pub const LINK_HEADER: &str = "link";

/// A log as sent: `created` the way Python's `isoformat()` writes it, every key always present.
#[derive(Debug, Serialize)]
pub struct SystemLogView<'a> {
    id: u64,
    created: String,
    source: &'a str,
    instance: &'a str,
    level: &'a str,
    level_number: u8,
    logger_name: &'a str,
    message: &'a str,
    context: &'a serde_json::Value,
}

impl<'a> From<&'a SystemLog> for SystemLogView<'a> {
    fn from(log: &'a SystemLog) -> Self {
        Self {
            id: log.id,
            created: python_isoformat(&log.created),
            source: log.source.as_str(),
            instance: &log.instance,
            level: log.level.as_str(),
            level_number: log.level_number,
            logger_name: &log.logger_name,
            message: &log.message,
            context: &log.context,
        }
    }
}

/// `2026-02-15T14:58:23.123456Z` as `2026-02-15T14:58:23.123456+00:00`; no fraction when it is zero.
pub fn python_isoformat(stored: &str) -> String {
    let base = stored.strip_suffix('Z').unwrap_or(stored);
    let base = base.strip_suffix(".000000").unwrap_or(base);
    format!("{base}+00:00")
}

/// The `Link` header: `first` and `last` always, `prev`/`next` when they exist. URLs are absolute,
/// with the query keys sorted and form-encoded (Django's `replace_query_param`); `first`, and
/// `prev` to page 1, drop `page`. `next` also carries a `cursor` for constant-cost paging.
pub fn link_header(
    base: &str,
    params: &QueryParams,
    page: u64,
    pages: u64,
    cursor: Option<&str>,
) -> String {
    let mut kept: Vec<(String, String)> = params
        .0
        .iter()
        .filter(|(key, _)| key != "page" && key != "cursor")
        .cloned()
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let url = |page: Option<u64>, cursor: Option<&str>| {
        let mut pairs = kept.clone();
        if let Some(cursor) = cursor {
            pairs.push(("cursor".to_owned(), cursor.to_owned()));
        }
        if let Some(page) = page {
            pairs.push(("page".to_owned(), page.to_string()));
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let query: Vec<String> = pairs
            .iter()
            .map(|(key, value)| format!("{}={}", form_encode(key), form_encode(value)))
            .collect();
        if query.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", query.join("&"))
        }
    };
    let mut links = vec![format!("<{}>; rel=\"first\"", url(None, None))];
    if page > 1 {
        let previous = (page > 2).then_some(page - 1);
        links.push(format!("<{}>; rel=\"prev\"", url(previous, None)));
    }
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", url(Some(page + 1), cursor)));
    }
    links.push(format!("<{}>; rel=\"last\"", url(Some(pages), None)));
    links.join(", ")
}

/// application/x-www-form-urlencoded, as Python's `urlencode` writes it.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_reads_like_python_isoformat() {
        assert_eq!(
            python_isoformat("2026-02-15T14:58:23.123456Z"),
            "2026-02-15T14:58:23.123456+00:00"
        );
        assert_eq!(
            python_isoformat("2026-02-15T14:58:23.000000Z"),
            "2026-02-15T14:58:23+00:00"
        );
    }

    #[test]
    fn query_values_are_form_encoded() {
        assert_eq!(form_encode("waldur core.x/y"), "waldur+core.x%2Fy");
        assert_eq!(form_encode("-created,id"), "-created%2Cid");
        assert_eq!(form_encode("é"), "%C3%A9");
    }
}
