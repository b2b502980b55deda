use agentsec::prelude::*;

/// Read the orders.
#[tool(read = "orders")]
async fn list_orders(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

fn main() {}
