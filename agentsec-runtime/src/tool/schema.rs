//! The JSON schema the model sees for a tool's arguments.
//!
//! Schemas are generated with `schemars` and then made *strict*: every object
//! forbids extra properties and lists every property as required, optional
//! values become nullable, and keywords that OpenAI's strict function calling
//! rejects are removed. The result is accepted as-is by OpenAI (`strict: true`)
//! and as an Anthropic `input_schema`.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::{Tool, ToolSpec};

/// String formats OpenAI's strict mode accepts; every other `format` (such as
/// schemars' `uint8` or `double`) is dropped, the bounds stay.
const STRICT_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// A tool's name, description and strict argument schema.
///
/// ```
/// use agentsec_runtime::tool::ToolSchema;
/// #[derive(schemars::JsonSchema, serde::Deserialize)]
/// struct Args { /// How many.
///     limit: u8, note: Option<String> }
/// let schema = ToolSchema::for_args::<Args>("list_orders", "List orders.");
/// let params = &schema.parameters;
/// assert_eq!(params["additionalProperties"], false);
/// assert_eq!(params["required"], serde_json::json!(["limit", "note"]));
/// assert_eq!(params["properties"]["note"]["type"], serde_json::json!(["string", "null"]));
/// assert_eq!(schema.openai()["function"]["strict"], true);
/// assert_eq!(schema.anthropic()["input_schema"], *params);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSchema {
    /// The tool's name.
    pub name: &'static str,
    /// The tool's description (its doc comment).
    pub description: &'static str,
    /// The strict JSON schema of the arguments object.
    pub parameters: Value,
    /// Top-level properties the argument type does not require; the model
    /// sends `null` for them and decoding treats `null` as absent.
    pub optional: Vec<String>,
}

impl ToolSchema {
    /// The schema of tool `T`.
    pub fn of<T: Tool>() -> Self {
        Self::for_args::<T::Args>(T::SPEC.name, T::SPEC.description)
    }

    /// The schema of a tool named `name` whose arguments are `A`.
    pub fn for_args<A: JsonSchema>(name: &'static str, description: &'static str) -> Self {
        let mut settings = SchemaSettings::draft2020_12();
        settings.inline_subschemas = true;
        settings.meta_schema = None;
        let root = settings.into_generator().into_root_schema_for::<A>();
        let mut parameters = serde_json::to_value(root).unwrap_or_else(|_| json!({}));
        // The tool's description is its doc comment; the argument type's own
        // doc would only repeat or contradict it.
        if let Value::Object(root) = &mut parameters {
            root.remove("description");
        }
        let optional = optional_properties(&parameters);
        make_strict(&mut parameters);
        Self {
            name,
            description,
            parameters,
            optional,
        }
    }

    /// The schema of `spec`'s tool with `A` as arguments.
    pub fn for_spec<A: JsonSchema>(spec: &ToolSpec) -> Self {
        Self::for_args::<A>(spec.name, spec.description)
    }

    /// The tool as an OpenAI chat-completions `tools[]` entry, strict mode on.
    pub fn openai(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
                "strict": true,
            }
        })
    }

    /// The tool as an Anthropic Messages `tools[]` entry.
    pub fn anthropic(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "input_schema": self.parameters,
        })
    }

    /// Names of the top-level properties.
    pub fn property_names(&self) -> impl Iterator<Item = &str> {
        self.parameters
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|p| p.keys().map(String::as_str))
    }

    /// Whether the root of the schema is an object with named properties, the
    /// only shape model providers accept for tool arguments.
    pub fn is_object(&self) -> bool {
        self.parameters.get("type").and_then(Value::as_str) == Some("object")
    }
}

fn optional_properties(schema: &Value) -> Vec<String> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.keys()
                .filter(|k| !required.contains(&k.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Rewrites a schema in place into the strict form (see the module docs).
pub fn make_strict(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    for key in ["$schema", "default", "examples", "title"] {
        map.remove(key);
    }
    if let Some(Value::String(format)) = map.get("format")
        && !STRICT_FORMATS.contains(&format.as_str())
    {
        map.remove("format");
    }
    if let Some(one_of) = map.remove("oneOf") {
        map.insert("anyOf".into(), one_of);
    }
    let required = map_required(map);
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            make_strict(prop);
            if !required.contains(name) {
                make_nullable(prop);
            }
        }
        let names: Vec<Value> = props.keys().cloned().map(Value::String).collect();
        map.insert("required".into(), Value::Array(names));
        map.insert("additionalProperties".into(), Value::Bool(false));
    } else if map.get("type") == Some(&Value::String("object".into()))
        && matches!(
            map.get("additionalProperties"),
            None | Some(Value::Bool(false))
        )
    {
        map.insert("properties".into(), Value::Object(Map::new()));
        map.insert("required".into(), Value::Array(vec![]));
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["items", "not", "additionalProperties", "contains"] {
        if let Some(sub) = map.get_mut(key) {
            make_strict(sub);
        }
    }
    for key in ["anyOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(subs)) = map.get_mut(key) {
            subs.iter_mut().for_each(make_strict);
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = map.get_mut(key) {
            defs.values_mut().for_each(make_strict);
        }
    }
}

fn map_required(map: &Map<String, Value>) -> Vec<String> {
    map.get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type") == Some(&Value::String("null".into()))
}

fn make_nullable(prop: &mut Value) {
    let Value::Object(map) = prop else { return };
    if let Some(Value::Array(any)) = map.get_mut("anyOf") {
        if !any.iter().any(is_null_schema) {
            any.push(json!({"type": "null"}));
        }
        return;
    }
    match map.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = std::mem::take(t);
            map.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(types)) => {
            if !types.iter().any(|t| t == "null") {
                types.push(json!("null"));
            }
        }
        Some(_) => {}
        None => {
            let inner = std::mem::take(map);
            *prop = json!({"anyOf": [Value::Object(inner), {"type": "null"}]});
            return;
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}
