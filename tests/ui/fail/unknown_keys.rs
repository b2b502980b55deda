use agentsec::prelude::*;

/// List orders.
#[tool(reed = "orders", scop = "user", idempotnt)]
async fn list_orders(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

/// Refund.
#[tool(write = "payments", scope = "user")]
#[irreversible(reson = "moves money")]
async fn refund(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

fn main() {}
