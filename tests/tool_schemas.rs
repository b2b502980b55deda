//! The schemas the model sees are accepted as-is by OpenAI's strict function
//! calling and as Anthropic `input_schema`s. The checks below are the
//! providers' documented rules for those shapes.

mod common;

use agentsec::prelude::*;
use serde_json::{Value, json};

/// Where to ship.
#[derive(Deserialize, JsonSchema)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// Optional second line.
    pub line2: Option<String>,
}

/// How fast.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Speed {
    Standard,
    Express,
}

/// One item of an order.
#[derive(Deserialize, JsonSchema)]
pub struct Item {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: u16,
}

/// Place an order for the signed-in user.
#[tool(write = "orders", scope = "user")]
async fn place_order(
    ctx: &ToolCtx,
    /// The items.
    items: Vec<Item>,
    /// Where to ship; the user's default address when absent.
    address: Option<Address>,
    /// Shipping speed.
    speed: Speed,
    /// A note for the courier.
    note: Option<String>,
    /// Gift wrap.
    gift: bool,
    /// Price limit.
    max_total: f64,
) -> Result<String, ToolError> {
    let _ = (ctx, items, address, speed, note, gift, max_total);
    Ok("placed".into())
}

const OPENAI_FORMATS: &[&str] = &[
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
const UNSUPPORTED: &[&str] = &[
    "$schema",
    "default",
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
];

fn check_openai_strict(schema: &Value, path: &str, problems: &mut Vec<String>) {
    let Value::Object(map) = schema else { return };
    for key in UNSUPPORTED {
        if map.contains_key(*key) {
            problems.push(format!("{path}: `{key}` is not supported in strict mode"));
        }
    }
    if let Some(Value::String(format)) = map.get("format")
        && !OPENAI_FORMATS.contains(&format.as_str())
    {
        problems.push(format!("{path}: format `{format}` is not supported"));
    }
    let is_object = match map.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => false,
    };
    if is_object {
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            problems.push(format!("{path}: objects need additionalProperties: false"));
        }
        let props: Vec<&String> = map
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if map.get("properties").is_none() || map.get("required").is_none() {
            problems.push(format!("{path}: objects need properties and required"));
        }
        for p in &props {
            if !required.contains(&p.as_str()) {
                problems.push(format!("{path}: property `{p}` is not in required"));
            }
        }
    }
    for (key, value) in map {
        match value {
            Value::Object(_) if key == "properties" || key == "$defs" => {
                for (name, sub) in value.as_object().unwrap() {
                    check_openai_strict(sub, &format!("{path}.{name}"), problems);
                }
            }
            Value::Object(_) => check_openai_strict(value, &format!("{path}/{key}"), problems),
            Value::Array(items) => {
                for (i, sub) in items.iter().enumerate() {
                    check_openai_strict(sub, &format!("{path}/{key}[{i}]"), problems);
                }
            }
            _ => {}
        }
    }
}

fn assert_strict(schema: &Value) {
    assert_eq!(schema["type"], "object", "the root must be an object");
    let mut problems = Vec::new();
    check_openai_strict(schema, "$", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}\n{schema:#}");
}

#[test]
fn every_test_tool_schema_is_openai_strict() {
    for schema in [
        <PlaceOrder as Tool>::schema(),
        <common::ListOrders as Tool>::schema(),
        <common::RefundOrder as Tool>::schema(),
        <common::Add as Tool>::schema(),
    ] {
        assert_strict(&schema.parameters);
        let entry = schema.openai();
        assert_eq!(entry["type"], "function");
        assert_eq!(entry["function"]["strict"], true);
        assert_eq!(entry["function"]["name"], schema.name);
        assert_eq!(entry["function"]["parameters"], schema.parameters);
    }
}

#[test]
fn optional_values_are_nullable_and_required() {
    let params = &<PlaceOrder as Tool>::schema().parameters;
    assert_eq!(
        params["properties"]["note"]["type"],
        json!(["string", "null"])
    );
    let address = &params["properties"]["address"];
    let variants = address["anyOf"].as_array();
    let nullable = match variants {
        Some(vs) => vs.iter().any(|v| v["type"] == "null"),
        None => address["type"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("null"))),
    };
    assert!(nullable, "{address:#}");
    // Integer formats such as `uint16` are dropped, the bounds stay.
    let quantity = &params["properties"]["items"]["items"]["properties"]["quantity"];
    assert!(quantity.get("format").is_none());
    assert_eq!(quantity["minimum"], 0);
    assert_eq!(quantity["maximum"], 65535);
}

#[test]
fn descriptions_come_from_doc_comments() {
    let schema = <PlaceOrder as Tool>::schema();
    assert_eq!(schema.description, "Place an order for the signed-in user.");
    assert_eq!(
        schema.parameters["properties"]["speed"]["description"],
        "Shipping speed."
    );
    assert_eq!(
        schema.parameters["properties"]["items"]["items"]["properties"]["sku"]["description"],
        "Stock keeping unit."
    );
}

#[test]
fn anthropic_entries_have_the_input_schema_shape() {
    let schema = <PlaceOrder as Tool>::schema();
    let entry = schema.anthropic();
    let name = entry["name"].as_str().unwrap();
    assert!(
        name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    );
    assert!(!entry["description"].as_str().unwrap().is_empty());
    assert_eq!(entry["input_schema"]["type"], "object");
    assert!(entry["input_schema"]["properties"].is_object());
    assert!(entry.get("strict").is_none());
}

#[tokio::test]
async fn null_for_an_optional_argument_means_absent() {
    let dispatcher = Dispatcher::builder()
        .tool::<PlaceOrder>()
        .build()
        .await
        .unwrap();
    let call = common::alice_call();
    let out = dispatcher
        .dispatch(
            &call,
            "place_order",
            r#"{"items":[{"sku":"a","quantity":1}],"address":null,"speed":"express","note":null,"gift":false,"max_total":10.5}"#,
        )
        .await
        .unwrap();
    assert_eq!(out, "placed");
    let bad_enum = dispatcher
        .dispatch(
            &call,
            "place_order",
            r#"{"items":[],"address":null,"speed":"teleport","note":null,"gift":false,"max_total":1}"#,
        )
        .await;
    match bad_enum {
        Err(ToolError::InvalidArguments { field, .. }) => {
            assert_eq!(field.as_deref(), Some("speed"))
        }
        other => panic!("{other:?}"),
    }
}
