//! Secrets out of log text, before anything is stored: the value after `password`, `token`,
//! `secret`, `api_key` and similar keys, followed by `=` or `:`, becomes `***`.

/// Key words whose values are secrets (matched case-insensitively, as part of a longer key too:
/// `db_password`, `X-Auth-Token`, `client_secret`).
const SECRET_KEYS: [&str; 10] = [
    "password",
    "passwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "authorization",
    "credentials",
];

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

/// Replaces the value of every secret-looking `key=value` / `key: value` in `text` with `***`.
pub fn scrub(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
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
        let key_end_byte = chars.get(end).map_or(text.len(), |(b, _)| *b);
        let key = &lower[byte..key_end_byte];
        out.push_str(&text[byte..key_end_byte]);
        i = end;
        if !SECRET_KEYS.iter().any(|secret| key.contains(secret)) {
            continue;
        }
        // Optional closing quote of a quoted key, spaces, then '=' or ':'.
        let mut j = i;
        while j < chars.len() && matches!(chars[j].1, '"' | '\'' | ' ') {
            j += 1;
        }
        if j >= chars.len() || !matches!(chars[j].1, '=' | ':') {
            continue;
        }
        j += 1;
        while j < chars.len() && chars[j].1 == ' ' {
            j += 1;
        }
        let quote = chars
            .get(j)
            .map(|(_, c)| *c)
            .filter(|c| *c == '"' || *c == '\'');
        if quote.is_some() {
            j += 1;
        }
        // Everything up to here is kept; the value up to its end becomes ***.
        let kept_to = chars.get(j).map_or(text.len(), |(b, _)| *b);
        out.push_str(&text[key_end_byte..kept_to]);
        let mut k = j;
        while k < chars.len() {
            let c = chars[k].1;
            let ends = match quote {
                Some(q) => c == q,
                None => {
                    c.is_whitespace() || matches!(c, ',' | ';' | '&' | '"' | '\'' | ')' | '}' | ']')
                }
            };
            if ends {
                break;
            }
            k += 1;
        }
        if k > j {
            out.push_str("***");
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
