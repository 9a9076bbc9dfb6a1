//! What DynamoDB will store, checked before anything of a record is written: a record it would
//! refuse must never be claimed and counted (crate::batch), nor hold back the rest of its batch.
//!
//! DynamoDB refuses an item whose numbers have more than 38 significant digits or lie outside
//! 1e-130..1e126, whose nesting is deeper than 32 levels, whose map keys are empty, whose key
//! attribute is empty or over 2,048 bytes, or which is over 400 KB. [`storable_json`] turns free
//! JSON (a system log's context) into a form it takes without losing anything; [`check_item`]
//! says why an item would still be refused.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::dynamo::Item;
use crate::partition::PARTITION_KEY_MAX_BYTES;

/// Levels of nesting DynamoDB allows in an item (the item itself is the first).
pub const MAX_DEPTH: usize = 32;
/// DynamoDB's largest item.
pub const ITEM_MAX_BYTES: usize = 400 * 1024;
const MAX_DIGITS: usize = 38;

/// Whether a number DynamoDB would take: zero, or 38 significant digits at most between 1e-130
/// and 1e126 in magnitude.
pub fn number_fits(text: &str) -> bool {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => match exponent.parse::<i64>() {
            Ok(exponent) => (mantissa, exponent),
            Err(_) => return false,
        },
        None => (text, 0),
    };
    let mantissa = mantissa.trim_start_matches(['-', '+']);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit()))
        || whole.len() + fraction.len() == 0
    {
        return false;
    }
    let digits = format!("{whole}{fraction}");
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return true; // zero
    }
    let leading_zeros = digits.len() - significant.len();
    let significant = significant.trim_end_matches('0');
    if significant.len() > MAX_DIGITS {
        return false;
    }
    // The power of ten of the first significant digit.
    let magnitude = whole.len() as i64 - leading_zeros as i64 - 1 + exponent;
    (-130..=125).contains(&magnitude)
}

/// `value` as DynamoDB will store it, nothing lost: a number it cannot hold becomes its text, and
/// a part nested too deep or a map with an empty key becomes its JSON text. `depth`: the level
/// `value` sits at in the item (a top-level attribute is at 2).
pub fn storable_json(value: serde_json::Value, depth: usize) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(number) if !number_fits(&number.to_string()) => {
            Value::String(number.to_string())
        }
        Value::Array(items) if depth < MAX_DEPTH => Value::Array(
            items
                .into_iter()
                .map(|item| storable_json(item, depth + 1))
                .collect(),
        ),
        Value::Object(map) if depth < MAX_DEPTH && !map.contains_key("") => Value::Object(
            map.into_iter()
                .map(|(key, item)| (key, storable_json(item, depth + 1)))
                .collect(),
        ),
        nested @ (Value::Array(_) | Value::Object(_)) => Value::String(nested.to_string()),
        other => other,
    }
}

/// Why DynamoDB would refuse `item` (whose key attribute is `key`), if it would.
pub fn check_item(item: &Item, key: &str) -> Result<(), String> {
    match item.get(key) {
        Some(AttributeValue::S(value))
            if !value.is_empty() && value.len() <= PARTITION_KEY_MAX_BYTES => {}
        _ => {
            return Err(format!(
                "its key '{key}' is empty or over {PARTITION_KEY_MAX_BYTES} bytes"
            ));
        }
    }
    let mut size = 0;
    for (name, value) in item {
        size += name.len();
        check_value(value, 2, &mut size).map_err(|reason| format!("'{name}': {reason}"))?;
    }
    if size > ITEM_MAX_BYTES {
        return Err(format!(
            "it is about {size} bytes, over DynamoDB's {ITEM_MAX_BYTES}"
        ));
    }
    Ok(())
}

fn check_value(value: &AttributeValue, depth: usize, size: &mut usize) -> Result<(), String> {
    match value {
        AttributeValue::S(text) => *size += text.len(),
        AttributeValue::N(number) => {
            if !number_fits(number) {
                return Err(format!("the number {number} is out of DynamoDB's range"));
            }
            *size += number.len();
        }
        AttributeValue::B(bytes) => *size += bytes.as_ref().len(),
        AttributeValue::Ss(items) | AttributeValue::Ns(items) => {
            *size += items.iter().map(String::len).sum::<usize>()
        }
        AttributeValue::L(items) => {
            if depth > MAX_DEPTH {
                return Err(format!("nested deeper than {MAX_DEPTH} levels"));
            }
            for item in items {
                check_value(item, depth + 1, size)?;
            }
        }
        AttributeValue::M(map) => {
            if depth > MAX_DEPTH {
                return Err(format!("nested deeper than {MAX_DEPTH} levels"));
            }
            for (key, item) in map {
                if key.is_empty() {
                    return Err("a map has an empty key".to_owned());
                }
                *size += key.len();
                check_value(item, depth + 1, size)?;
            }
        }
        _ => *size += 1,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_checked_against_dynamodbs_range_and_precision() {
        for fits in [
            "0", "-0.0", "1", "1e125", "9.99e125", "1e-130", "123.456", "-7", "1E10",
        ] {
            assert!(number_fits(fits), "{fits}");
        }
        for refused in [
            "1e200",
            "1e126",
            "1e-131",
            "-1e300",
            "1234567890123456789012345678901234567890",
            "abc",
            "",
        ] {
            assert!(!number_fits(refused), "{refused}");
        }
    }

    #[test]
    fn free_json_is_kept_whole_in_a_form_dynamodb_takes() {
        let mut deep = json!("bottom");
        for _ in 0..40 {
            deep = json!({ "next": deep });
        }
        let value = json!({"n": 1e200, "ok": 1.5, "empty": {"": 1}, "deep": deep});
        let stored = storable_json(value.clone(), 2);
        assert_eq!(stored["n"], json!("1e+200"));
        assert_eq!(stored["ok"], json!(1.5));
        assert_eq!(stored["empty"], json!("{\"\":1}"));
        // The deep part becomes text at the level DynamoDB stops, and that text is all of it.
        let mut part = &stored["deep"];
        let mut original = &value["deep"];
        while part.is_object() {
            part = &part["next"];
            original = &original["next"];
        }
        let text = part.as_str().unwrap();
        assert_eq!(
            &serde_json::from_str::<serde_json::Value>(text).unwrap(),
            original
        );
        let item: Item = serde_dynamo::to_item(json!({"pk": "log#1", "context": stored})).unwrap();
        assert_eq!(check_item(&item, "pk"), Ok(()));
    }

    #[test]
    fn items_dynamodb_would_refuse_say_why() {
        let item = |value: serde_json::Value| -> Item { serde_dynamo::to_item(value).unwrap() };
        assert!(check_item(&item(json!({"pk": "", "a": 1})), "pk").is_err());
        assert!(check_item(&item(json!({"pk": "€".repeat(1024)})), "pk").is_err());
        assert!(check_item(&item(json!({"pk": "k", "m": {"": 1}})), "pk").is_err());
        assert!(
            check_item(
                &item(json!({"pk": "k", "big": "x".repeat(ITEM_MAX_BYTES)})),
                "pk"
            )
            .is_err()
        );
        let mut refused = Item::new();
        refused.insert("pk".into(), AttributeValue::S("k".into()));
        refused.insert("n".into(), AttributeValue::N("1e200".into()));
        assert!(check_item(&refused, "pk").unwrap_err().contains("1e200"));
    }
}
