//! Tools shared by the integration tests.
#![allow(dead_code)]

use std::sync::Mutex;

use agentsec::prelude::*;

/// The application state of the tests' shop.
#[derive(Default)]
pub struct Shop {
    pub refunds: Mutex<Vec<(String, String, u64)>>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Order {
    pub id: String,
    pub owner: String,
}

/// List the signed-in user's most recent orders.
#[tool(read = "orders", scope = "user")]
pub async fn list_orders(
    ctx: &ToolCtx,
    #[state] shop: &Shop,
    /// How many orders to return.
    limit: u8,
) -> Result<Vec<Order>, ToolError> {
    let _ = shop;
    Ok((0..limit)
        .map(|i| Order {
            id: format!("o{i}"),
            owner: ctx.user().id.clone(),
        })
        .collect())
}

/// Refund an order to the customer's card.
#[tool(write = "payments", scope = "user")]
#[irreversible(reason = "moves money")]
pub async fn refund_order(
    ctx: &ToolCtx,
    #[state] shop: &Shop,
    #[secret("stripe_api_key")] key: SecretString,
    /// The order to refund.
    order_id: String,
    /// The amount, in cents.
    amount_cents: u64,
) -> Result<String, ToolError> {
    if key.expose_secret().is_empty() {
        return Err(ToolError::failed("no payment key"));
    }
    shop.refunds
        .lock()
        .unwrap()
        .push((ctx.user().id.clone(), order_id.clone(), amount_cents));
    Ok(format!("refunded {amount_cents} on {order_id}"))
}

/// Add two integers.
#[tool(pure)]
pub async fn add(a: i64, b: i64) -> Result<i64, ToolError> {
    Ok(a + b)
}

pub async fn shop_dispatcher() -> Dispatcher {
    Dispatcher::builder()
        .tool::<ListOrders>()
        .tool::<RefundOrder>()
        .tool::<Add>()
        .state(Shop::default())
        .secrets(
            agentsec::secrets::MemorySecretStore::new()
                .with("stripe_api_key", "sk_test_abcdefghijklmnop123456"),
        )
        .build()
        .await
        .expect("the shop's tools have what they need")
}

pub fn alice_call() -> CallContext {
    CallContext::new(
        RunId::new(),
        1,
        "support",
        UserIdentity::new("alice").with_tenant("acme"),
    )
}
