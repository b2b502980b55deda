use agentsec::prelude::*;

pub struct Shop;

/// Not async.
#[tool(pure)]
fn add(a: i64, b: i64) -> Result<i64, ToolError> {
    Ok(a + b)
}

/// Generic.
#[tool(pure)]
async fn echo<T>(value: String) -> Result<String, ToolError> {
    Ok(value)
}

/// No result.
#[tool(pure)]
async fn shout(text: String) -> String {
    text.to_uppercase()
}

/// Borrowed argument and owned state.
#[tool(read = "shops", scope = "global")]
async fn find(#[state] shop: Shop, name: &str) -> Result<(), ToolError> {
    let _ = (shop, name);
    Ok(())
}

/// Context by value.
#[tool(read = "orders", scope = "user")]
async fn by_value(ctx: ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

fn main() {}
