//! A pure tool needs no context; optional arguments become nullable.
use agentsec::prelude::*;

/// Add two integers, and an optional third.
#[tool(pure)]
pub async fn add(a: i64, b: i64, c: Option<i64>) -> Result<i64, ToolError> {
    Ok(a + b + c.unwrap_or(0))
}

/// Say hello.
#[tool(pure)]
async fn hello() -> Result<&'static str, ToolError> {
    Ok("hello")
}

fn main() {
    let schema = <Add as Tool>::schema();
    assert_eq!(schema.parameters["required"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(<Hello as Tool>::schema().parameters["properties"], serde_json::json!({}));
    // The function stays callable from Rust.
    let _future = add(1, 2, None);
}
