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

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::ClusterLog;
use crate::dynamo::Filter;

/// Fields a search may name, as the API names them.
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
    Like {
        field: &'static str,
        pattern: String,
        case_insensitive: bool,
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

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(String),
    Symbol(&'static str),
    End,
}

struct Lexer {
    tokens: Vec<(Token, usize)>,
}

fn lex(input: &str) -> Result<Lexer, SearchError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let error = |position, reason: &str| SearchError {
        position,
        reason: reason.to_owned(),
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(error(start, "unterminated string")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        text.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        text.push(*other);
                        i += 1;
                    }
                }
            }
            tokens.push((Token::Text(text), start));
        } else if c.is_ascii_alphabetic() || c == '_' {
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            {
                i += 1;
            }
            tokens.push((Token::Word(chars[start..i].iter().collect()), start));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            i += 1;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_digit() || *c == '.')
            {
                i += 1;
            }
            tokens.push((Token::Number(chars[start..i].iter().collect()), start));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let symbol = match two.as_str() {
                "!=" => Some("!="),
                "<>" => Some("<>"),
                "<=" => Some("<="),
                ">=" => Some(">="),
                _ => None,
            };
            if let Some(symbol) = symbol {
                tokens.push((Token::Symbol(symbol), start));
                i += 2;
                continue;
            }
            let symbol = match c {
                '=' => "=",
                '<' => "<",
                '>' => ">",
                '(' => "(",
                ')' => ")",
                ',' => ",",
                _ => return Err(error(start, &format!("unexpected character '{c}'"))),
            };
            tokens.push((Token::Symbol(symbol), start));
            i += 1;
        }
    }
    tokens.push((Token::End, chars.len()));
    Ok(Lexer { tokens })
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next.min(self.tokens.len() - 1)].0
    }

    fn position(&self) -> usize {
        self.tokens[self.next.min(self.tokens.len() - 1)].1
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.next < self.tokens.len() - 1 {
            self.next += 1;
        }
        token
    }

    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, SearchError> {
        Err(SearchError {
            position: self.position(),
            reason: reason.into(),
        })
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn symbol(&self, symbol: &str) -> bool {
        matches!(self.peek(), Token::Symbol(s) if *s == symbol)
    }

    fn or(&mut self) -> Result<Search, SearchError> {
        let mut terms = vec![self.and()?];
        while self.keyword("OR") {
            self.advance();
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Search::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Search, SearchError> {
        let mut terms = vec![self.not()?];
        while self.keyword("AND") {
            self.advance();
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Search::And(terms)
        })
    }

    fn not(&mut self) -> Result<Search, SearchError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let result = if self.keyword("NOT") {
            self.advance();
            self.not().map(|inner| Search::Not(Box::new(inner)))
        } else if self.symbol("(") {
            self.advance();
            let inner = self.or()?;
            if !self.symbol(")") {
                return self.fail("expected ')'");
            }
            self.advance();
            Ok(inner)
        } else {
            self.comparison()
        };
        self.depth -= 1;
        result
    }

    fn comparison(&mut self) -> Result<Search, SearchError> {
        let field_position = self.position();
        let field = match self.advance() {
            Token::Word(word) => SEARCH_FIELDS
                .iter()
                .find(|known| **known == word.to_ascii_lowercase())
                .copied()
                .ok_or_else(|| SearchError {
                    position: field_position,
                    reason: format!(
                        "unknown field '{word}'; fields are {}",
                        SEARCH_FIELDS.join(", ")
                    ),
                })?,
            Token::End => return self.fail("expected a field name, found the end"),
            other => {
                return Err(SearchError {
                    position: field_position,
                    reason: format!("expected a field name, found {}", describe(&other)),
                });
            }
        };
        let negated = self.keyword("NOT");
        if negated {
            self.advance();
        }
        let search = if self.keyword("IN") {
            self.advance();
            if !self.symbol("(") {
                return self.fail("expected '(' after IN");
            }
            self.advance();
            let mut values = vec![self.value(field)?];
            while self.symbol(",") {
                self.advance();
                values.push(self.value(field)?);
                if values.len() > MAX_IN_VALUES {
                    return self.fail(format!("more than {MAX_IN_VALUES} values in IN"));
                }
            }
            if !self.symbol(")") {
                return self.fail("expected ',' or ')' in the IN list");
            }
            self.advance();
            Search::In { field, values }
        } else if self.keyword("LIKE") || self.keyword("ILIKE") {
            let case_insensitive = self.keyword("ILIKE");
            self.advance();
            let pattern = self.value(field)?;
            Search::Like {
                field,
                pattern,
                case_insensitive,
            }
        } else if negated {
            return self.fail("expected IN, LIKE or ILIKE after NOT");
        } else {
            let op = match self.advance() {
                Token::Symbol("=") => Op::Eq,
                Token::Symbol("!=") | Token::Symbol("<>") => Op::Ne,
                Token::Symbol("<") => Op::Lt,
                Token::Symbol("<=") => Op::Le,
                Token::Symbol(">") => Op::Gt,
                Token::Symbol(">=") => Op::Ge,
                other => {
                    self.next -= usize::from(other != Token::End);
                    return self.fail(format!(
                        "expected an operator after '{field}', found {}",
                        describe(&other)
                    ));
                }
            };
            let value = self.value(field)?;
            Search::Compare { field, op, value }
        };
        Ok(if negated {
            Search::Not(Box::new(search))
        } else {
            search
        })
    }

    /// A literal, normalized for the field it is compared with.
    fn value(&mut self, field: &str) -> Result<String, SearchError> {
        let position = self.position();
        let text = match self.advance() {
            Token::Text(text) | Token::Number(text) => text,
            Token::Word(word)
                if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") =>
            {
                word.to_ascii_lowercase()
            }
            other => {
                return Err(SearchError {
                    position,
                    reason: format!("expected a value, found {}", describe(&other)),
                });
            }
        };
        let invalid = |reason: String| SearchError { position, reason };
        if field == "internal_only" {
            return match text.to_ascii_lowercase().as_str() {
                "true" | "false" => Ok(text.to_ascii_lowercase()),
                _ => Err(invalid(format!(
                    "internal_only is 'true' or 'false', not '{text}'"
                ))),
            };
        }
        if TIME_FIELDS.contains(&field) {
            // Stored times are fixed width, so a time literal compares once it has that width.
            return crate::timestamp::parse(&text)
                .map(crate::timestamp::format)
                .map_err(|_| invalid(format!("{field} needs an RFC 3339 time, not '{text}'")));
        }
        Ok(text)
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(word) => format!("'{word}'"),
        Token::Text(text) => format!("'{text}' (a string)"),
        Token::Number(number) => number.clone(),
        Token::Symbol(symbol) => format!("'{symbol}'"),
        Token::End => "the end".to_owned(),
    }
}

impl Search {
    /// Parses a search; `None` for an empty one (every log matches).
    pub fn parse(input: &str) -> Result<Option<Search>, SearchError> {
        if input.len() > MAX_SEARCH_BYTES {
            return Err(SearchError {
                position: MAX_SEARCH_BYTES,
                reason: format!("longer than {MAX_SEARCH_BYTES} bytes"),
            });
        }
        let lexer = lex(input)?;
        if lexer.tokens.len() == 1 {
            return Ok(None);
        }
        let mut parser = Parser {
            tokens: lexer.tokens,
            next: 0,
            depth: 0,
        };
        let search = parser.or()?;
        if *parser.peek() != Token::End {
            return parser.fail(format!(
                "expected AND, OR or the end, found {}",
                describe(parser.peek())
            ));
        }
        Ok(Some(search))
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
            Search::Like {
                field,
                pattern,
                case_insensitive,
            } => values_of(log, field).iter().any(|held| {
                if *case_insensitive {
                    like(&held.to_lowercase(), &pattern.to_lowercase())
                } else {
                    like(held, pattern)
                }
            }),
        }
    }
}

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
    values: HashMap<String, AttributeValue>,
}

impl FilterBuilder {
    fn name(&mut self, field: &str) -> String {
        let placeholder = format!("#s{}", self.names.len());
        self.names.insert(placeholder.clone(), field.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
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
            let (name, bound) = (self.name(field), self.value(AttributeValue::Bool(flag)));
            return match op {
                Op::Eq => Some(format!("{name} = {bound}")),
                Op::Ne => Some(format!("{name} <> {bound}")),
                _ => None,
            };
        }
        if field == LIST_FIELD {
            let (name, bound) = (
                self.name(field),
                self.value(AttributeValue::S(value.into())),
            );
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
        let bound = self.value(AttributeValue::S(value.to_owned()));
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
                    .map(|value| self.value(AttributeValue::S(value.clone())))
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
            Search::Like {
                field,
                pattern,
                case_insensitive: false,
            } if ![BOOLEAN_FIELD, LIST_FIELD].contains(field) && !KEY_FIELDS.contains(field) => {
                // DynamoDB has begins_with and contains: enough for 'abc%', '%abc%' and 'abc'.
                let core = pattern.trim_start_matches('%').trim_end_matches('%');
                if core.is_empty() || core.contains(['%', '_']) {
                    return None;
                }
                let (leading, trailing) = (pattern.starts_with('%'), pattern.ends_with('%'));
                let name = self.name(field);
                let bound = self.value(AttributeValue::S(core.to_owned()));
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

/// The values a field holds, as text: absent text is `''` (the web UI searches `username = ''`),
/// a list holds each element, a boolean is `true`/`false`.
pub(super) fn values_of(log: &ClusterLog, field: &str) -> Vec<String> {
    let text = |value: &Option<String>| vec![value.clone().unwrap_or_default()];
    match field {
        "id" => vec![log.id.clone()],
        "cluster_id" => text(&log.cluster_id),
        "cluster_uuid" => text(&log.cluster_uuid),
        "subscription_id" => text(&log.subscription_id),
        "summary" => text(&log.summary),
        "description" => text(&log.description),
        "service_name" => text(&log.service_name),
        "severity" => vec![log.severity.clone()],
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

/// SQL LIKE: `%` any run of characters, `_` one character.
fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // matched[j]: the text read so far matches pattern[..j].
    let mut matched = vec![false; pattern.len() + 1];
    matched[0] = true;
    for j in 1..=pattern.len() {
        matched[j] = matched[j - 1] && pattern[j - 1] == '%';
    }
    for c in text {
        let mut next = vec![false; pattern.len() + 1];
        for j in 1..=pattern.len() {
            next[j] = match pattern[j - 1] {
                '%' => next[j - 1] || matched[j],
                '_' => matched[j - 1],
                p => matched[j - 1] && p == c,
            };
        }
        matched = next;
    }
    matched[pattern.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

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
            severity: "Warning".into(),
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
        assert!(
            filter
                .values
                .values()
                .any(|v| v
                    == &AttributeValue::S("x) OR attribute_exists(id) OR (summary = 'y".into()))
        );
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
