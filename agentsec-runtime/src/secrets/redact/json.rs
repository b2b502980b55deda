//! Walking a JSON value to redact its strings, keys and numbers.

use serde_json::{Map, Value};

/// Redacts `value` in place with `redact` (which returns `None` when a text
/// has nothing to redact). Returns whether anything changed.
pub(super) fn redact_value(value: &mut Value, redact: &dyn Fn(&str) -> Option<String>) -> bool {
    match value {
        Value::String(text) => match redact(text) {
            Some(redacted) => {
                *text = redacted;
                true
            }
            None => false,
        },
        Value::Number(number) => match redact(&number.to_string()) {
            // A secret made of digits (a PIN, an account number) stored as a
            // number: it becomes a string holding the placeholder.
            Some(redacted) => {
                *value = Value::String(redacted);
                true
            }
            None => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| redact_value(item, redact) | changed),
        Value::Object(map) => {
            let mut changed = false;
            let old = std::mem::take(map);
            let mut new = Map::with_capacity(old.len());
            for (key, mut item) in old {
                changed |= redact_value(&mut item, redact);
                let key = match redact(&key) {
                    Some(redacted) => {
                        changed = true;
                        unique_key(&new, redacted)
                    }
                    None => key,
                };
                new.insert(key, item);
            }
            *map = new;
            changed
        }
        Value::Null | Value::Bool(_) => false,
    }
}

/// Two keys that differ only in their secrets redact to the same text; keep
/// both entries by numbering the later one.
fn unique_key(map: &Map<String, Value>, key: String) -> String {
    if !map.contains_key(&key) {
        return key;
    }
    (2..)
        .map(|n| format!("{key}#{n}"))
        .find(|candidate| !map.contains_key(candidate))
        .unwrap_or(key)
}
