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
    match serde_json::from_str::<serde_json::Value>(raw_args) {
        Ok(value) => canonical_digest(&canonical_json(&value)),
        Err(_) => canonical_digest(raw_args),
    }
}

/// SHA-256 (hex) of text that is already canonical (see [`canonical_json`]):
/// the digest an approval binds.
///
/// ```
/// use agentsec_core::{args_digest, canonical_digest};
/// assert_eq!(canonical_digest(r#"{"a":1,"b":2}"#), args_digest(r#"{ "b": 2, "a": 1 }"#));
/// ```
pub fn canonical_digest(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// JSON text with object keys sorted at every level, whatever the map order
/// `serde_json` was built with, and no whitespace.
///
/// ```
/// use agentsec_core::canonical_json;
/// let value = serde_json::json!({"b": [{"d": 1, "c": 2}], "a": null, "e": "\u{1}\"x"});
/// assert_eq!(canonical_json(&value), r#"{"a":null,"b":[{"c":2,"d":1}],"e":"\u0001\"x"}"#);
/// ```
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = Vec::with_capacity(64);
    write_canonical(value, &mut out);
    // Only serde_json's own output and ASCII punctuation were written.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes `value` canonically into one buffer: no string per key or value.
fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            // Already sorted unless serde_json keeps insertion order: then
            // this is a single pass.
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(key, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        other => write_scalar(other, out),
    }
}

fn write_scalar<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a string, number, bool or null into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use super::canonical_json;

    /// The canonical text of a number parses back to the same number: an
    /// approval bound to it still matches when the stored call is decoded
    /// again after a restart (this needs serde_json's `float_roundtrip`).
    #[test]
    fn numbers_survive_a_round_trip_through_their_canonical_text() {
        for text in [
            r#"{"b":922337203685720368572036857203685720368686868686868686868686868686868686868572036857203685720368572036857203685720368572036854775807}"#,
            r#"{"x":0.1,"y":1e-7,"z":123456789.987654321}"#,
            r#"{"n":-9223372036854775808,"m":18446744073709551615}"#,
        ] {
            let first: serde_json::Value = serde_json::from_str(text).unwrap();
            let canonical = canonical_json(&first);
            let again: serde_json::Value = serde_json::from_str(&canonical).unwrap();
            assert_eq!(canonical_json(&again), canonical, "{text}");
        }
    }
}
