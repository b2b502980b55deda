//! `&Shop` without `#[state]`: application state, not a model argument.
use agentsec::prelude::*;

pub struct Shop;

/// List the signed-in user's orders.
#[tool(read = "orders", scope = "user")]
async fn list_orders(ctx: &ToolCtx, shop: &Shop, limit: u8) -> Result<(), ToolError> {
    let _ = (ctx, shop, limit);
    Ok(())
}

fn main() {}
