//! Single tool calls through the guarded path, shared by
//! `examples/tool_calls.rs` and its test: a well-formed call, malformed
//! arguments, an identity the model tried to supply, an unknown tool, and an
//! irreversible call without and with an approval.

use agentsec::ApprovalProof;
use agentsec::prelude::*;
use agentsec::secrets::MemorySecretStore;

use crate::shop::{ListOrders, RefundOrder, Shop};
use std::io::Write;

fn show(
    out: &mut dyn Write,
    label: &str,
    result: Result<serde_json::Value, ToolError>,
) -> std::io::Result<bool> {
    match result {
        Ok(value) => writeln!(out, "✔ {label}\n    → {value}").map(|_| true),
        Err(error) => writeln!(out, "✘ {label}\n    → {error}").map(|_| false),
    }
}

/// Dispatches the calls and narrates to `out`; returns which calls succeeded, in order.
pub async fn run(out: &mut dyn Write) -> Result<Vec<bool>, Box<dyn std::error::Error>> {
    let mut outcomes = Vec::new();
    let dispatcher = Dispatcher::builder()
        .tool::<ListOrders>()
        .tool::<RefundOrder>()
        .state(Shop::default())
        .secrets(MemorySecretStore::new().with("stripe_api_key", "sk_test_example_only_0000000000"))
        .build()
        .await?;

    writeln!(out, "The model sees these tools:")?;
    for schema in dispatcher.schemas() {
        writeln!(out, "  {}: {}", schema.name, schema.parameters)?;
    }
    writeln!(out)?;

    let alice = UserIdentity::new("alice").with_tenant("acme");
    let run = RunId::new();
    let call = |step| CallContext::new(run, step, "support", alice.clone());

    outcomes.push(show(
        out,
        "list_orders {limit: 2}",
        dispatcher
            .dispatch(&call(1), "list_orders", r#"{"limit": 2}"#)
            .await,
    )?);
    outcomes.push(show(
        out,
        "list_orders with a string limit",
        dispatcher
            .dispatch(&call(2), "list_orders", r#"{"limit": "two"}"#)
            .await,
    )?);
    outcomes.push(show(
        out,
        "list_orders naming another user",
        dispatcher
            .dispatch(&call(3), "list_orders", r#"{"limit": 2, "user_id": "bob"}"#)
            .await,
    )?);
    outcomes.push(show(
        out,
        "an unknown tool",
        dispatcher.dispatch(&call(4), "list_order", "{}").await,
    )?);

    let refund = r#"{"order_id": "ord_1001", "amount_cents": 1000}"#;
    let pending = call(5);
    outcomes.push(show(
        out,
        "refund_order without approval",
        dispatcher.dispatch(&pending, "refund_order", refund).await,
    )?);
    let approval = ApprovalProof::new("refund_order", pending.call_id, refund, "bob@support");
    outcomes.push(show(
        out,
        "refund_order approved by bob@support",
        dispatcher
            .dispatch(
                &pending.clone().with_approval(approval),
                "refund_order",
                refund,
            )
            .await,
    )?);
    Ok(outcomes)
}
