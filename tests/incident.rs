//! An incident investigation from the store alone: after a run has finished
//! and its process is gone, every part of "at step N of run X, tool Y was
//! called by agent Z for user U with these (redacted) arguments, returned
//! this, and the policy decided that" is answered from what was persisted.

mod common;

use std::sync::Arc;

use agentsec::engine::{AgentRuntime, RunOutcome, RunState, StoreCheckpoints};
use agentsec::hitl::{Approvals, DecisionSigner};
use agentsec::model::{Message, ScriptedModel, ScriptedReply};
use agentsec::permission::{Decision, DefaultPolicy, Policy, PolicyRequest};
use agentsec::prelude::*;
use agentsec::secrets::MemorySecretStore;
use agentsec::store::{RunStore, SqliteStore};
use common::*;
use serde_json::{Value, json};

#[agent(
    name = "support",
    prompt = "You help the signed-in customer with their orders.",
    tools(list_orders, refund_order),
    max_iterations = 6,
    budget(tokens = 10_000)
)]
pub struct SupportAgent;

/// Large refunds are not for an agent to propose.
struct RefundLimit;
impl Policy for RefundLimit {
    async fn decide(&self, request: &PolicyRequest<'_>) -> Decision {
        if request.tool.name == "refund_order"
            && request.arguments["amount_cents"].as_u64().unwrap_or(0) > 10_000
        {
            return Decision::deny("refunds above 100.00 need a human agent");
        }
        DefaultPolicy::new().decide_now(request)
    }
}

/// One line of the incident sentence, read back from the store.
struct Finding {
    step: u64,
    tool: String,
    agent: String,
    user: String,
    arguments: String,
    returned: String,
    decision: Value,
    outcome: Value,
    approver: Option<String>,
    grant_jti: Option<String>,
}

async fn reconstruct(store: &dyn RunStore, run_id: RunId) -> Vec<Finding> {
    let record = store.get_run(run_id).await.unwrap();
    let state: RunState = serde_json::from_value(record.state.clone()).unwrap();
    let results: Vec<(String, String)> = state
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::Tool {
                call_id, content, ..
            } => Some((call_id.clone(), content.clone())),
            _ => None,
        })
        .collect();
    // The last record of each call across the steps is its final word; who
    // approved it is on the record of the step that approved it.
    let mut calls: Vec<Value> = Vec::new();
    for step in store.list_steps(run_id).await.unwrap() {
        for mut call in step.data["calls"].as_array().cloned().unwrap_or_default() {
            if let Some(earlier) = calls.iter().find(|c| c["call_id"] == call["call_id"])
                && call["approver"].is_null()
            {
                call["approver"] = earlier["approver"].clone();
            }
            calls.retain(|c| c["call_id"] != call["call_id"]);
            calls.push(call);
        }
    }
    calls
        .into_iter()
        .map(|c| Finding {
            step: c["step"].as_u64().unwrap_or(0),
            tool: c["tool"].as_str().unwrap_or("").to_owned(),
            agent: record.agent.clone(),
            user: record.user_id.clone(),
            arguments: c["arguments"].as_str().unwrap_or("").to_owned(),
            returned: results
                .iter()
                .find(|(id, _)| Some(id.as_str()) == c["model_call_id"].as_str())
                .map(|(_, r)| r.clone())
                .unwrap_or_default(),
            decision: c["decision"].clone(),
            outcome: c["outcome"].clone(),
            approver: c["approver"].as_str().map(str::to_owned),
            grant_jti: c["grant_jti"].as_str().map(str::to_owned),
        })
        .collect()
}

#[tokio::test]
async fn a_finished_run_is_reconstructed_from_the_store_alone() {
    let path = std::env::temp_dir().join(format!("agentsec-incident-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let run_id = {
        let store: Arc<dyn RunStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
        let checkpoints = Arc::new(
            StoreCheckpoints::new(store.clone())
                .with_owner("app")
                .with_approval_key(DecisionSigner::new(vec![7; 32]).unwrap()),
        );
        let model = ScriptedModel::new([
            ScriptedReply::tool_call("list_orders", json!({"limit": 2})),
            ScriptedReply::tool_call(
                "refund_order",
                json!({"order_id": "o1", "amount_cents": 50_000}),
            ),
            ScriptedReply::tool_call(
                "refund_order",
                json!({"order_id": "o1", "amount_cents": 900}),
            ),
            ScriptedReply::text("Refunded 9.00 on o1."),
        ]);
        let runtime = AgentRuntime::<SupportAgent>::builder()
            .model(model)
            .state(Shop::default())
            .secrets(
                MemorySecretStore::new().with("stripe_api_key", "sk_test_abcdefghijklmnop123456"),
            )
            .policy(RefundLimit)
            .checkpoints_arc(checkpoints.clone())
            .build()
            .await
            .unwrap();
        let report = runtime
            .start(UserIdentity::new("alice").with_tenant("acme"), "Refund o1")
            .await
            .unwrap();
        assert!(matches!(
            report.outcome,
            RunOutcome::AwaitingApproval { .. }
        ));
        let approvals = Approvals::new(&checkpoints, DecisionSigner::new(vec![7; 32]).unwrap());
        let pending = approvals.pending(None, None).await.unwrap();
        approvals
            .approve(pending[0].id, &UserIdentity::new("bob").with_tenant("acme"))
            .await
            .unwrap();
        let done = approvals.resume(&runtime, report.run_id).await.unwrap();
        assert!(matches!(done.outcome, RunOutcome::Completed { .. }));
        report.run_id
    };

    // The application is gone; an investigator opens the file.
    let store = SqliteStore::open(&path).await.unwrap();
    let findings = reconstruct(&store, run_id).await;
    assert_eq!(findings.len(), 3, "three calls were proposed");
    let sentence = |f: &Finding| {
        format!(
            "at step {} of run {run_id}, tool {} was called by agent {} for user {} with {}, returned {:?}, and the policy decided: {}{}",
            f.step,
            f.tool,
            f.agent,
            f.user,
            f.arguments,
            f.returned,
            f.decision,
            f.approver
                .as_ref()
                .map(|a| format!(" (approved by {a})"))
                .unwrap_or_default()
        )
    };
    for f in &findings {
        println!("{}", sentence(f));
        assert!(f.step > 0, "{}", sentence(f));
        assert_eq!((f.agent.as_str(), f.user.as_str()), ("support", "alice"));
        assert!(
            !f.arguments.is_empty() && !f.returned.is_empty() && f.decision.is_object(),
            "{}",
            sentence(f)
        );
    }
    let list = &findings[0];
    assert_eq!(list.tool, "list_orders");
    assert_eq!(list.decision, json!({"decision": "allowed"}));
    assert_eq!(list.outcome, json!({"outcome": "ok"}));
    assert!(list.returned.contains("\"owner\":\"alice\""));
    assert!(
        list.grant_jti.as_deref().is_some_and(|j| j.len() >= 16),
        "the grant's id is recorded"
    );

    let denied = &findings[1];
    assert_eq!(denied.tool, "refund_order");
    assert!(denied.arguments.contains("50000"));
    assert_eq!(
        denied.decision,
        json!({
            "decision": "denied_by_policy",
            "policy": "RefundLimit",
            "reason": "refunds above 100.00 need a human agent"
        })
    );
    assert!(
        denied.grant_jti.is_none(),
        "a denied call never got a grant"
    );

    let refunded = &findings[2];
    assert_eq!(refunded.decision["decision"], "needs_approval");
    assert_eq!(
        refunded.decision["reasons"][0],
        json!({"kind": "irreversible", "reason": "`refund_order` cannot be undone: moves money"}),
        "{}",
        refunded.decision
    );
    assert_eq!(refunded.outcome, json!({"outcome": "ok"}));
    assert_eq!(refunded.approver.as_deref(), Some("bob"));
    assert_eq!(refunded.returned, "refunded 900 on o1");
    assert!(refunded.grant_jti.is_some());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
