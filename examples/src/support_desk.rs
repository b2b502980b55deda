//! The support desk scenario, shared by `examples/support_desk.rs` and its test.

use std::io::Write;
use std::sync::{Arc, Mutex};

use agentsec::engine::{AgentRuntime, RunOutcome, RunReport};
use agentsec::hitl::ApprovalDecision;
use agentsec::model::{ScriptedModel, ScriptedReply, Usage};
use agentsec::prelude::*;
use agentsec::secrets::MemorySecretStore;
use agentsec::trace::{EventBus, EventEnvelope, EventSink, SecurityEvent};
use serde_json::json;

use crate::shop::{Shop, SupportAgent};

/// Prints each security event as one JSON line, and keeps them.
#[derive(Clone, Default)]
pub struct EventLog(Arc<Mutex<Vec<SecurityEvent>>>);

impl EventLog {
    /// The events so far.
    pub fn events(&self) -> Vec<SecurityEvent> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl EventSink for EventLog {
    fn publish(&self, envelope: &EventEnvelope) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(envelope.event.clone());
    }
}

/// What the scenario did.
pub struct DeskReport {
    /// The run after it completed.
    pub done: RunReport,
    /// The shop, to inspect the refunds.
    pub shop: Arc<Shop>,
    /// The security events published.
    pub events: Vec<SecurityEvent>,
}

/// Plays the support desk: Alice asks about a damaged order, the agent
/// looks her orders up, proposes a refund, the run pauses, a lead approves,
/// the run resumes and completes. Narrates to `out`.
pub async fn run(out: &mut dyn Write) -> Result<DeskReport, Box<dyn std::error::Error>> {
    // The model is scripted, so the scenario needs no network and no key.
    let model = ScriptedModel::new([
        ScriptedReply::tool_call("list_orders", json!({"limit": 5}))
            .with_usage(Usage::new(420, 18)),
        ScriptedReply::tool_call(
            "refund_order",
            json!({"order_id": "ord_1002", "amount_cents": 12_500}),
        )
        .with_usage(Usage::new(610, 25)),
        ScriptedReply::text("I've refunded order ord_1002 (125.00) to your card.")
            .with_usage(Usage::new(700, 20)),
    ]);
    let shop = Arc::new(Shop::default());
    let log = EventLog::default();
    let runtime = AgentRuntime::<SupportAgent>::builder()
        .model(model)
        .state_arc(shop.clone())
        .secrets(MemorySecretStore::new().with("stripe_api_key", "sk_test_example_only_4242424242"))
        .events(EventBus::default().with(log.clone()))
        .build()
        .await?;

    let question = "My order ord_1002 arrived damaged, can I get a refund?";
    writeln!(out, "alice: {question}")?;
    let report = runtime
        .start(UserIdentity::new("alice").with_tenant("acme"), question)
        .await?;
    let pending = match report.outcome {
        RunOutcome::AwaitingApproval { pending } => pending,
        other => return Err(format!("expected a pause for approval, got {other:?}").into()),
    };
    for call in &pending {
        writeln!(
            out,
            "run {} paused: `{}` {} needs approval",
            report.run_id, call.tool, call.arguments
        )?;
    }
    if !shop.refunds().is_empty() {
        return Err("money moved before the approval".into());
    }

    let lead = UserIdentity::new("lead@support").with_roles(["support-lead"]);
    writeln!(out, "lead@support approves.")?;
    let decisions = pending
        .iter()
        .map(|c| ApprovalDecision::approve(c.call_id, lead.clone()));
    let done = runtime.resume(report.run_id, decisions).await?;
    match &done.outcome {
        RunOutcome::Completed { answer } => writeln!(out, "support: {answer}")?,
        other => return Err(format!("the run did not complete: {other:?}").into()),
    }
    for event in log.events() {
        writeln!(
            out,
            "  event: {}",
            serde_json::to_string(&event).unwrap_or_default()
        )?;
    }
    let spend = done.state.spend;
    writeln!(
        out,
        "refunds made: {:?}\ntokens: {} in, {} out; tool calls: {}; model calls: {}; prompt version {}",
        shop.refunds(),
        spend.input_tokens,
        spend.output_tokens,
        spend.tool_calls,
        spend.model_calls,
        done.state.prompt_version,
    )?;
    Ok(DeskReport {
        done,
        shop,
        events: log.events(),
    })
}
