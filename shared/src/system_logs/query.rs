//! A list request as typed values: its filters, its ordering (`o`) and its page, parsed once from
//! the query parameters with DRF's errors. Nothing here knows HTTP or DynamoDB:
//! crate::system_logs::request hands the parameters over, crate::system_logs::plan reads these.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::SystemLogError;
use super::model::{Level, Source, SystemLog};
use super::table::SystemLogRow;
use crate::partition::Direction;
use crate::timestamp;

/// A request's query parameters in the order sent (repeated names kept, as Django keeps them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    /// The last value of a parameter (as Django reads repeated parameters), empty ones ignored.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.trim().is_empty())
    }
}

/// Items per page when the caller does not say (or says something unusable).
pub const DEFAULT_PAGE_SIZE: u64 = 10;
/// Most items per page.
pub const MAX_PAGE_SIZE: u64 = 300;
/// Most matches an ordering that no index serves may sort in memory.
pub const MAX_SORTED: usize = 10_000;
/// Latest unix time accepted in `created_from`/`created_to` (9999-12-31T23:59:59Z).
const MAX_UNIX_SECONDS: f64 = 253_402_300_799.0;

/// The filters of the list (and of retrieve). Empty parameters count as absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemLogFilter {
    pub source: Option<Source>,
    pub instance: Option<String>,
    pub level: Option<Level>,
    pub level_gte: Option<f64>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    /// Lowercased: a case-insensitive prefix of `logger_name`.
    pub logger_name: Option<String>,
    /// Lowercased: a case-insensitive substring of `message`.
    pub message: Option<String>,
}

/// A field `o` may order by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Created,
    LevelNumber,
    Instance,
}

/// `o`: fields with directions. Ties on `created` are broken by `id`: ascending under `-created`
/// (the default), descending under `created`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering(pub Vec<(Field, Direction)>);

impl Default for Ordering {
    fn default() -> Self {
        Ordering(vec![(Field::Created, Direction::Descending)])
    }
}

/// Which page: a number, or `last`; and where a cursor says the page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSpec {
    pub page: PageNumber,
    pub size: u64,
    pub cursor: Option<Cursor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageNumber {
    Number(u64),
    Last,
}

/// Where the previous page ended: the position of its last log in the merge order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "k")]
    pub created_key: String,
    #[serde(rename = "p")]
    pub pk: String,
    #[serde(rename = "l")]
    pub level_number: i64,
    #[serde(rename = "i")]
    pub instance: String,
    /// The query it belongs to ([`query_digest`]): a cursor of another query is refused.
    #[serde(rename = "q", default)]
    pub query: String,
}

/// What the cursor's keys may be: what the store writes (`log#<id>`, `<created>#<16 digits>`),
/// and an instance no longer than a stored one can be.
const CURSOR_MAX_TEXT: usize = 1024;

/// A short digest of a list's filters and ordering, which its cursors carry.
pub fn query_digest(filter: &SystemLogFilter, ordering: &Ordering) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{filter:?}|{ordering:?}").as_bytes());
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The 400 for a cursor that is not one of ours, or not this query's.
pub fn invalid_cursor() -> SystemLogError {
    SystemLogError::InvalidParams(BTreeMap::from([(
        "cursor".to_owned(),
        vec!["Invalid cursor.".to_owned()],
    )]))
}

impl Cursor {
    pub fn encode(&self) -> String {
        // Four plain fields: serializing cannot fail, and an empty cursor would only fail to decode.
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// A cursor this service wrote, else `None`: DynamoDB is never handed keys it would refuse.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let cursor: Cursor = serde_json::from_slice(&bytes).ok()?;
        let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let pk_ok = cursor.pk.strip_prefix("log#").is_some_and(digits);
        let key_ok = cursor.created_key.len() <= 64
            && cursor
                .created_key
                .rsplit_once('#')
                .is_some_and(|(created, id)| !created.is_empty() && id.len() == 16 && digits(id));
        let instance_ok = !cursor.instance.is_empty() && cursor.instance.len() <= CURSOR_MAX_TEXT;
        (pk_ok && key_ok && instance_ok && !cursor.query.is_empty()).then_some(cursor)
    }

    /// The position of a stored log in the list `query` names.
    pub fn of(row: &SystemLogRow, query: &str) -> Self {
        Cursor {
            created_key: row.created_key.clone(),
            pk: row.pk.clone(),
            level_number: i64::from(row.log.level_number),
            instance: row.log.instance.clone(),
            query: query.to_owned(),
        }
    }
}

/// Parameter errors, one list of messages per parameter, as DRF reports them.
#[derive(Debug, Default)]
struct Problems(BTreeMap<String, Vec<String>>);

impl Problems {
    fn add(&mut self, parameter: &str, message: String) {
        self.0
            .entry(parameter.to_owned())
            .or_default()
            .push(message);
    }

    fn into_result<T>(self, value: T) -> Result<T, SystemLogError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(SystemLogError::InvalidParams(self.0))
        }
    }
}

fn choice_error(value: &str) -> String {
    format!("Select a valid choice. {value} is not one of the available choices.")
}

/// A finite number; `None` with DRF's message otherwise.
fn parse_number(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err("Enter a number.".to_owned()),
    }
}

fn parse_unix_seconds(text: &str) -> Result<i64, String> {
    let value = parse_number(text)?;
    if value < 0.0 {
        Err("Ensure this value is greater than or equal to 0.".to_owned())
    } else if value > MAX_UNIX_SECONDS {
        Err(format!(
            "Ensure this value is less than or equal to {MAX_UNIX_SECONDS:.0}."
        ))
    } else {
        Ok(value.trunc() as i64)
    }
}

impl SystemLogFilter {
    pub fn from_params(params: &QueryParams) -> Result<Self, SystemLogError> {
        let mut problems = Problems::default();
        let mut filter = SystemLogFilter::default();
        if let Some(source) = params.get("source") {
            if let Some(source) = Source::named(source) {
                filter.source = Some(source);
            } else {
                problems.add("source", choice_error(source));
            }
        }
        filter.instance = params.get("instance").map(str::to_owned);
        if let Some(level) = params.get("level") {
            match Level::named(level).filter(|level| level.is_filterable()) {
                Some(level) => filter.level = Some(level),
                None => problems.add("level", choice_error(level)),
            }
        }
        if let Some(text) = params.get("level_gte") {
            match parse_number(text) {
                // Levels are whole numbers from 10 to 50: `level >= v` is `level >= ceil(v)`, and
                // anything outside 0..=51 means the same as its end (DynamoDB rejects 1e200).
                Ok(value) => filter.level_gte = Some(value.ceil().clamp(0.0, 51.0)),
                Err(message) => problems.add("level_gte", message),
            }
        }
        for (name, slot) in [
            ("created_from", &mut filter.created_from),
            ("created_to", &mut filter.created_to),
        ] {
            if let Some(text) = params.get(name) {
                match parse_unix_seconds(text) {
                    Ok(value) => *slot = Some(value),
                    Err(message) => problems.add(name, message),
                }
            }
        }
        filter.logger_name = params.get("logger_name").map(str::to_lowercase);
        filter.message = params.get("message").map(str::to_lowercase);
        problems.into_result(filter)
    }

    pub fn level_matches(&self, level_number: u8) -> bool {
        self.level
            .is_none_or(|level| level.number() == level_number)
            && self
                .level_gte
                .is_none_or(|minimum| f64::from(level_number) >= minimum)
    }

    /// Does one stored log pass every filter? (Retrieve applies the list filters too.)
    pub fn matches(&self, log: &SystemLog) -> bool {
        let created_nanos = timestamp::parse(&log.created)
            .map(|t| t.unix_timestamp_nanos())
            .unwrap_or(0);
        self.source.is_none_or(|s| s == log.source)
            && self.instance.as_deref().is_none_or(|i| i == log.instance)
            && self.level_matches(log.level_number)
            && self
                .created_from
                .is_none_or(|from| created_nanos >= i128::from(from) * 1_000_000_000)
            && self
                .created_to
                .is_none_or(|to| created_nanos < i128::from(to) * 1_000_000_000)
            && self
                .logger_name
                .as_deref()
                .is_none_or(|prefix| log.logger_name.to_lowercase().starts_with(prefix))
            && self
                .message
                .as_deref()
                .is_none_or(|part| log.message.to_lowercase().contains(part))
    }
}

impl Ordering {
    /// `o`: a comma list of `created`, `level_number`, `instance`, each optionally with `-`.
    pub fn from_params(params: &QueryParams) -> Result<Self, SystemLogError> {
        let Some(text) = params.get("o") else {
            return Ok(Ordering::default());
        };
        let mut problems = Problems::default();
        let mut fields = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (direction, name) = match part.strip_prefix('-') {
                Some(name) => (Direction::Descending, name),
                None => (Direction::Ascending, part),
            };
            let field = match name {
                "created" => Field::Created,
                "level_number" => Field::LevelNumber,
                "instance" => Field::Instance,
                _ => {
                    problems.add("o", choice_error(part));
                    continue;
                }
            };
            if !fields.iter().any(|(f, _)| *f == field) {
                fields.push((field, direction));
            }
        }
        if fields.is_empty() {
            return problems.into_result(Ordering::default());
        }
        problems.into_result(Ordering(fields))
    }
}

/// Everything a list request asks for. Bad filters and a bad `o` are reported together, one key
/// per parameter, before the page is looked at (as DRF validates a filterset before paginating).
pub fn list_request(
    params: &QueryParams,
) -> Result<(SystemLogFilter, Ordering, PageSpec), SystemLogError> {
    let filter = SystemLogFilter::from_params(params);
    let ordering = Ordering::from_params(params);
    match (filter, ordering) {
        (Ok(filter), Ok(ordering)) => Ok((filter, ordering, PageSpec::from_params(params)?)),
        (
            Err(SystemLogError::InvalidParams(mut first)),
            Err(SystemLogError::InvalidParams(second)),
        ) => {
            first.extend(second);
            Err(SystemLogError::InvalidParams(first))
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    }
}

impl PageSpec {
    /// `page` (from 1, or `last`) and `page_size` (default 10, at most 300; unusable values give 10).
    pub fn from_params(params: &QueryParams) -> Result<Self, SystemLogError> {
        let size = params
            .get("page_size")
            .and_then(|text| text.trim().parse::<i64>().ok())
            .filter(|size| *size > 0)
            .map_or(DEFAULT_PAGE_SIZE, |size| (size as u64).min(MAX_PAGE_SIZE));
        let page = match params.get("page") {
            None => PageNumber::Number(1),
            Some("last") => PageNumber::Last,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(number) if number >= 1 => PageNumber::Number(number),
                _ => return Err(SystemLogError::InvalidPage),
            },
        };
        let cursor = match params.get("cursor") {
            None | Some("") => None,
            Some(text) => Some(Cursor::decode(text).ok_or_else(invalid_cursor)?),
        };
        Ok(PageSpec { page, size, cursor })
    }

    /// The page number for `count` matches; `InvalidPage` past the end, as DRF answers.
    pub fn resolve(&self, count: u64) -> Result<(u64, u64), SystemLogError> {
        let pages = count.div_ceil(self.size).max(1);
        let page = match self.page {
            PageNumber::Last => pages,
            PageNumber::Number(page) if page <= pages => page,
            PageNumber::Number(_) => return Err(SystemLogError::InvalidPage),
        };
        Ok((page, pages))
    }
}

#[cfg(test)]
mod cursor_tests {
    use super::*;

    #[test]
    fn only_cursors_this_service_writes_are_read() {
        let encode = |value: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
        };
        let good = serde_json::json!({"k": "2026-11-21T10:00:00.500000Z#0000000000000007", "p": "log#42",
            "l": 40, "i": "waldur-worker-1", "q": "0123456789abcdef"});
        assert!(Cursor::decode(&encode(good.clone())).is_some());
        for (field, value) in [
            ("p", serde_json::json!("")),
            ("p", serde_json::json!("log#")),
            ("p", serde_json::json!("instance#api#x#1")),
            ("k", serde_json::json!("")),
            ("k", serde_json::json!("x".repeat(2000))),
            ("k", serde_json::json!("2026#12")),
            ("i", serde_json::json!("")),
            ("i", serde_json::json!("€".repeat(1024))),
            ("q", serde_json::json!("")),
        ] {
            let mut tampered = good.clone();
            tampered[field] = value;
            assert!(Cursor::decode(&encode(tampered)).is_none(), "{field}");
        }
        assert!(Cursor::decode("not base64 at all!").is_none());
        assert!(Cursor::decode(&encode(serde_json::json!([1, 2]))).is_none());
    }
}
