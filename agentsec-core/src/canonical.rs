//! The canonical form of a call's arguments and its digest: what an approval
//! is bound to.

use sha2::{Digest, Sha256};

/// SHA-256 (hex) of the canonical form of a call's arguments: parsed and
/// re-serialized with sorted keys, so whitespace and key order do not matter
/// but any change of a value does. Text that is not JSON is hashed as is.
///
/// ```
/// use agentsec_core::args_digest;
/// assert_eq!(args_digest(r#"{"a":1,"b":2}"#), args_digest(r#"{ "b": 2, "a": 1 }"#));
/// assert_ne!(args_digest(r#"{"a":1}"#), args_digest(r#"{"a":2}"#));
/// ```
pub fn args_digest(raw_args: &str) -> String {
    let canonical = match serde_json::from_str::<serde_json::Value>(raw_args) {
        Ok(value) => canonical_json(&value),
        Err(_) => raw_args.to_owned(),
    };
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// JSON text with object keys sorted at every level, whatever the map order
/// `serde_json` was built with.
///
/// ```
/// use agentsec_core::canonical_json;
/// let value = serde_json::json!({"b": [{"d": 1, "c": 2}], "a": null});
/// assert_eq!(canonical_json(&value), r#"{"a":null,"b":[{"c":2,"d":1}]}"#);
/// ```
pub fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let body: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            let body: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", body.join(","))
        }
        other => other.to_string(),
    }
}
