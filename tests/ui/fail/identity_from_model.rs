use agentsec::prelude::*;

/// List a user's orders.
#[tool(read = "orders", scope = "user")]
async fn list_orders(ctx: &ToolCtx, user_id: String, limit: u8) -> Result<(), ToolError> {
    let _ = (ctx, user_id, limit);
    Ok(())
}

/// List a tenant's invoices.
#[tool(read = "invoices", scope = "tenant")]
async fn list_invoices(ctx: &ToolCtx, tenant_id: String, account_id: u64) -> Result<(), ToolError> {
    let _ = (ctx, tenant_id, account_id);
    Ok(())
}

fn main() {}
