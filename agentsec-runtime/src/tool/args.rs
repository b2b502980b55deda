//! Decoding the model's JSON arguments into a tool's argument type.
//!
//! Model output is untrusted input: every failure here is a
//! [`ToolError::InvalidArguments`] naming the field, which goes back to the
//! model so it can correct itself. Nothing here panics.

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::{ToolError, ToolSchema};

/// Limits on the raw argument text a model may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgLimits {
    /// The largest argument text accepted, in bytes.
    pub max_bytes: usize,
}

impl Default for ArgLimits {
    /// 64 KiB: far above what a tool call needs, far below what would let a
    /// model flood a tool or the store.
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
        }
    }
}

/// Decodes `raw` (the model's argument text) for the tool described by
/// `schema`.
///
/// Rejects, with the offending field named where there is one: text over
/// `limits.max_bytes`, text that is not JSON, JSON that is not an object,
/// properties the schema does not have, and values of the wrong type.
/// Empty text counts as `{}`, and `null` for an optional property as absent.
///
/// ```
/// use agentsec_runtime::tool::{decode_args, ArgLimits, ToolSchema};
/// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
/// struct Args { limit: u8 }
/// let schema = ToolSchema::for_args::<Args>("list_orders", "List orders.");
/// let ok: Args = decode_args(&schema, r#"{"limit": 5}"#, ArgLimits::default()).unwrap();
/// assert_eq!(ok.limit, 5);
/// let err = decode_args::<Args>(&schema, r#"{"limit": "five"}"#, ArgLimits::default()).unwrap_err();
/// assert!(err.to_string().contains("field `limit`"));
/// ```
pub fn decode_args<A: DeserializeOwned>(
    schema: &ToolSchema,
    raw: &str,
    limits: ArgLimits,
) -> Result<A, ToolError> {
    let text = within_limits(schema, raw, limits)?;
    if let Some(args) = decode_well_formed(schema, text) {
        return Ok(args);
    }
    // Something is wrong (or unusual: an escaped key, a `null` to drop):
    // decode through a `Value` to say exactly what, naming the field.
    decode_through_value(schema, text)
}

/// [`decode_args`] without its fast path: what it did before it had one.
/// The fuzz targets check the two always agree.
#[cfg(feature = "fuzzing")]
pub(crate) fn decode_args_slowly<A: DeserializeOwned>(
    schema: &ToolSchema,
    raw: &str,
    limits: ArgLimits,
) -> Result<A, ToolError> {
    decode_through_value(schema, within_limits(schema, raw, limits)?)
}

fn invalid(schema: &ToolSchema, field: Option<String>, message: String) -> ToolError {
    ToolError::InvalidArguments {
        tool: schema.name.to_owned(),
        field,
        message,
    }
}

/// The text to decode: refused when over the limit, `{}` when blank.
fn within_limits<'r>(
    schema: &ToolSchema,
    raw: &'r str,
    limits: ArgLimits,
) -> Result<&'r str, ToolError> {
    if raw.len() > limits.max_bytes {
        return Err(invalid(
            schema,
            None,
            format!(
                "the arguments are {} bytes, over the limit of {} bytes",
                raw.len(),
                limits.max_bytes
            ),
        ));
    }
    Ok(if raw.trim().is_empty() { "{}" } else { raw })
}

/// The careful path: the text becomes a `Value`, checked key by key, with
/// `null`s of optional properties dropped, then decoded with the path of
/// any error recorded.
fn decode_through_value<A: DeserializeOwned>(
    schema: &ToolSchema,
    text: &str,
) -> Result<A, ToolError> {
    let invalid = |field: Option<String>, message: String| invalid(schema, field, message);
    let value: Value = serde_json::from_str(text)
        .map_err(|e| invalid(None, format!("the arguments are not valid JSON: {e}")))?;
    let Value::Object(mut fields) = value else {
        return Err(invalid(
            None,
            format!("the arguments must be a JSON object, not {}", kind(&value)),
        ));
    };
    let known: Vec<&str> = schema.property_names().collect();
    if schema.is_object()
        && let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str()))
    {
        let expected = if known.is_empty() {
            "this tool takes no arguments".to_owned()
        } else {
            format!("expected one of: {}", known.join(", "))
        };
        return Err(invalid(
            Some(unknown.clone()),
            format!("unknown field; {expected}"),
        ));
    }
    fields.retain(|k, v| !(v.is_null() && schema.optional.iter().any(|o| o == k)));
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        invalid(field, e.into_inner().to_string())
    })
}

/// The fast path for arguments that are right, which is most of them: one
/// pass over the top-level keys (borrowed, values skipped) checks what the
/// slow path checks — an object, no property the schema lacks, no `null` for
/// an optional property that would have to be dropped — and a second decodes
/// the arguments straight from the text. `None` sends the call down the slow
/// path, which decides exactly as before and explains any failure, so the
/// fast path changes how long a good call takes, never what is accepted.
fn decode_well_formed<A: DeserializeOwned>(schema: &ToolSchema, text: &str) -> Option<A> {
    let mut keys = serde_json::Deserializer::from_str(text);
    if !keys.deserialize_map(KeysAcceptable { schema }).ok()? {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Visits an object's top-level keys: `true` when each is a property of the
/// schema (if it describes an object) and none is a `null` to drop.
struct KeysAcceptable<'s> {
    schema: &'s ToolSchema,
}

impl<'de> Visitor<'de> for KeysAcceptable<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<bool, M::Error> {
        let checks_names = self.schema.is_object();
        // A key with escapes cannot be borrowed: an error here, and the slow
        // path decodes it.
        while let Some(key) = map.next_key::<&'de str>()? {
            if checks_names && !self.schema.property_names().any(|p| p == key) {
                return Ok(false);
            }
            let value = map.next_value::<Option<IgnoredAny>>()?;
            if value.is_none() && self.schema.optional.iter().any(|o| o == key) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
