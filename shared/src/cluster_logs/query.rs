//! What a list asks for, as typed values: whose logs, seen by whom, which search, which order,
//! which page. Parsed from the parameters' text (crate::cluster_logs::request hands them over);
//! nothing here knows HTTP or DynamoDB.

use super::search::{SEARCH_FIELDS, Search, values_of};
use super::{ClusterLog, ClusterLogError, Visibility};
use crate::partition::Direction;

/// Items per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Most items on one page.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Most logs a download (a negative `size`, the web console's "Download history") returns in one
/// answer; beyond it, a 400 asks to page. Typical logs (about 1 KB as JSON) make about 10 MB, which
/// fits one response gzip-compressed (crate::http::encode).
pub const DOWNLOAD_MAX_LOGS: u32 = 10_000;
/// Deepest item a page may start at: deeper pages would read more than any client needs.
pub const MAX_OFFSET: u64 = 50_000;

/// Most matches a list orders in memory (any `orderBy` but `timestamp` or `created_at`, in either
/// direction); beyond it, a 400
/// asks for a narrower search.
pub const MAX_SORTED: usize = 10_000;

/// The time field a list is read in the order of: each has its own indexes (docs/data-model.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortTime {
    Timestamp,
    CreatedAt,
}

impl SortTime {
    /// The attribute the indexes of this order sort by.
    pub fn attribute(self) -> &'static str {
        match self {
            SortTime::Timestamp => "timestamp",
            SortTime::CreatedAt => "created_at",
        }
    }
}

/// One key of an order: a field, or fields joined by `||` meaning the first of them that has a
/// value (the web console's "Logged by" column sends `username||created_by`), and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub fields: Vec<&'static str>,
    pub direction: Direction,
}

impl SortKey {
    /// The values this key orders `log` by: those of its first field that has a value.
    fn values(&self, log: &ClusterLog) -> Vec<String> {
        let mut values = Vec::new();
        for field in &self.fields {
            values = values_of(log, field);
            if values.iter().any(|value| !value.is_empty()) {
                break;
            }
        }
        values
    }

    /// The field of a key without alternatives.
    fn only(&self) -> Option<&'static str> {
        match self.fields.as_slice() {
            [field] => Some(field),
            _ => None,
        }
    }
}

/// `orderBy` (or `order`, as the Go SDK sends it): keys with their directions, first first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterLogOrder(pub Vec<SortKey>);

impl ClusterLogOrder {
    /// `key [asc|desc]`, comma separated, where a key is a field or `a||b`; direction `asc` when
    /// not given. Empty: `None`.
    pub fn parse(text: &str) -> Result<Option<Self>, ClusterLogError> {
        let mut keys = Vec::new();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            // `a || b` reads as `a||b`: the alternatives are one word.
            let part = part
                .split("||")
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("||");
            let mut words = part.split_whitespace();
            let name = words.next().unwrap_or_default();
            let fields = name
                .split("||")
                .map(field_named)
                .collect::<Result<Vec<_>, _>>()?;
            let direction = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => Direction::Ascending,
                Some("desc") => Direction::Descending,
                Some(other) => {
                    return Err(ClusterLogError::BadRequest(format!(
                        "orderBy: '{other}' after '{name}' is not asc or desc"
                    )));
                }
            };
            if let Some(extra) = words.next() {
                return Err(ClusterLogError::BadRequest(format!(
                    "orderBy: unexpected '{extra}' in '{part}'"
                )));
            }
            keys.push(SortKey { fields, direction });
        }
        Ok((!keys.is_empty()).then_some(ClusterLogOrder(keys)))
    }

    /// How an index serves this order: by which time field, read in which direction; `None` when
    /// no index does.
    pub fn index_order(&self) -> Option<(SortTime, Direction)> {
        let (field, direction) = match self.0.as_slice() {
            [key] => (key.only()?, key.direction),
            [key, tie] if tie.only() == Some("id") && tie.direction == key.direction => {
                (key.only()?, key.direction)
            }
            _ => return None,
        };
        let sort = match field {
            "timestamp" => SortTime::Timestamp,
            "created_at" => SortTime::CreatedAt,
            _ => return None,
        };
        Some((sort, direction))
    }

    pub fn compare(&self, a: &ClusterLog, b: &ClusterLog) -> std::cmp::Ordering {
        self.0
            .iter()
            .map(|key| key.direction.apply(key.values(a).cmp(&key.values(b))))
            .find(|order| order.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// The field `name` names in an `orderBy`, whatever its case.
fn field_named(name: &str) -> Result<&'static str, ClusterLogError> {
    SEARCH_FIELDS
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| {
            ClusterLogError::BadRequest(format!(
                "orderBy: unknown field '{name}'; fields are {}",
                SEARCH_FIELDS.join(", ")
            ))
        })
}

/// Whose logs a list covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterScope {
    /// Every cluster.
    All,
    /// One cluster, by external UUID and/or by internal id: the logs of its UUID, and the logs
    /// posted under its id alone (crate::cluster_logs::plan).
    Cluster {
        uuid: Option<String>,
        id: Option<String>,
    },
}

/// A list query: which logs, seen by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterLogFilter {
    pub scope: ClusterScope,
    pub visibility: Visibility,
    /// The `search` parameter, parsed; `None` when absent or empty.
    pub search: Option<Search>,
    /// `orderBy`; `None` for the default, newest first.
    pub order: Option<ClusterLogOrder>,
    /// For a cluster of both names: whether logs were stored under its id alone, so that the
    /// id's logs without a UUID are read too. True unless the registry says otherwise.
    pub logs_by_id_alone: bool,
}

impl ClusterLogFilter {
    /// The filter of a list request: `scope` from the route, the search from `search`. An equality
    /// on `cluster_uuid` or `cluster_id` at the top level of the search narrows an all-clusters
    /// list to that cluster's index partition.
    pub fn new(
        scope: ClusterScope,
        visibility: Visibility,
        search: Option<&str>,
    ) -> Result<Self, ClusterLogError> {
        let search = match search {
            Some(text) => Search::parse(text)
                .map_err(|error| ClusterLogError::BadRequest(error.to_string()))?,
            None => None,
        };
        let scope = match (scope, &search) {
            (ClusterScope::All, Some(search)) => {
                // `cluster_uuid = ''` asks for logs without one: no index partition holds them.
                let named = |field| {
                    search
                        .equality(field)
                        .filter(|value| !value.is_empty())
                        .map(str::to_owned)
                };
                let (uuid, id) = (named("cluster_uuid"), named("cluster_id"));
                if uuid.is_some() || id.is_some() {
                    ClusterScope::Cluster { uuid, id }
                } else {
                    ClusterScope::All
                }
            }
            (scope, _) => scope,
        };
        Ok(Self {
            scope,
            visibility,
            search,
            order: None,
            logs_by_id_alone: true,
        })
    }
}

/// `page` (from 1) and `size` (items per page), or the whole list at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub size: u32,
    /// Every match in one answer (a negative `size`): the first [`DOWNLOAD_MAX_LOGS`] and one
    /// more are read, so that a longer list is refused rather than cut.
    pub whole: bool,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::new(1, DEFAULT_PAGE_SIZE)
    }
}

impl PageRequest {
    pub const fn new(page: u32, size: u32) -> Self {
        Self {
            page,
            size,
            whole: false,
        }
    }

    /// Every match, up to [`DOWNLOAD_MAX_LOGS`].
    pub const fn whole() -> Self {
        Self {
            page: 1,
            size: DOWNLOAD_MAX_LOGS + 1,
            whole: true,
        }
    }

    /// `page`: default 1, at least 1. `size`: default 100; 0 gives no items; negative gives every
    /// match (from the first, whatever the page); above the most allowed is cut to it.
    pub fn parse(page: Option<&str>, size: Option<&str>) -> Result<Self, ClusterLogError> {
        let page = match page {
            None => 1,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(number) if number >= 1 => u32::try_from(number).unwrap_or(u32::MAX),
                _ => {
                    return Err(ClusterLogError::BadRequest(format!(
                        "Query parameter 'page' is '{text}'; expected a whole number from 1"
                    )));
                }
            },
        };
        let size = match size {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(number) if number < 0 => return Ok(Self::whole()),
                Ok(number) => u32::try_from(number).unwrap_or(u32::MAX).min(MAX_PAGE_SIZE),
                Err(_) => {
                    return Err(ClusterLogError::BadRequest(format!(
                        "Query parameter 'size' is '{text}'; expected a whole number"
                    )));
                }
            },
        };
        let request = Self::new(page, size);
        if request.offset() > MAX_OFFSET {
            return Err(ClusterLogError::BadRequest(format!(
                "Page {page} of size {size} starts beyond item {MAX_OFFSET}; narrow the query instead"
            )));
        }
        Ok(request)
    }

    /// The logs a page read holds, once it is known to be a whole list that is too long to send
    /// at once: a 400 that says to page.
    pub fn check_whole(&self, read: usize) -> Result<(), ClusterLogError> {
        if self.whole && read > DOWNLOAD_MAX_LOGS as usize {
            return Err(ClusterLogError::BadRequest(format!(
                "More than {DOWNLOAD_MAX_LOGS} logs match; a negative 'size' returns at most {DOWNLOAD_MAX_LOGS}: page with 'page' and 'size' (at most {MAX_PAGE_SIZE}), or narrow the search"
            )));
        }
        Ok(())
    }

    /// How many matches come before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_and_created_at_orders_are_read_from_their_indexes() -> Result<(), ClusterLogError>
    {
        let read = |text: &str| -> Result<Option<(SortTime, Direction)>, ClusterLogError> {
            Ok(ClusterLogOrder::parse(text)?.and_then(|order| order.index_order()))
        };
        use Direction::{Ascending, Descending};
        use SortTime::{CreatedAt, Timestamp};
        assert_eq!(read("timestamp desc")?, Some((Timestamp, Descending)));
        assert_eq!(
            read("timestamp desc, id desc")?,
            Some((Timestamp, Descending))
        );
        assert_eq!(read("timestamp")?, Some((Timestamp, Ascending)));
        assert_eq!(read("TIMESTAMP asc, id asc")?, Some((Timestamp, Ascending)));
        assert_eq!(read("created_at desc")?, Some((CreatedAt, Descending)));
        assert_eq!(
            read("created_at asc, id asc")?,
            Some((CreatedAt, Ascending))
        );
        for sorted_here in [
            "timestamp desc, id asc",
            "created_at desc, timestamp desc",
            "severity, timestamp desc",
        ] {
            assert_eq!(read(sorted_here)?, None, "{sorted_here}");
        }
        Ok(())
    }

    #[test]
    fn the_consoles_logged_by_order_falls_back_to_created_by() -> Result<(), ClusterLogError> {
        let order = ClusterLogOrder::parse("username||created_by asc")?
            .ok_or_else(|| ClusterLogError::BadRequest("no order".to_owned()))?;
        assert_eq!(
            order.0,
            vec![SortKey {
                fields: vec!["username", "created_by"],
                direction: Direction::Ascending
            }]
        );
        assert_eq!(order.index_order(), None, "sorted in memory");
        let by = |username: Option<&str>, created_by: &str| ClusterLog {
            username: username.map(str::to_owned),
            created_by: Some(created_by.to_owned()),
            ..ClusterLog::default()
        };
        let (alice, bob, carol) = (by(None, "alice"), by(Some("bob"), "zed"), by(None, "carol"));
        let mut logs = [carol.clone(), bob.clone(), alice.clone()];
        logs.sort_by(|a, b| order.compare(a, b));
        assert_eq!(logs, [alice.clone(), bob.clone(), carol.clone()]);
        let descending = ClusterLogOrder::parse("username || created_by desc")?
            .ok_or_else(|| ClusterLogError::BadRequest("no order".to_owned()))?;
        logs.sort_by(|a, b| descending.compare(a, b));
        assert_eq!(logs, [carol, bob, alice]);
        for bad in ["username||", "||created_by", "username||nope asc"] {
            assert!(ClusterLogOrder::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn paging_defaults_and_bounds_follow_the_contract() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(PageRequest::parse(None, None)?, PageRequest::new(1, 100));
        assert_eq!(
            PageRequest::parse(Some("3"), Some("0"))?,
            PageRequest::new(3, 0)
        );
        assert_eq!(PageRequest::parse(None, Some("-1"))?, PageRequest::whole());
        assert_eq!(
            PageRequest::parse(Some("4"), Some("-5"))?,
            PageRequest::whole()
        );
        assert!(PageRequest::whole().check_whole(10_000).is_ok());
        assert!(PageRequest::whole().check_whole(10_001).is_err());
        assert!(PageRequest::new(1, 500).check_whole(10_001).is_ok());
        assert_eq!(
            PageRequest::parse(None, Some("100000"))?.size,
            MAX_PAGE_SIZE
        );
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("abc"), None).is_err());
        assert!(PageRequest::parse(None, Some("ten")).is_err());
        assert!(PageRequest::parse(Some("4000000000"), Some("100")).is_err());
        Ok(())
    }
}
