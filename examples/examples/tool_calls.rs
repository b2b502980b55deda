//! Dispatches a model's tool calls through the guarded path and prints what
//! happened to each: a well-formed call, malformed arguments, an unknown
//! tool, an irreversible call without and with an approval.
//!
//! Run it with `cargo run -p examples --example tool_calls`.

use agentsec::ApprovalProof;
use agentsec::prelude::*;
use agentsec::secrets::MemorySecretStore;
use std::sync::Mutex;

/// The shop the tools work on.
#[derive(Default)]
pub struct Shop {
    refunds: Mutex<Vec<String>>,
}

/// An order.
#[derive(Serialize)]
pub struct Order {
    id: String,
    owner: String,
    total_cents: u64,
}

/// List the signed-in user's most recent orders.
#[tool(read = "orders", scope = "user")]
async fn list_orders(
    ctx: &ToolCtx,
    #[state] shop: &Shop,
    /// How many orders to return.
    limit: u8,
) -> Result<Vec<Order>, ToolError> {
    let _ = shop;
    Ok((1..=limit)
        .map(|i| Order {
            id: format!("ord_{i}"),
            owner: ctx.user().id.clone(),
            total_cents: 1_000 * u64::from(i),
        })
        .collect())
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
    /// The amount to refund, in cents.
    amount_cents: u64,
) -> Result<String, ToolError> {
    // A real tool would call the payment provider with `key` here.
    let _ = key.expose_secret();
    shop.refunds.lock().unwrap().push(order_id.clone());
    Ok(format!(
        "refunded {amount_cents} cents on {order_id} for {}",
        ctx.user().id
    ))
}

fn show(label: &str, result: Result<serde_json::Value, ToolError>) {
    match result {
        Ok(value) => println!("✔ {label}\n    → {value}"),
        Err(error) => println!("✘ {label}\n    → {error}"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dispatcher = Dispatcher::builder()
        .tool::<ListOrders>()
        .tool::<RefundOrder>()
        .state(Shop::default())
        .secrets(MemorySecretStore::new().with("stripe_api_key", "sk_test_example_only_0000000000"))
        .build()
        .await?;

    println!("The model sees these tools:");
    for schema in dispatcher.schemas() {
        println!("  {}: {}", schema.name, schema.parameters);
    }
    println!();

    let alice = UserIdentity::new("alice").with_tenant("acme");
    let run = RunId::new();
    let call = |step| CallContext::new(run, step, "support", alice.clone());

    show(
        "list_orders {limit: 2}",
        dispatcher
            .dispatch(&call(1), "list_orders", r#"{"limit": 2}"#)
            .await,
    );
    show(
        "list_orders with a string limit",
        dispatcher
            .dispatch(&call(2), "list_orders", r#"{"limit": "two"}"#)
            .await,
    );
    show(
        "list_orders naming another user",
        dispatcher
            .dispatch(&call(3), "list_orders", r#"{"limit": 2, "user_id": "bob"}"#)
            .await,
    );
    show(
        "an unknown tool",
        dispatcher.dispatch(&call(4), "list_order", "{}").await,
    );

    let refund = r#"{"order_id": "ord_1", "amount_cents": 1000}"#;
    let pending = call(5);
    show(
        "refund_order without approval",
        dispatcher.dispatch(&pending, "refund_order", refund).await,
    );
    let approval = ApprovalProof::new("refund_order", pending.call_id, refund, "bob@support");
    show(
        "refund_order approved by bob@support",
        dispatcher
            .dispatch(
                &pending.clone().with_approval(approval),
                "refund_order",
                refund,
            )
            .await,
    );
    Ok(())
}
