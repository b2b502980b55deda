//! The application's policy decides MCP calls as it decides an agent's:
//! a denial is an error result and the tool does not run; a policy that asks
//! for a person makes even a reversible tool wait for approval.

mod support;

use std::sync::Arc;

use agentsec::engine::StoreCheckpoints;
use agentsec::hitl::{Approvals, DecisionSigner};
use agentsec::policy::{Decision, Policy, PolicyRequest};
use agentsec::prelude::*;
use agentsec::store::{MemoryStore, RunStore};
use agentsec_mcp::{ApprovalDesk, McpServer};
use serde_json::json;
use support::{Bank, LookupOrder, Refund};

/// Mallory may do nothing; every order lookup needs a person.
struct Strict;

impl Policy for Strict {
    async fn decide(&self, request: &PolicyRequest<'_>) -> Decision {
        if request.user.id == "mallory" {
            return Decision::Deny {
                reason: "mallory is suspended".into(),
            };
        }
        if request.tool.name == "lookup_order" {
            return Decision::RequireApproval {
                reason: "order lookups are reviewed".into(),
            };
        }
        Decision::Allow
    }
}

#[tokio::test]
async fn the_policy_denies_and_asks_for_approval_over_mcp() {
    let bank = Arc::new(Bank::default());
    let dispatcher = Dispatcher::builder()
        .tool::<LookupOrder>()
        .tool::<Refund>()
        .state_arc(bank.clone())
        .policy(Strict)
        .build()
        .await
        .unwrap();
    let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
    let checkpoints = StoreCheckpoints::new(store);
    let approvals = Approvals::new(&checkpoints, DecisionSigner::new(vec![3; 32]).unwrap());
    let server = McpServer::builder(Arc::new(dispatcher))
        .name("shop")
        .approvals(ApprovalDesk::new(
            checkpoints,
            DecisionSigner::new(vec![3; 32]).unwrap(),
        ))
        .build();

    let refund = json!({"order_id": "o-1", "amount_cents": 5});
    let denied = server
        .call(
            &UserIdentity::new("mallory"),
            "refund",
            refund.as_object().cloned(),
            None,
        )
        .await;
    assert_eq!(denied.is_error, Some(true));
    let text = &denied.content[0].as_text().unwrap().text;
    assert!(text.contains("mallory is suspended"), "{text}");
    assert!(
        denied.structured_content.is_none(),
        "no approval for a denied call"
    );

    let lookup = json!({"order_id": "o-1"});
    let alice = UserIdentity::new("alice");
    let first = server
        .call(&alice, "lookup_order", lookup.as_object().cloned(), None)
        .await;
    assert_eq!(first.is_error, Some(true));
    let structured = first.structured_content.unwrap();
    assert_eq!(structured["reason"], "order lookups are reviewed");
    let id = structured["approval_id"].clone();
    approvals
        .approve(
            uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap(),
            &UserIdentity::new("bob"),
        )
        .await
        .unwrap();
    let second = server
        .call(
            &alice,
            "lookup_order",
            lookup.as_object().cloned(),
            Some(&id),
        )
        .await;
    assert_eq!(second.is_error, Some(false), "{second:?}");
    assert_eq!(second.structured_content.unwrap()["owner"], "alice");
    assert_eq!(bank.refunds(), 0);
}
