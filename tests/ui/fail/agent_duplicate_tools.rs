use agentsec::prelude::*;

/// Add two integers.
#[tool(pure)]
async fn add(a: i64, b: i64) -> Result<i64, ToolError> {
    Ok(a + b)
}

/// Also adds, under the same tool name.
#[tool(pure, name = "add")]
async fn plus(a: i64, b: i64) -> Result<i64, ToolError> {
    Ok(a + b)
}

#[agent(name = "twice", prompt = "Add.", tools(add, add), max_iterations = 5, budget(tokens = 1_000))]
pub struct Twice;

#[agent(name = "same_name", prompt = "Add.", tools(add, plus), max_iterations = 5, budget(tokens = 1_000))]
pub struct SameName;

fn main() {}
