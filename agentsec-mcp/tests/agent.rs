//! An agent's tools served over MCP: its name, its tools only, its
//! permissions, and its pending approvals.

mod support;

use std::sync::Arc;

use agentsec::engine::{AgentRuntime, StoreCheckpoints};
use agentsec::hitl::{Approvals, DecisionSigner};
use agentsec::model::ScriptedModel;
use agentsec::prelude::*;
use agentsec::store::{MemoryStore, RunStore};
use agentsec_mcp::{ApprovalDesk, McpServer};
use serde_json::json;
use support::{Bank, LookupOrder, Refund};

#[agent(
    name = "support",
    prompt = "You help the signed-in customer with their orders.",
    tools(lookup_order, refund),
    max_iterations = 4,
    budget(tokens = 1_000, tool_calls = 5)
)]
pub struct SupportAgent;

#[tokio::test]
async fn an_agents_tools_are_served_under_its_name() {
    let bank = Arc::new(Bank::default());
    let runtime = AgentRuntime::<SupportAgent>::builder()
        .model(ScriptedModel::new([]))
        .state_arc(bank.clone())
        .build()
        .await
        .unwrap();
    let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
    let checkpoints = StoreCheckpoints::new(store);
    let approvals = Approvals::new(&checkpoints, DecisionSigner::new(vec![1; 32]).unwrap());
    let server = McpServer::builder(Arc::new(runtime))
        .approvals(ApprovalDesk::new(
            checkpoints,
            DecisionSigner::new(vec![1; 32]).unwrap(),
        ))
        .build();
    assert_eq!(server.name(), "support");
    let names: Vec<&str> = server.tools().iter().map(|t| t.name.as_ref()).collect();
    // The agent's tools, not the test support's third one.
    assert_eq!(names, ["lookup_order", "refund"]);

    let alice = UserIdentity::new("alice");
    let args = json!({"order_id": "o-1", "amount_cents": 5});
    let pending = server
        .call(&alice, "refund", args.as_object().cloned(), None)
        .await;
    assert_eq!(pending.is_error, Some(true));
    // Waiting among the agent's approvals.
    let waiting = approvals
        .pending(Some("support"), Some("alice"))
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(bank.refunds(), 0);
}
