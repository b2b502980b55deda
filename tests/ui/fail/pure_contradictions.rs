use agentsec::prelude::*;

/// Pure but reads.
#[tool(pure, read = "orders", scope = "user")]
async fn confused(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

fn main() {}
