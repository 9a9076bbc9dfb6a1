//! Secrets out of log text, before anything is stored (and out of the functions' own logs,
//! through `telemetry::redact`). Two passes, each linear in the text:
//! 1. shapes that are secrets wherever they appear: PEM private key blocks, the password of a URL
//!    (`postgres://waldur:***@db/waldur`), the credential after `Bearer`/`Basic`/`Token`, AWS
//!    access key ids and secret keys;
//! 2. the value after `password`, `token`, `secret`, `api_key`, `cookie`, `sessionid` and similar
//!    keys, followed by `=`, `:` or their URL encodings, quoted (escaped quotes included) or not,
//!    becomes `***`; after `Authorization` the scheme and its credential both go.

use std::sync::LazyLock;

use regex_lite::{Captures, Regex};

/// Key words whose values are secrets (matched case-insensitively, as part of a longer key too:
/// `db_password`, `X-Auth-Token`, `client_secret`, `aws_secret_access_key`).
const SECRET_KEYS: [&str; 14] = [
    "password",
    "passwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "authorization",
    "credential",
    "signature",
    "cookie",
    "sessionid",
    "session_key",
];

/// Authorization schemes: after one, the next word is the credential.
const AUTH_SCHEMES: [&str; 8] = [
    "bearer",
    "basic",
    "token",
    "digest",
    "negotiate",
    "jwt",
    "aws4-hmac-sha256",
    "hmac",
];

const HIDDEN: &str = "***";

/// A PEM private key block (or what is left of one cut short): its body.
static PEM_PRIVATE_KEY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(?s:.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
    )
    .ok()
});
/// `scheme://user:password@host`: the password.
static URL_PASSWORD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@'\x22]*):([^\s/@'\x22]+)@").ok()
});
/// `Bearer <credential>` and the other schemes, wherever they appear (a curl line, a repr).
static SCHEME_CREDENTIAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(bearer|basic|token|digest)(\s+)([A-Za-z0-9._~+/=\-]{12,})").ok()
});
/// AWS access key ids (`AKIA...`, `ASIA...`).
static AWS_ACCESS_KEY_ID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b").ok());
fn looks_like_aws_secret(text: &str) -> bool {
    text.contains(['/', '+'])
        && text.bytes().any(|b| b.is_ascii_uppercase())
        && text.bytes().any(|b| b.is_ascii_lowercase())
        && text.bytes().any(|b| b.is_ascii_digit())
}

/// Replaces every match of `rule` in `text` by what `replace` makes of it.
fn apply(text: &mut String, rule: &LazyLock<Option<Regex>>, replace: &dyn Fn(&Captures) -> String) {
    if let Some(rule) = rule.as_ref() {
        *text = rule
            .replace_all(text, |c: &Captures| replace(c))
            .into_owned();
    }
}

/// Pass 1: the shapes that are secrets wherever they appear. Each rule runs only on text that
/// holds its telltale (a substring test), so ordinary lines cost a few scans.
fn hide_shapes(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut text = text.to_owned();
    if lower.contains("private key-----") {
        apply(&mut text, &PEM_PRIVATE_KEY, &|c| {
            let end = c.get(2).map_or("", |m| m.as_str());
            format!("{}{HIDDEN}{end}", &c[1])
        });
    }
    if lower.contains("://") {
        apply(&mut text, &URL_PASSWORD, &|c| {
            format!("{}:{HIDDEN}@", &c[1])
        });
    }
    if ["bearer", "basic", "token", "digest"]
        .iter()
        .any(|scheme| lower.contains(scheme))
    {
        apply(&mut text, &SCHEME_CREDENTIAL, &|c| {
            format!("{}{}{HIDDEN}", &c[1], &c[2])
        });
    }
    if [
        "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
    ]
    .iter()
    .any(|prefix| text.contains(prefix))
    {
        apply(&mut text, &AWS_ACCESS_KEY_ID, &|_| HIDDEN.to_owned());
    }
    if text.len() >= AWS_SECRET_LEN && text.contains(['/', '+']) {
        text = hide_aws_secrets(&text);
    }
    text
}

const AWS_SECRET_LEN: usize = 40;

/// Runs of exactly 40 base64 characters (not part of a longer run, nor followed by padding) in
/// the shape of an AWS secret key become `***`: one scan, no regex.
fn hide_aws_secrets(text: &str) -> String {
    let is_base64 = |b: u8| b.is_ascii_alphanumeric() || b == b'/' || b == b'+';
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut kept = 0;
    let mut start = 0;
    while start < bytes.len() {
        if !is_base64(bytes[start]) {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && is_base64(bytes[end]) {
            end += 1;
        }
        let padded = bytes.get(end) == Some(&b'=');
        // Runs are ASCII, so their ends are character boundaries.
        if end - start == AWS_SECRET_LEN && !padded && looks_like_aws_secret(&text[start..end]) {
            out.push_str(&text[kept..start]);
            out.push_str(HIDDEN);
            kept = end;
        }
        start = end;
    }
    out.push_str(&text[kept..]);
    out
}

/// Most characters of a message kept; the rest is cut.
pub const MESSAGE_MAX_CHARS: usize = 10_000;
/// Most characters of `context.traceback` kept.
pub const TRACEBACK_MAX_CHARS: usize = 5_000;

/// Most bytes of a context (as JSON) kept whole. With the message and traceback caps a log stays far
/// below DynamoDB's 400 KB item limit, which would otherwise reject the log and lose it.
pub const CONTEXT_MAX_BYTES: usize = 64 * 1024;
/// The context keys Waldur's clients show; kept when a context is too large to keep whole.
const CONTEXT_KEPT_KEYS: [&str; 4] = ["traceback", "pathname", "lineno", "funcName"];

/// A context of at most [`CONTEXT_MAX_BYTES`]: a larger one keeps only the keys clients show (each
/// string cut to fit) and says how large it was, so the log is stored rather than lost.
pub fn cap_context(context: serde_json::Value) -> serde_json::Value {
    let size = serde_json::to_vec(&context).map_or(0, |bytes| bytes.len());
    if size <= CONTEXT_MAX_BYTES {
        return context;
    }
    let mut kept = serde_json::Map::new();
    if let serde_json::Value::Object(map) = context {
        for (key, value) in map {
            if CONTEXT_KEPT_KEYS.contains(&key.as_str()) {
                let value = match value {
                    serde_json::Value::String(text) => {
                        serde_json::Value::String(truncate(&text, TRACEBACK_MAX_CHARS))
                    }
                    small @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => small,
                    _ => continue,
                };
                kept.insert(key, value);
            }
        }
    }
    kept.insert("context_truncated_bytes".to_owned(), size.into());
    serde_json::Value::Object(kept)
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Replaces every secret in `text` with `***` (the module's two passes).
pub fn scrub(text: &str) -> String {
    hide_values(&hide_shapes(text))
}

/// The separator after a key at `chars[j..]`: `=`, `:`, or their URL encodings; its length.
fn separator(chars: &[(usize, char)], j: usize) -> Option<usize> {
    match chars.get(j).map(|(_, c)| *c)? {
        '=' | ':' => Some(1),
        '%' => {
            let hex: String = chars.iter().skip(j + 1).take(2).map(|(_, c)| *c).collect();
            matches!(hex.to_ascii_uppercase().as_str(), "3D" | "3A").then_some(3)
        }
        _ => None,
    }
}

/// Pass 2: the value of every secret-looking `key=value` / `key: value`.
fn hide_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |index: usize| chars.get(index).map_or(text.len(), |(b, _)| *b);
    let mut out = String::with_capacity(text.len());
    let mut i = 0; // index into chars
    while i < chars.len() {
        let (byte, c) = chars[i];
        if !is_key_char(c) || (i > 0 && is_key_char(chars[i - 1].1)) {
            out.push(c);
            i += 1;
            continue;
        }
        // A whole key word starts here.
        let mut end = i;
        while end < chars.len() && is_key_char(chars[end].1) {
            end += 1;
        }
        let key_end_byte = byte_at(end);
        // `X-API-Key` is `api_key` written with dashes.
        // Only a word with a dash is copied: every word of every log line passes here.
        let word = &lower[byte..key_end_byte];
        let key: std::borrow::Cow<str> = if word.contains('-') {
            word.replace('-', "_").into()
        } else {
            word.into()
        };
        let in_dotted_name = i > 0 && chars[i - 1].1 == '.';
        out.push_str(&text[byte..key_end_byte]);
        i = end;
        if !SECRET_KEYS.iter().any(|secret| key.contains(secret)) {
            continue;
        }
        // Optional closing quote of a quoted key (escaped too: `\"`), spaces, then the separator.
        let mut j = i;
        while j < chars.len() && matches!(chars[j].1, '"' | '\'' | ' ' | '\\') {
            j += 1;
        }
        let Some(width) = separator(&chars, j) else {
            continue;
        };
        // `botocore.credentials: Found credentials`: a logger's name before its message, not a
        // key (`settings.SECRET_KEY = ...` is still one).
        if in_dotted_name && chars[j].1 == ':' {
            continue;
        }
        let url_encoded = width == 3;
        j += width;
        while j < chars.len() && chars[j].1 == ' ' {
            j += 1;
        }
        // An opening quote, escaped (`\"`, JSON inside a string) or not.
        let escaped_quote = chars.get(j).map(|(_, c)| *c) == Some('\\')
            && chars.get(j + 1).map(|(_, c)| *c) == Some('"');
        let quote = if escaped_quote {
            j += 2;
            Some('"')
        } else {
            let quote = chars
                .get(j)
                .map(|(_, c)| *c)
                .filter(|c| *c == '"' || *c == '\'');
            if quote.is_some() {
                j += 1;
            }
            quote
        };
        // Everything up to here is kept; the value up to its end becomes ***.
        out.push_str(&text[key_end_byte..byte_at(j)]);
        let mut k = j;
        let mut words = 0;
        while k < chars.len() {
            let c = chars[k].1;
            let ends = match quote {
                // A backslash escapes the next character, except the escaped quote that opened it.
                Some(_) if c == '\\' && !escaped_quote => {
                    k += 2;
                    continue;
                }
                Some(q) if escaped_quote => {
                    c == q || (c == '\\' && chars.get(k + 1).map(|(_, c)| *c) == Some(q))
                }
                Some(q) => c == q,
                None if url_encoded => c.is_whitespace() || matches!(c, '&' | '%' | '"' | '\''),
                None => {
                    let word_ends = c.is_whitespace()
                        || matches!(c, ',' | ';' | '&' | '"' | '\'' | ')' | '}' | ']');
                    // `Authorization: Bearer <credential>`: the scheme and the next word.
                    if word_ends && c == ' ' && words == 0 {
                        let word = lower[byte_at(j)..byte_at(k)].to_owned();
                        if AUTH_SCHEMES.contains(&word.as_str()) {
                            words += 1;
                            k += 1;
                            continue;
                        }
                    }
                    word_ends
                }
            };
            if ends {
                break;
            }
            k += 1;
        }
        let k = k.min(chars.len());
        if k > j {
            out.push_str(HIDDEN);
        }
        i = k;
    }
    out
}

/// Cuts `text` to at most `max` characters.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((byte, _)) => text[..byte].to_owned(),
        None => text.to_owned(),
    }
}

/// Scrubs every string in a context object, and string values under secret-looking keys entirely.
pub fn scrub_context(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => *text = scrub(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub_context),
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let lower = key.to_ascii_lowercase();
                if SECRET_KEYS.iter().any(|secret| lower.contains(secret)) && !value.is_null() {
                    *value = serde_json::Value::String("***".to_owned());
                } else {
                    scrub_context(value);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_after_known_keys_become_stars() {
        assert_eq!(scrub("login password=hunter2 ok"), "login password=*** ok");
        assert_eq!(scrub("db_password: s3cr3t;next"), "db_password: ***;next");
        assert_eq!(
            scrub(r#"{"token": "abc.def", "user": "x"}"#),
            r#"{"token": "***", "user": "x"}"#
        );
        assert_eq!(scrub("API_KEY='k-123' done"), "API_KEY='***' done");
        assert_eq!(scrub("?client_secret=zz&x=1"), "?client_secret=***&x=1");
        assert_eq!(scrub("Authorization: Bearer"), "Authorization: ***");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "token bucket refilled",
            "passwords must rotate",
            "user=bob level: high",
            "tokenizer=fast",
            "",
        ] {
            let expected = if text == "tokenizer=fast" {
                "tokenizer=***"
            } else {
                text
            };
            assert_eq!(scrub(text), expected);
        }
        assert_eq!(scrub("naïve secret=värde ü"), "naïve secret=*** ü");
    }

    #[test]
    fn context_values_under_secret_keys_are_hidden() {
        let mut context = serde_json::json!({"password": "p", "nested": {"api_key": 42, "url": "x?token=t"}, "n": 1});
        scrub_context(&mut context);
        assert_eq!(
            context,
            serde_json::json!({"password": "***", "nested": {"api_key": "***", "url": "x?token=***"}, "n": 1})
        );
    }

    #[test]
    fn a_context_too_large_to_store_keeps_what_clients_show() {
        let context = serde_json::json!({
            "traceback": "Traceback (most recent call last)",
            "lineno": 12,
            "payload": "x".repeat(CONTEXT_MAX_BYTES),
        });
        let size = serde_json::to_vec(&context).map_or(0, |bytes| bytes.len());
        let capped = cap_context(context);
        assert_eq!(
            capped,
            serde_json::json!({
                "traceback": "Traceback (most recent call last)",
                "lineno": 12,
                "context_truncated_bytes": size,
            })
        );
        let small = serde_json::json!({"funcName": "run"});
        assert_eq!(cap_context(small.clone()), small);
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("ééé", 2), "éé");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
