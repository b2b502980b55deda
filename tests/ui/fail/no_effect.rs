use agentsec::prelude::*;

/// Does something, nobody knows what.
#[tool]
async fn mystery(x: u32) -> Result<u32, ToolError> {
    Ok(x)
}

/// Also undeclared.
#[tool(scope = "user")]
async fn mystery_scoped(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

fn main() {}
