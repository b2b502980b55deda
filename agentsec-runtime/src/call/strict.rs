//! Parsing the model's argument text strictly: duplicate keys refused at
//! every depth, nesting bounded, and every object checked against the
//! schema's properties so an unknown field is refused wherever it stands.
//!
//! `serde_json::Value` keeps the last of two equal keys, so a model (or an
//! injection steering it) could show an approver `"amount_cents": 1` while
//! the tool runs with a second `"amount_cents": 89900`. Parsing through
//! [`StrictValue`] refuses such text before anyone sees it.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why argument text was refused while parsing, with the path of the
/// offending field (`items[2].sku`) when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StrictError {
    pub(crate) field: Option<String>,
    pub(crate) message: String,
}

impl StrictError {
    fn at(field: String, message: impl Into<String>) -> Self {
        Self {
            field: (!field.is_empty()).then_some(field),
            message: message.into(),
        }
    }
}

/// Parses `text` into a `Value`, refusing duplicate keys and nesting deeper
/// than `max_depth` (objects and arrays count one level each).
pub(crate) fn parse(text: &str, max_depth: usize) -> Result<Value, StrictError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = StrictValue {
        depth: 0,
        max_depth,
        path: Step::Root,
    };
    let value = seed.deserialize(&mut de).map_err(from_json_error)?;
    de.end().map_err(from_json_error)?;
    Ok(value)
}

/// serde_json's message, which carries our `field\u{0}message` encoding when
/// the error came from the visitor below.
fn from_json_error(error: serde_json::Error) -> StrictError {
    let text = error.to_string();
    match text.split_once('\u{0}') {
        Some((field, rest)) => {
            // serde_json appends " at line L column C": keep the message only.
            let message = rest.split(" at line ").next().unwrap_or(rest);
            StrictError::at(field.to_owned(), message)
        }
        None => StrictError {
            field: None,
            message: format!("the arguments are not valid JSON: {text}"),
        },
    }
}

/// Where a value stands in the arguments, as a chain of borrowed steps: the
/// path text (`items[2].sku`) is written only when an error names it, so a
/// good call allocates nothing for it.
#[derive(Clone, Copy)]
enum Step<'p> {
    Root,
    Key(&'p Step<'p>, &'p str),
    Index(&'p Step<'p>, usize),
}

impl fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Root => Ok(()),
            Step::Key(parent, key) => {
                if matches!(parent, Step::Root) {
                    f.write_str(key)
                } else {
                    write!(f, "{parent}.{key}")
                }
            }
            Step::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

struct StrictValue<'p> {
    depth: usize,
    max_depth: usize,
    path: Step<'p>,
}

impl StrictValue<'_> {
    fn error<E: serde::de::Error>(&self, message: impl fmt::Display) -> E {
        E::custom(format_args!("{}\u{0}{message}", self.path))
    }

    fn enter<E: serde::de::Error>(&self) -> Result<(), E> {
        if self.depth >= self.max_depth {
            return Err(self.error(format_args!(
                "the arguments nest deeper than {} levels",
                self.max_depth
            )));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| self.error("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            let child = StrictValue {
                depth: self.depth + 1,
                max_depth: self.max_depth,
                path: Step::Index(&self.path, items.len()),
            };
            match seq.next_element_seed(child)? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if fields.contains_key(&key) {
                let at = Step::Key(&self.path, &key);
                return Err(A::Error::custom(format_args!(
                    "{at}\u{0}the key appears twice; each field may be given once"
                )));
            }
            let child = StrictValue {
                depth: self.depth + 1,
                max_depth: self.max_depth,
                path: Step::Key(&self.path, &key),
            };
            let value = map.next_value_seed(child)?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

/// Checks every object in `value` against the (strict) `schema`: a key the
/// schema's `properties` lack is refused where `additionalProperties` is
/// `false`. `root` resolves `$ref`s. Recursion follows the value, so it is
/// bounded by the parse depth.
pub(crate) fn check_fields(value: &Value, schema: &Value, root: &Value) -> Result<(), StrictError> {
    check_at(value, schema, root, Step::Root, 0)
}

/// `$ref` chains longer than this are not followed (a schema pointing at
/// itself would otherwise loop).
const MAX_REF_HOPS: usize = 16;

fn resolve<'s>(mut schema: &'s Value, root: &'s Value) -> &'s Value {
    for _ in 0..MAX_REF_HOPS {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return schema;
        };
        match root.pointer(pointer) {
            Some(target) => schema = target,
            None => return schema,
        }
    }
    schema
}

fn check_at(
    value: &Value,
    schema: &Value,
    root: &Value,
    path: Step<'_>,
    hops: usize,
) -> Result<(), StrictError> {
    // Only objects can carry an unknown field, and only through objects and
    // arrays: a scalar needs no look at its schema.
    if !matches!(value, Value::Object(_) | Value::Array(_)) {
        return Ok(());
    }
    let schema = resolve(schema, root);
    // A value may match any branch of `anyOf`/`oneOf` (enums, `Option`s):
    // it is acceptable when one branch accepts all its fields.
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            if hops > MAX_REF_HOPS {
                return Ok(());
            }
            let mut first_error = None;
            for branch in branches {
                match check_at(value, branch, root, path, hops + 1) {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            return match first_error {
                Some(error) => Err(error),
                None => Ok(()),
            };
        }
    }
    if let Some(Value::Array(all)) = schema.get("allOf") {
        for branch in all {
            check_at(value, branch, root, path, hops + 1)?;
        }
    }
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (key, field) in fields {
                let field_path = Step::Key(&path, key);
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => check_at(field, sub, root, field_path, 0)?,
                    None => match additional {
                        Some(Value::Bool(false)) => {
                            let known: Vec<&str> = properties
                                .map(|p| p.keys().map(String::as_str).collect())
                                .unwrap_or_default();
                            let expected = if known.is_empty() {
                                "no fields are expected here".to_owned()
                            } else {
                                format!("expected one of: {}", known.join(", "))
                            };
                            return Err(StrictError::at(
                                field_path.to_string(),
                                format!("unknown field; {expected}"),
                            ));
                        }
                        Some(sub @ Value::Object(_)) => check_at(field, sub, root, field_path, 0)?,
                        _ => {}
                    },
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_at(item, sub, root, Step::Index(&path, i), 0)?;
                }
            }
            if let Some(Value::Array(prefix)) = schema.get("prefixItems") {
                for (i, (item, sub)) in items.iter().zip(prefix).enumerate() {
                    check_at(item, sub, root, Step::Index(&path, i), 0)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_keys_are_refused_at_every_depth() {
        let err = parse(r#"{"a":1,"a":2}"#, 32).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("a"));
        assert!(err.message.contains("twice"), "{err:?}");
        let err = parse(r#"{"o":{"x":[{"k":1,"k":1}]}}"#, 32).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("o.x[0].k"));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        let err = parse(&deep, 32).unwrap_err();
        assert!(err.message.contains("deeper than 32"), "{err:?}");
        assert!(parse(&format!("{}{}", "[".repeat(10), "]".repeat(10)), 32).is_ok());
    }

    #[test]
    fn trailing_text_and_bad_json_are_refused() {
        assert!(parse(r#"{"a":1} x"#, 32).is_err());
        let err = parse(r#"{"a":"#, 32).unwrap_err();
        assert!(err.message.starts_with("the arguments are not valid JSON"));
    }

    #[test]
    fn nested_unknown_fields_are_found() {
        let schema = json!({
            "type": "object",
            "properties": {
                "item": {"type": "object", "properties": {"sku": {"type": "string"}},
                         "additionalProperties": false},
                "list": {"type": "array", "items": {"$ref": "#/$defs/Line"}}
            },
            "additionalProperties": false,
            "$defs": {"Line": {"type": "object", "properties": {"qty": {"type": "integer"}},
                               "additionalProperties": false}}
        });
        let ok = json!({"item": {"sku": "a"}, "list": [{"qty": 1}]});
        assert!(check_fields(&ok, &schema, &schema).is_ok());
        let bad = json!({"item": {"sku": "a", "price": 0}});
        let err = check_fields(&bad, &schema, &schema).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("item.price"));
        let bad = json!({"list": [{"qty": 1}, {"qty": 2, "discount": 100}]});
        let err = check_fields(&bad, &schema, &schema).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("list[1].discount"));
    }
}
