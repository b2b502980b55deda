//! The surface of DESIGN.md, as written there.
use agentsec::prelude::*;

pub struct Shop;

#[derive(Serialize)]
pub struct Order {
    pub id: String,
}

#[derive(Serialize)]
pub struct Refund {
    pub id: String,
}

/// List the signed-in user's most recent orders.
#[tool(read = "orders", scope = "user")]
async fn list_orders(
    ctx: &ToolCtx,
    #[state] shop: &Shop,
    /// How many orders to return.
    limit: u8,
) -> Result<Vec<Order>, ToolError> {
    let _ = (ctx, shop);
    Ok((0..limit).map(|i| Order { id: i.to_string() }).collect())
}

/// Refund an order to the customer's card.
#[tool(write = "payments", scope = "user")]
#[irreversible(reason = "moves money")]
async fn refund_order(
    ctx: &ToolCtx,
    #[state] shop: &Shop,
    #[secret("stripe_api_key")] key: SecretString,
    /// The order to refund.
    order_id: String,
    amount_cents: u64,
) -> Result<Refund, ToolError> {
    let _ = (ctx, shop, key.expose_secret().len(), amount_cents);
    Ok(Refund { id: order_id })
}

fn main() {
    assert_eq!(ListOrders::SPEC.name, "list_orders");
    assert!(RefundOrder::SPEC.is_irreversible());
    assert_eq!(RefundOrder::SPEC.secrets, &["stripe_api_key"]);
    let schema = <RefundOrder as Tool>::schema();
    assert_eq!(schema.parameters["properties"]["order_id"]["description"], "The order to refund.");
}
