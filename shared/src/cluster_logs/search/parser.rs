//! Tokens into a [`Search`] tree: recursive descent over the grammar in the module's documentation,
//! with nesting and IN lists bounded.

use super::lexer::{Token, describe, lex};
use super::{
    MAX_DEPTH, MAX_IN_VALUES, MAX_SEARCH_BYTES, Op, SEARCH_FIELDS, Search, SearchError, TIME_FIELDS,
};

/// Parses a search; `None` for an empty one (every log matches).
pub(super) fn parse(input: &str) -> Result<Option<Search>, SearchError> {
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
        let field = self.field()?;
        let negated = self.keyword("NOT");
        if negated {
            self.advance();
        }
        let search = if self.keyword("IN") {
            self.advance();
            Search::In {
                field,
                values: self.in_list(field)?,
            }
        } else if self.keyword("LIKE") || self.keyword("ILIKE") {
            let case_insensitive = self.keyword("ILIKE");
            self.advance();
            let pattern = self.value(field)?;
            Search::Like {
                field,
                pattern: Box::new(super::LikePattern::new(&pattern, case_insensitive)),
            }
        } else if negated {
            return self.fail("expected IN, LIKE or ILIKE after NOT");
        } else {
            let op = self.operator(field)?;
            let value = self.value(field)?;
            Search::Compare { field, op, value }
        };
        Ok(if negated {
            Search::Not(Box::new(search))
        } else {
            search
        })
    }

    /// A field name the search knows.
    fn field(&mut self) -> Result<&'static str, SearchError> {
        let field_position = self.position();
        match self.advance() {
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
                }),
            Token::End => self.fail("expected a field name, found the end"),
            other => Err(SearchError {
                position: field_position,
                reason: format!("expected a field name, found {}", describe(&other)),
            }),
        }
    }

    /// `(value, ...)` after IN, at most [`MAX_IN_VALUES`] values.
    fn in_list(&mut self, field: &str) -> Result<Vec<String>, SearchError> {
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
        Ok(values)
    }

    /// A comparison operator after `field`.
    fn operator(&mut self, field: &str) -> Result<Op, SearchError> {
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
        Ok(op)
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
