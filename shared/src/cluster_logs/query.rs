//! What a list asks for, as typed values: whose logs, seen by whom, which search, which order,
//! which page. Parsed from the parameters' text (crate::cluster_logs::request hands them over);
//! nothing here knows HTTP or DynamoDB.

use super::search::{SEARCH_FIELDS, Search, values_of};
use super::{ClusterLog, ClusterLogError, Visibility};
use crate::partition::Direction;

/// Items per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Most items on one page; a negative `size` asks for this many.
pub const MAX_PAGE_SIZE: u32 = 500;
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

/// `orderBy` (or `order`, as the Go SDK sends it): fields with their directions, first first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterLogOrder(pub Vec<(&'static str, Direction)>);

impl ClusterLogOrder {
    /// `field [asc|desc]`, comma separated; direction `asc` when not given. Empty: `None`.
    pub fn parse(text: &str) -> Result<Option<Self>, ClusterLogError> {
        let mut keys = Vec::new();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let mut words = part.split_whitespace();
            let name = words.next().unwrap_or_default();
            let field = SEARCH_FIELDS
                .iter()
                .find(|known| known.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    ClusterLogError::BadRequest(format!(
                        "orderBy: unknown field '{name}'; fields are {}",
                        SEARCH_FIELDS.join(", ")
                    ))
                })?;
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
            keys.push((*field, direction));
        }
        Ok((!keys.is_empty()).then_some(ClusterLogOrder(keys)))
    }

    /// How an index serves this order: by which time field, read in which direction; `None` when
    /// no index does.
    pub fn index_order(&self) -> Option<(SortTime, Direction)> {
        let (field, direction) = match self.0.as_slice() {
            [(field, direction)] => (field, *direction),
            [(field, direction), ("id", tie)] if tie == direction => (field, *direction),
            _ => return None,
        };
        let sort = match *field {
            "timestamp" => SortTime::Timestamp,
            "created_at" => SortTime::CreatedAt,
            _ => return None,
        };
        Some((sort, direction))
    }

    pub fn compare(&self, a: &ClusterLog, b: &ClusterLog) -> std::cmp::Ordering {
        self.0
            .iter()
            .map(|(field, direction)| {
                direction.apply(values_of(a, field).cmp(&values_of(b, field)))
            })
            .find(|order| order.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
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
                let uuid = search.equality("cluster_uuid").map(str::to_owned);
                let id = search.equality("cluster_id").map(str::to_owned);
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

/// `page` (from 1) and `size` (items per page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub size: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// `page`: default 1, at least 1. `size`: default 100; 0 gives no items; negative gives the most
    /// allowed; above the most allowed is cut to it.
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
                Ok(number) if number < 0 => MAX_PAGE_SIZE,
                Ok(number) => u32::try_from(number).unwrap_or(u32::MAX).min(MAX_PAGE_SIZE),
                Err(_) => {
                    return Err(ClusterLogError::BadRequest(format!(
                        "Query parameter 'size' is '{text}'; expected a whole number"
                    )));
                }
            },
        };
        let request = Self { page, size };
        if request.offset() > MAX_OFFSET {
            return Err(ClusterLogError::BadRequest(format!(
                "Page {page} of size {size} starts beyond item {MAX_OFFSET}; narrow the query instead"
            )));
        }
        Ok(request)
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
    fn paging_defaults_and_bounds_follow_the_contract() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(
            PageRequest::parse(None, None)?,
            PageRequest { page: 1, size: 100 }
        );
        assert_eq!(
            PageRequest::parse(Some("3"), Some("0"))?,
            PageRequest { page: 3, size: 0 }
        );
        assert_eq!(PageRequest::parse(None, Some("-1"))?.size, MAX_PAGE_SIZE);
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
