//! What one Query of one index partition reads, as plain data: the plans of both log kinds are made
//! of these, and only the store (crate::dynamo) turns them into DynamoDB requests. Nothing here knows
//! the SDK, so a plan can be built and checked in a unit test.

use std::collections::HashMap;

/// Which way a list, a sort key or an ordering field runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Oldest (smallest) first.
    Ascending,
    /// Newest (largest) first.
    Descending,
}

impl Direction {
    /// `order` for an ascending comparison, reversed when descending.
    pub fn apply(self, order: std::cmp::Ordering) -> std::cmp::Ordering {
        match self {
            Direction::Ascending => order,
            Direction::Descending => order.reverse(),
        }
    }

    pub fn is_descending(self) -> bool {
        self == Direction::Descending
    }
}

/// A value bound into an expression: a string, a number (as its decimal text) or a boolean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Number(String),
    Flag(bool),
}

/// `lower <= sort key <= upper`, either bound optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortRange {
    pub attribute: &'static str,
    pub lower: Option<String>,
    pub upper: Option<String>,
}

impl SortRange {
    /// True when both bounds are there and the wrong way round: nothing can match (and DynamoDB
    /// rejects such a BETWEEN).
    pub fn is_empty(&self) -> bool {
        matches!((&self.lower, &self.upper), (Some(lower), Some(upper)) if lower > upper)
    }

    pub fn is_bounded(&self) -> bool {
        self.lower.is_some() || self.upper.is_some()
    }
}

/// A FilterExpression over non-key attributes, with its names and values bound, never pasted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, Value>,
}

impl Filter {
    /// ANDs `other` onto this filter; names and values must use distinct placeholders.
    pub fn and(mut self, other: Filter) -> Filter {
        self.expression = if self.expression.is_empty() {
            other.expression
        } else {
            format!("({}) AND ({})", self.expression, other.expression)
        };
        self.names.extend(other.names);
        self.values.extend(other.values);
        self
    }

    /// `attribute <op> value`, both bound through placeholders named after `tag`.
    pub fn compare(tag: &str, attribute: &str, op: &str, value: Value) -> Filter {
        Filter {
            expression: format!("#{tag} {op} :{tag}"),
            names: HashMap::from([(format!("#{tag}"), attribute.to_owned())]),
            values: HashMap::from([(format!(":{tag}"), value)]),
        }
    }

    /// `attribute` is not on the item.
    pub fn absent(tag: &str, attribute: &str) -> Filter {
        Filter {
            expression: format!("attribute_not_exists(#{tag})"),
            names: HashMap::from([(format!("#{tag}"), attribute.to_owned())]),
            values: HashMap::new(),
        }
    }

    pub fn equals(tag: &str, attribute: &str, value: Value) -> Filter {
        Filter::compare(tag, attribute, "=", value)
    }

    /// ANDs the filters that are there; `None` when none is.
    pub fn all(filters: impl IntoIterator<Item = Option<Filter>>) -> Option<Filter> {
        filters.into_iter().flatten().reduce(Filter::and)
    }
}

/// One Query over one partition of an index (or of the table, without an index).
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionQuery {
    pub index: Option<&'static str>,
    pub partition_attribute: &'static str,
    pub partition_value: String,
    /// A key condition on the sort key, when the query asks for a range of it.
    pub sort_range: Option<SortRange>,
    /// What DynamoDB checks of each item before returning it.
    pub filter: Option<Filter>,
    pub direction: Direction,
    /// Where to resume: the first read starts after the item with this key (string attributes).
    pub start_after: Option<Vec<(String, String)>>,
}

/// DynamoDB's limits on key values: a partition key up to 2,048 bytes, a sort key up to 1,024,
/// neither empty. A value past them can be no item's key; as a condition DynamoDB refuses it.
pub const PARTITION_KEY_MAX_BYTES: usize = 2_048;
pub const SORT_KEY_MAX_BYTES: usize = 1_024;

impl PartitionQuery {
    /// Whether any item can be in the partition: its key is one DynamoDB can store.
    pub fn can_hold_items(&self) -> bool {
        !self.partition_value.is_empty() && self.partition_value.len() <= PARTITION_KEY_MAX_BYTES
    }

    /// A newest-first query of one partition, with no range, filter or start position.
    pub fn newest_first(
        index: &'static str,
        partition_attribute: &'static str,
        partition_value: String,
    ) -> Self {
        Self {
            index: Some(index),
            partition_attribute,
            partition_value,
            sort_range: None,
            filter: None,
            direction: Direction::Descending,
            start_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_together_with_every_placeholder_kept() {
        let both = Filter::equals("a", "alpha", Value::Flag(false)).and(Filter::compare(
            "b",
            "beta",
            ">=",
            Value::Number("30".into()),
        ));
        assert_eq!(both.expression, "(#a = :a) AND (#b >= :b)");
        assert_eq!(both.names.len(), 2);
        assert_eq!(both.values.get(":b"), Some(&Value::Number("30".into())));
        assert_eq!(Filter::all([None, None]), None);
    }

    #[test]
    fn a_range_the_wrong_way_round_is_empty() {
        let range = |lower: Option<&str>, upper: Option<&str>| SortRange {
            attribute: "timestamp",
            lower: lower.map(str::to_owned),
            upper: upper.map(str::to_owned),
        };
        assert!(range(Some("b"), Some("a")).is_empty());
        assert!(!range(Some("a"), Some("b")).is_empty());
        assert!(!range(None, Some("a")).is_empty());
        assert!(!range(None, None).is_bounded());
    }
}
