//! The search's text into tokens, each with its position (in characters) for error messages.

use super::SearchError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Word(String),
    Text(String),
    Number(String),
    Symbol(&'static str),
    End,
}

pub(super) struct Lexer {
    pub(super) tokens: Vec<(Token, usize)>,
}

pub(super) fn lex(input: &str) -> Result<Lexer, SearchError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let (text, end) = string(&chars, start)?;
            tokens.push((Token::Text(text), start));
            i = end;
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
            let (symbol, length) = symbol(&chars, start)?;
            tokens.push((Token::Symbol(symbol), start));
            i += length;
        }
    }
    tokens.push((Token::End, chars.len()));
    Ok(Lexer { tokens })
}

/// A quoted string starting at `start` (`''` is a quote inside it), and where it ends.
fn string(chars: &[char], start: usize) -> Result<(String, usize), SearchError> {
    let mut text = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(SearchError {
                    position: start,
                    reason: "unterminated string".to_owned(),
                });
            }
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((text, i + 1)),
            Some(other) => {
                text.push(*other);
                i += 1;
            }
        }
    }
}

/// The operator or punctuation at `start`, and how many characters it takes.
fn symbol(chars: &[char], start: usize) -> Result<(&'static str, usize), SearchError> {
    let two: String = chars[start..(start + 2).min(chars.len())].iter().collect();
    if let Some(symbol) = ["!=", "<>", "<=", ">="].into_iter().find(|s| *s == two) {
        return Ok((symbol, 2));
    }
    let symbol = match chars[start] {
        '=' => "=",
        '<' => "<",
        '>' => ">",
        '(' => "(",
        ')' => ")",
        ',' => ",",
        c => {
            return Err(SearchError {
                position: start,
                reason: format!("unexpected character '{c}'"),
            });
        }
    };
    Ok((symbol, 1))
}

pub(super) fn describe(token: &Token) -> String {
    match token {
        Token::Word(word) => format!("'{word}'"),
        Token::Text(text) => format!("'{text}' (a string)"),
        Token::Number(number) => number.clone(),
        Token::Symbol(symbol) => format!("'{symbol}'"),
        Token::End => "the end".to_owned(),
    }
}
