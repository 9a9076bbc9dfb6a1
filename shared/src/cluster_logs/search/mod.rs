//! The `search` language of the list routes: an SQL-WHERE-like expression over ClusterLog fields,
//! as osdctl and the web UI write it (see the contract). A small recursive-descent parser turns it
//! into a [`Search`] tree, which is then planned (its key condition read from a top-level AND) and
//! evaluated against each log.
//!
//! Grammar (keywords in any case):
//! ```text
//! search     := or? EOF
//! or         := and ("OR" and)*
//! and        := not ("AND" not)*
//! not        := "NOT" not | "(" or ")" | comparison
//! comparison := field op value
//!             | field ["NOT"] "IN" "(" value ("," value)* ")"
//!             | field ["NOT"] ("LIKE" | "ILIKE") value
//! op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//! value      := 'text with '' for a quote' | true | false | number
//! ```
//!
//! One stage a file: [`lexer`] (text into tokens), [`parser`] (tokens into a [`Search`]),
//! [`evaluate`] (a search against one log), [`pushdown`] (the part DynamoDB can check, as a
//! FilterExpression). This file holds the tree and what a plan reads of it (key and range).

mod evaluate;
mod lexer;
mod like;
mod parser;
mod pushdown;

pub use like::LikePattern;

pub(crate) use evaluate::values_of;

pub const SEARCH_FIELDS: [&str; 19] = [
    "id",
    "cluster_id",
    "cluster_uuid",
    "subscription_id",
    "summary",
    "description",
    "service_name",
    "severity",
    "log_type",
    "doc_references",
    "internal_only",
    "event_stream_id",
    "username",
    "timestamp",
    "created_at",
    "created_by",
    "email",
    "first_name",
    "last_name",
];
/// Fields holding times: literals compared with them are read as times.
const TIME_FIELDS: [&str; 2] = ["timestamp", "created_at"];
/// Deepest nesting of parentheses and NOTs a search may use.
pub const MAX_DEPTH: usize = 32;
/// Most values an `IN (...)` list may hold.
pub const MAX_IN_VALUES: usize = 100;
/// Longest search accepted, in bytes.
pub const MAX_SEARCH_BYTES: usize = 4_096;

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    And(Vec<Search>),
    Or(Vec<Search>),
    Not(Box<Search>),
    Compare {
        field: &'static str,
        op: Op,
        value: String,
    },
    In {
        field: &'static str,
        values: Vec<String>,
    },
    /// `LIKE` (or `ILIKE`, as the pattern says), compiled once.
    Like {
        field: &'static str,
        pattern: Box<LikePattern>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A search that does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("search: {reason} at position {position}")]
pub struct SearchError {
    /// Characters from the start of the search (0-based).
    pub position: usize,
    pub reason: String,
}

impl Search {
    /// Parses a search; `None` for an empty one (every log matches).
    pub fn parse(input: &str) -> Result<Option<Search>, SearchError> {
        parser::parse(input)
    }

    /// The value a top-level AND (or the whole search) fixes `field` to with `=`, if any.
    pub fn equality(&self, field: &str) -> Option<&str> {
        match self {
            Search::Compare {
                field: f,
                op: Op::Eq,
                value,
            } if *f == field => Some(value),
            Search::And(terms) => terms.iter().find_map(|term| term.equality(field)),
            _ => None,
        }
    }

    /// The bounds a top-level AND puts on `field` (`>`/`>=`/`=` below, `<`/`<=`/`=` above), both
    /// inclusive: a range of an index's sort key that holds every match (strict bounds are
    /// still applied to each log as it is read).
    pub fn range(&self, field: &str) -> (Option<&str>, Option<&str>) {
        let terms = match self {
            Search::And(terms) => terms.as_slice(),
            single => std::slice::from_ref(single),
        };
        let (mut lower, mut upper): (Option<&str>, Option<&str>) = (None, None);
        for term in terms {
            let Search::Compare {
                field: f,
                op,
                value,
            } = term
            else {
                continue;
            };
            if *f != field {
                continue;
            }
            if matches!(op, Op::Eq | Op::Gt | Op::Ge) {
                lower = lower.max(Some(value.as_str()));
            }
            if matches!(op, Op::Eq | Op::Lt | Op::Le) {
                upper = Some(upper.map_or(value.as_str(), |u| u.min(value.as_str())));
            }
        }
        (lower, upper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_logs::ClusterLog;

    #[test]
    fn a_top_level_and_bounds_the_time_range_and_nothing_else_does() -> Result<(), SearchError> {
        let range = |text: &str| -> Result<(Option<String>, Option<String>), SearchError> {
            Ok(Search::parse(text)?.map_or((None, None), |search| {
                let (lower, upper) = search.range("timestamp");
                (lower.map(str::to_owned), upper.map(str::to_owned))
            }))
        };
        let t = |day: u8| Some(format!("2025-01-{day:02}T00:00:00.000000Z"));
        assert_eq!(
            range(
                "timestamp >= '2025-01-02T00:00:00Z' AND timestamp > '2025-01-03T00:00:00Z' AND timestamp < '2025-01-09T00:00:00Z'"
            )?,
            (t(3), t(9))
        );
        assert_eq!(range("timestamp = '2025-01-05T00:00:00Z'")?, (t(5), t(5)));
        assert_eq!(range("timestamp <= '2025-01-05T00:00:00Z'")?, (None, t(5)));
        for unbounded in [
            "timestamp >= '2025-01-02T00:00:00Z' OR severity = 'Info'",
            "NOT timestamp >= '2025-01-02T00:00:00Z'",
            "timestamp <> '2025-01-02T00:00:00Z'",
            "created_at >= '2025-01-02T00:00:00Z'",
        ] {
            assert_eq!(range(unbounded)?, (None, None), "{unbounded}");
        }
        Ok(())
    }

    fn log() -> ClusterLog {
        ClusterLog {
            id: "01JD0000000000000000000000".into(),
            cluster_uuid: Some("c-1".into()),
            service_name: Some("SREManualAction".into()),
            severity: crate::cluster_logs::Severity::Warning,
            summary: Some("Node drain blocked".into()),
            internal_only: true,
            created_by: Some("Jane.Doe".into()),
            doc_references: vec!["https://docs/a".into(), "https://docs/b".into()],
            timestamp: "2025-03-01T10:00:00.000000Z".into(),
            created_at: "2025-03-01T10:00:01.000000Z".into(),
            ..ClusterLog::default()
        }
    }

    fn holds(search: &str) -> Result<bool, SearchError> {
        Ok(Search::parse(search)?.is_none_or(|s| s.matches(&log())))
    }

    #[test]
    fn each_operator_compares_as_sql_does() -> Result<(), SearchError> {
        for (search, expected) in [
            ("severity = 'Warning'", true),
            ("severity != 'Warning'", false),
            ("severity <> 'Info'", true),
            ("timestamp >= '2025-01-01T00:00:00.000Z'", true),
            ("timestamp < '2025-03-01T10:00:00Z'", false),
            ("timestamp <= '2025-03-01T10:00:00Z'", true),
            ("created_at > '2025-03-01T10:00:00.5Z'", true),
            ("summary LIKE 'Node%'", true),
            ("summary LIKE 'node%'", false),
            ("summary ILIKE '%DRAIN%'", true),
            ("summary LIKE 'Node_drain%'", true),
            ("summary NOT ILIKE '%drain%'", false),
            ("severity IN ('Info','Warning')", true),
            ("severity NOT IN ('Info','Warning')", false),
            ("internal_only = 'true'", true),
            ("internal_only = false", false),
            ("username = ''", true),
            ("doc_references = 'https://docs/b'", true),
            ("NOT severity = 'Warning'", false),
            ("", true),
        ] {
            assert_eq!(holds(search)?, expected, "{search}");
        }
        Ok(())
    }

    #[test]
    fn and_binds_tighter_than_or() -> Result<(), SearchError> {
        // false AND false OR true: true only if AND is applied first.
        assert!(holds(
            "severity = 'Info' AND severity = 'Debug' OR severity = 'Warning'"
        )?);
        // true OR false AND false: true only if AND is applied first.
        assert!(holds(
            "severity = 'Warning' OR severity = 'Info' AND severity = 'Debug'"
        )?);
        assert!(!holds(
            "(severity = 'Warning' OR severity = 'Info') AND severity = 'Debug'"
        )?);
        Ok(())
    }

    #[test]
    fn quotes_are_doubled_inside_strings() -> Result<(), SearchError> {
        assert_eq!(
            Search::parse("summary = 'it''s'")?,
            Some(Search::Compare {
                field: "summary",
                op: Op::Eq,
                value: "it's".into()
            })
        );
        Ok(())
    }

    #[test]
    fn real_client_searches_parse() -> Result<(), SearchError> {
        for search in [
            "service_name='SREManualAction' and internal_only='true'",
            "severity IN ('Info','Warning')",
            "(username ILIKE '%x%' OR (username = '' AND created_by ILIKE '%x%'))",
            "timestamp >= '2025-01-01T00:00:00.000Z'",
        ] {
            assert!(Search::parse(search)?.is_some(), "{search}");
        }
        assert!(holds(
            "(username ILIKE '%jane%' OR (username = '' AND created_by ILIKE '%jane%'))"
        )?);
        Ok(())
    }

    #[test]
    fn malformed_searches_say_what_and_where() {
        for (search, position, words) in [
            ("severity = ", 11, "expected a value"),
            ("colour = 'red'", 0, "unknown field 'colour'"),
            ("severity = 'Info' AND", 21, "expected a field name"),
            ("(severity = 'Info'", 18, "expected ')'"),
            ("severity = 'Info", 11, "unterminated string"),
            ("severity ~ 'Info'", 9, "unexpected character"),
            ("severity 'Info'", 9, "expected an operator"),
            ("severity IN 'Info'", 12, "expected '('"),
            ("timestamp > 'yesterday'", 12, "RFC 3339"),
            ("internal_only = 'maybe'", 16, "'true' or 'false'"),
            (
                "severity = 'Info' severity = 'Debug'",
                18,
                "expected AND, OR",
            ),
        ] {
            match Search::parse(search) {
                Err(error) => {
                    assert_eq!(error.position, position, "{search}: {error}");
                    assert!(error.reason.contains(words), "{search}: {error}");
                }
                Ok(parsed) => panic!("{search} parsed as {parsed:?}"),
            }
        }
    }

    #[test]
    fn nesting_and_in_lists_are_bounded() {
        let deep = format!("{}severity = 'Info'{}", "(".repeat(40), ")".repeat(40));
        assert!(Search::parse(&deep).is_err());
        let many: Vec<String> = (0..150).map(|n| format!("'{n}'")).collect();
        assert!(Search::parse(&format!("severity IN ({})", many.join(","))).is_err());
        assert!(Search::parse(&"x".repeat(MAX_SEARCH_BYTES + 1)).is_err());
    }

    #[test]
    fn filters_bind_every_name_and_value_and_leave_ilike_to_the_reader() -> Result<(), SearchError>
    {
        let hostile =
            "summary = 'x) OR attribute_exists(id) OR (summary = ''y' AND username ILIKE '%a%'";
        let filter = Search::parse(hostile)?
            .and_then(|search| search.filter())
            .expect("the equality can be checked by DynamoDB");
        assert!(
            !filter.expression.contains("attribute_exists(id)"),
            "{}",
            filter.expression
        );
        assert!(
            !filter.expression.contains("summary"),
            "{}",
            filter.expression
        );
        assert!(!filter.expression.contains("username"), "ILIKE is not sent");
        assert!(filter.values.values().any(|v| v
            == &crate::partition::Value::Text(
                "x) OR attribute_exists(id) OR (summary = 'y".into()
            )));
        assert!(
            Search::parse("summary ILIKE '%a%'")?
                .and_then(|s| s.filter())
                .is_none()
        );
        assert!(
            Search::parse("NOT summary ILIKE '%a%' OR severity = 'Info'")?
                .and_then(|s| s.filter())
                .is_none(),
            "an OR with a part DynamoDB cannot check is checked while reading"
        );
        Ok(())
    }

    #[test]
    fn a_top_level_equality_gives_the_key() -> Result<(), SearchError> {
        let search = Search::parse("cluster_uuid = 'c-9' AND severity = 'Info'")?;
        assert_eq!(
            search.as_ref().and_then(|s| s.equality("cluster_uuid")),
            Some("c-9")
        );
        let either = Search::parse("cluster_uuid = 'c-9' OR severity = 'Info'")?;
        assert_eq!(
            either.as_ref().and_then(|s| s.equality("cluster_uuid")),
            None
        );
        Ok(())
    }
}
