//! A tool that is not valid Rust: the parser's own error, on the tokens it
//! could not read, and no cascade where an agent lists the tool.
use agentsec::prelude::*;

/// Add two integers.
#[tool(pure)]
async fn add(a: i64, b: i64) -> Result<i64, ToolError> {
    let sum = a + ;
    Ok(sum)
}

#[agent(prompt = "Add.", tools(add), max_iterations = 2, budget(tokens = 100))]
pub struct Calculator;

fn main() {}
