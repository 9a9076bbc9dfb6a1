//! The part of a search DynamoDB can check, as a FilterExpression with every name and value bound.

use std::collections::HashMap;

use super::{Op, Search};
use crate::partition::{Filter, Value};

/// Fields stored as a DynamoDB BOOL and a list, rather than text.
/// Longest FilterExpression sent. DynamoDB refuses expressions over 4 KB, and the visibility
/// condition is ANDed onto this one; a 4 KB search can expand past that (each `=` on text also
/// checks that the attribute exists).
const FILTER_MAX_BYTES: usize = 3_072;
const BOOLEAN_FIELD: &str = "internal_only";
const LIST_FIELD: &str = "doc_references";
/// Key attributes of the table or an index: a FilterExpression may not name them, so conditions on
/// them are applied while reading (a cluster equality becomes the Query's key, and a range of the
/// list's order field its key range, instead).
const KEY_FIELDS: [&str; 5] = [
    "id",
    "cluster_uuid",
    "cluster_id",
    "timestamp",
    "created_at",
];

/// Builds a FilterExpression: every field name and value goes in as a placeholder (`#s0`, `:s0`),
/// so nothing a caller writes is ever part of the expression's text.
#[derive(Default)]
struct FilterBuilder {
    names: HashMap<String, String>,
    values: HashMap<String, Value>,
}

impl FilterBuilder {
    fn name(&mut self, field: &str) -> String {
        let placeholder = format!("#s{}", self.names.len());
        self.names.insert(placeholder.clone(), field.to_owned());
        placeholder
    }

    fn value(&mut self, value: Value) -> String {
        let placeholder = format!(":s{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// One comparison as the in-memory evaluation sees it, absent text being `''`. `None` when
    /// DynamoDB cannot say it exactly.
    fn compare(&mut self, field: &str, op: Op, value: &str) -> Option<String> {
        if KEY_FIELDS.contains(&field) {
            return None;
        }
        if field == BOOLEAN_FIELD {
            let flag = value == "true";
            let (name, bound) = (self.name(field), self.value(Value::Flag(flag)));
            return match op {
                Op::Eq => Some(format!("{name} = {bound}")),
                Op::Ne => Some(format!("{name} <> {bound}")),
                _ => None,
            };
        }
        if field == LIST_FIELD {
            let (name, bound) = (self.name(field), self.value(Value::Text(value.into())));
            return (op == Op::Eq).then(|| format!("contains({name}, {bound})"));
        }
        let symbol = match op {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        };
        let name = self.name(field);
        let bound = self.value(Value::Text(value.to_owned()));
        let empty_holds = match op {
            Op::Eq => value.is_empty(),
            Op::Ne => !value.is_empty(),
            Op::Lt => !value.is_empty(),
            Op::Le => true,
            Op::Gt => false,
            Op::Ge => value.is_empty(),
        };
        let present = format!("{name} {symbol} {bound}");
        Some(if empty_holds {
            format!("attribute_not_exists({name}) OR {present}")
        } else {
            format!("attribute_exists({name}) AND {present}")
        })
    }

    /// A filter for `search` and whether it is exact; `None` when no part of it can be said.
    /// Inexact filters only ever keep more than the search does (the search is still applied).
    /// A part that cannot be said leaves no placeholders behind (DynamoDB refuses unused ones).
    fn filter(&mut self, search: &Search) -> Option<(String, bool)> {
        let (names, values) = (self.names.clone(), self.values.clone());
        let said = self.said(search);
        if said.is_none() {
            (self.names, self.values) = (names, values);
        }
        said
    }

    fn said(&mut self, search: &Search) -> Option<(String, bool)> {
        match search {
            Search::And(terms) => {
                let parts: Vec<Option<(String, bool)>> =
                    terms.iter().map(|term| self.filter(term)).collect();
                let exact = parts.iter().all(|part| part.as_ref().is_some_and(|p| p.1));
                let said: Vec<String> = parts.into_iter().flatten().map(|p| p.0).collect();
                (!said.is_empty()).then(|| (joined(&said, "AND"), exact))
            }
            Search::Or(terms) => {
                let parts = terms
                    .iter()
                    .map(|term| self.filter(term))
                    .collect::<Option<Vec<_>>>()?;
                let exact = parts.iter().all(|p| p.1);
                let said: Vec<String> = parts.into_iter().map(|p| p.0).collect();
                Some((joined(&said, "OR"), exact))
            }
            Search::Not(inner) => match self.filter(inner)? {
                (said, true) => Some((format!("NOT ({said})"), true)),
                _ => None,
            },
            Search::Compare { field, op, value } => {
                self.compare(field, *op, value).map(|said| (said, true))
            }
            Search::In { field, values }
                if ![BOOLEAN_FIELD, LIST_FIELD].contains(field) && !KEY_FIELDS.contains(field) =>
            {
                // One IN, not an OR per value: 100 values as ORs overflow DynamoDB's 4 KB
                // expression limit. An absent attribute holds '' and matches no IN operand.
                let name = self.name(field);
                let bounds: Vec<String> = values
                    .iter()
                    .map(|value| self.value(Value::Text(value.clone())))
                    .collect();
                let listed = format!("{name} IN ({})", bounds.join(", "));
                Some((
                    if values.iter().any(String::is_empty) {
                        format!("attribute_not_exists({name}) OR {listed}")
                    } else {
                        listed
                    },
                    true,
                ))
            }
            Search::In { field, values } => {
                let parts = values
                    .iter()
                    .map(|value| self.compare(field, Op::Eq, value))
                    .collect::<Option<Vec<_>>>()?;
                Some((joined(&parts, "OR"), true))
            }
            Search::Like { field, pattern }
                if !pattern.is_case_insensitive()
                    && ![BOOLEAN_FIELD, LIST_FIELD].contains(field)
                    && !KEY_FIELDS.contains(field) =>
            {
                let pattern = pattern.as_str();
                // DynamoDB has begins_with and contains: enough for 'abc%', '%abc%' and 'abc'.
                let core = pattern.trim_start_matches('%').trim_end_matches('%');
                if core.is_empty() || core.contains(['%', '_']) {
                    return None;
                }
                let (leading, trailing) = (pattern.starts_with('%'), pattern.ends_with('%'));
                let name = self.name(field);
                let bound = self.value(Value::Text(core.to_owned()));
                match (leading, trailing) {
                    (false, false) => Some((format!("{name} = {bound}"), true)),
                    (false, true) => Some((format!("begins_with({name}, {bound})"), true)),
                    (true, true) => Some((format!("contains({name}, {bound})"), true)),
                    (true, false) => None,
                }
            }
            // Case-insensitive matching has no DynamoDB condition: applied while reading.
            Search::Like { .. } => None,
        }
    }
}

/// Parts joined by `AND`/`OR`, each in parentheses once (DynamoDB refuses redundant ones).
fn joined(parts: &[String], operator: &str) -> String {
    match parts {
        [one] => one.clone(),
        _ => parts
            .iter()
            .map(|part| format!("({part})"))
            .collect::<Vec<_>>()
            .join(&format!(" {operator} ")),
    }
}

impl Search {
    /// The part of this search DynamoDB can check, as a FilterExpression with bound names and
    /// values; whatever it cannot (ILIKE, `'%abc'`) is left to [`Search::matches`].
    pub fn filter(&self) -> Option<Filter> {
        let mut builder = FilterBuilder::default();
        let (expression, _) = builder.filter(self)?;
        if expression.len() > FILTER_MAX_BYTES {
            // Too long for DynamoDB: the search is applied while reading instead.
            return None;
        }
        Some(Filter {
            expression,
            names: builder.names,
            values: builder.values,
        })
    }
}
