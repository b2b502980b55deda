use agentsec::prelude::*;

/// List orders.
#[tool(read = "orders", scope = "everyone")]
async fn list_orders(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

/// List customers.
#[tool(read = [], scope = "user", name = "list customers")]
async fn list_customers(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

/// Write notes.
#[tool(write = 42, scope = "user", pure = true)]
async fn write_note(ctx: &ToolCtx) -> Result<(), ToolError> {
    let _ = ctx;
    Ok(())
}

fn main() {}
