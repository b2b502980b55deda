use agentsec::prelude::*;

#[tool(pure)]
async fn add(a: i64, b: i64) -> Result<i64, ToolError> {
    Ok(a + b)
}

fn main() {}
