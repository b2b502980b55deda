//! Decoding the model's JSON arguments into a tool's argument type.
//!
//! Model output is untrusted input: every failure here is a
//! [`ToolError::InvalidArguments`] naming the field, which goes back to the
//! model so it can correct itself. Nothing here panics.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ToolError, ToolSchema};
use crate::call::strict;

/// Limits on the raw argument text a model may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgLimits {
    /// The largest argument text accepted, in bytes.
    pub max_bytes: usize,
    /// The deepest nesting accepted (each object or array is one level).
    pub max_depth: usize,
}

impl Default for ArgLimits {
    /// 64 KiB and 32 levels: far above what a tool call needs, far below
    /// what would let a model flood a tool or the store.
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_depth: 32,
        }
    }
}

/// Decodes `raw` (the model's argument text) for the tool described by
/// `schema`, strictly: what the call pipeline does before anything else.
///
/// Rejects, with the offending field named where there is one: text over
/// `limits.max_bytes` or nested deeper than `limits.max_depth`, text that is
/// not JSON, JSON that is not an object, a key given twice (at any depth),
/// properties the schema does not have (at any depth), and values of the
/// wrong type. Empty text counts as `{}`, and `null` for an optional
/// top-level property as absent.
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
/// let twice = decode_args::<Args>(&schema, r#"{"limit": 1, "limit": 90}"#, ArgLimits::default());
/// assert!(twice.unwrap_err().to_string().contains("twice"));
/// ```
pub fn decode_args<A: DeserializeOwned>(
    schema: &ToolSchema,
    raw: &str,
    limits: ArgLimits,
) -> Result<A, ToolError> {
    let value = parse_args(schema, raw, limits)?;
    typed_args(schema, &value)
}

pub(crate) fn invalid(schema: &ToolSchema, field: Option<String>, message: String) -> ToolError {
    ToolError::InvalidArguments {
        tool: schema.name.to_owned(),
        field,
        message,
    }
}

/// The first step of decoding: the text, within the limits, parsed strictly
/// into an object whose every field (at every depth) the schema knows.
pub(crate) fn parse_args(
    schema: &ToolSchema,
    raw: &str,
    limits: ArgLimits,
) -> Result<Value, ToolError> {
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
    let text = if raw.trim().is_empty() { "{}" } else { raw };
    let value =
        strict::parse(text, limits.max_depth).map_err(|e| invalid(schema, e.field, e.message))?;
    if !value.is_object() {
        return Err(invalid(
            schema,
            None,
            format!("the arguments must be a JSON object, not {}", kind(&value)),
        ));
    }
    if schema.is_object() {
        strict::check_fields(&value, &schema.parameters, &schema.parameters)
            .map_err(|e| invalid(schema, e.field, e.message))?;
    }
    Ok(value)
}

/// The second step: the parsed object decoded into the tool's argument
/// type, with `null`s of optional top-level properties dropped and the path
/// of any error recorded.
pub(crate) fn typed_args<A: DeserializeOwned>(
    schema: &ToolSchema,
    value: &Value,
) -> Result<A, ToolError> {
    let Value::Object(fields) = value else {
        return Err(invalid(
            schema,
            None,
            "the arguments must be a JSON object".into(),
        ));
    };
    let drop_null = |k: &String, v: &Value| v.is_null() && schema.optional.iter().any(|o| o == k);
    let decoded = if fields.iter().any(|(k, v)| drop_null(k, v)) {
        let mut fields = fields.clone();
        fields.retain(|k, v| !drop_null(k, v));
        serde_path_to_error::deserialize(&Value::Object(fields))
    } else {
        // The common case decodes from the parsed value without a copy.
        serde_path_to_error::deserialize(value)
    };
    decoded.map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        invalid(schema, field, e.into_inner().to_string())
    })
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
