use agentsec::prelude::*;

/// List the user's orders.
#[tool(read = "orders", scope = "user")]
async fn list_orders(limit: u8) -> Result<u8, ToolError> {
    Ok(limit)
}

/// List the tenant's invoices.
#[tool(read = "invoices", scope = "tenant")]
async fn list_invoices() -> Result<(), ToolError> {
    Ok(())
}

fn main() {}
