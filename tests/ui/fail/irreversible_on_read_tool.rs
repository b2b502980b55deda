use agentsec::prelude::*;

/// List orders.
#[tool(read = "orders", scope = "user")]
#[irreversible(reason = "it is scary")]
async fn list_orders(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

/// List invoices.
#[irreversible]
#[tool(read = "invoices", scope = "user")]
async fn list_invoices(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

fn main() {}
