//! The engine, driven by the scripted model: answers, tool calls (one and
//! several per turn), refusals, policy denials, limits, budgets, and runs
//! paused for approval and resumed.

mod common;

use std::sync::Arc;

use agentsec::engine::{
    AgentRuntime, CallStatus, Checkpoints, HaltReason, MemoryCheckpoints, Phase, RunOutcome,
};
use agentsec::hitl::ApprovalDecision;
use agentsec::model::{Message, ScriptedModel, ScriptedReply, Usage};
use agentsec::permission::{Decision, Policy, PolicyRequest};
use agentsec::prelude::*;
use agentsec::secrets::MemorySecretStore;
use agentsec::trace::{CollectingSink, EventBus, SecurityEvent};
use common::*;
use serde_json::json;

#[agent(
    name = "support",
    prompt = "You help the signed-in customer with their orders.",
    tools(list_orders, refund_order, add),
    max_iterations = 4,
    budget(tokens = 1_000, tool_calls = 5)
)]
pub struct SupportAgent;

fn secrets() -> MemorySecretStore {
    MemorySecretStore::new().with("stripe_api_key", "sk_test_abcdefghijklmnop123456")
}

async fn runtime(model: ScriptedModel) -> AgentRuntime<SupportAgent> {
    AgentRuntime::<SupportAgent>::builder()
        .model(model)
        .state(Shop::default())
        .secrets(secrets())
        .build()
        .await
        .unwrap()
}

fn alice() -> UserIdentity {
    UserIdentity::new("alice").with_tenant("acme")
}

fn tool_results(messages: &[Message]) -> Vec<(String, String, bool)> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Tool {
                name,
                content,
                is_error,
                ..
            } => Some((name.clone(), content.clone(), *is_error)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_plain_answer_completes_the_run() {
    let model = ScriptedModel::new([ScriptedReply::text("Hello!").with_usage(Usage::new(10, 2))]);
    let rt = runtime(model.clone()).await;
    let report = rt.start(alice(), "Hi").await.unwrap();
    assert_eq!(
        report.outcome,
        RunOutcome::Completed {
            answer: "Hello!".into()
        }
    );
    assert_eq!(report.state.spend.tokens(), 12);
    let request = model.last_request().unwrap();
    assert_eq!(
        request.system,
        "You help the signed-in customer with their orders."
    );
    assert_eq!(request.tools.len(), 3);
    assert!(
        request
            .tools
            .iter()
            .all(|t| t.parameters["additionalProperties"] == false)
    );
}

#[tokio::test]
async fn one_tool_call_then_an_answer() {
    let model = ScriptedModel::new([
        ScriptedReply::tool_call("list_orders", json!({"limit": 2})),
        ScriptedReply::text("You have two orders."),
    ]);
    let rt = runtime(model.clone()).await;
    let report = rt.start(alice(), "What did I order?").await.unwrap();
    assert_eq!(
        report.outcome,
        RunOutcome::Completed {
            answer: "You have two orders.".into()
        }
    );
    let results = tool_results(&report.state.messages);
    assert_eq!(results.len(), 1);
    assert!(!results[0].2);
    assert!(
        results[0].1.contains("\"owner\":\"alice\""),
        "{}",
        results[0].1
    );
    // The second request carried the tool result back to the model.
    let second = &model.requests()[1];
    assert!(matches!(second.messages.last(), Some(Message::Tool { .. })));
    assert_eq!(report.state.spend.tool_calls, 1);
}

#[tokio::test]
async fn several_tool_calls_in_one_turn_all_run_in_order() {
    let model = ScriptedModel::new([
        ScriptedReply::tool_calls([
            ("add", json!({"a": 1, "b": 2})),
            ("add", json!({"a": 10, "b": 20})),
            ("list_orders", json!({"limit": 1})),
        ]),
        ScriptedReply::text("Done."),
    ]);
    let rt = runtime(model).await;
    let report = rt.start(alice(), "Sum things").await.unwrap();
    let results = tool_results(&report.state.messages);
    assert_eq!(
        results
            .iter()
            .map(|r| r.1.as_str())
            .take(2)
            .collect::<Vec<_>>(),
        ["3", "30"]
    );
    assert_eq!(results.len(), 3);
    assert_eq!(report.state.spend.tool_calls, 3);
    // Each call got its own step number.
    assert!(report.state.step >= 5);
}

#[tokio::test]
async fn unknown_tools_and_bad_arguments_go_back_to_the_model() {
    let events = CollectingSink::default();
    let model = ScriptedModel::new([
        ScriptedReply::tool_calls([
            ("delete_everything", json!({})),
            ("list_orders", json!({"limit": "many"})),
            ("list_orders", json!({"limit": 1, "user_id": "bob"})),
        ]),
        ScriptedReply::tool_call("list_orders", "{not json"),
        ScriptedReply::text("Sorry."),
    ]);
    let rt = AgentRuntime::<SupportAgent>::builder()
        .model(model)
        .state(Shop::default())
        .secrets(secrets())
        .events(EventBus::default().with(events.clone()))
        .build()
        .await
        .unwrap();
    let report = rt.start(alice(), "Do it").await.unwrap();
    assert_eq!(
        report.outcome,
        RunOutcome::Completed {
            answer: "Sorry.".into()
        }
    );
    let results = tool_results(&report.state.messages);
    assert_eq!(results.len(), 4);
    assert!(results.iter().all(|r| r.2), "all are errors: {results:?}");
    assert!(results[0].1.contains("unknown tool `delete_everything`"));
    assert!(results[1].1.contains("field `limit`"));
    assert!(results[2].1.contains("field `user_id`"));
    assert!(results[3].1.contains("not valid JSON"));
    // Nothing ran.
    assert_eq!(report.state.spend.tool_calls, 0);
    let refused = events
        .events()
        .iter()
        .filter(|e| matches!(e, SecurityEvent::ToolRefused { .. }))
        .count();
    assert_eq!(refused, 4);
}

struct DenyAdd;
impl Policy for DenyAdd {
    async fn decide(&self, request: &PolicyRequest<'_>) -> Decision {
        if request.tool.name == "add" {
            Decision::deny("arithmetic is not allowed today")
        } else {
            Decision::Allow
        }
    }
}

#[tokio::test]
async fn a_denied_call_is_refused_with_the_policy_reason() {
    let events = CollectingSink::default();
    let model = ScriptedModel::new([
        ScriptedReply::tool_call("add", json!({"a": 1, "b": 1})),
        ScriptedReply::text("I may not add."),
    ]);
    let rt = AgentRuntime::<SupportAgent>::builder()
        .model(model)
        .state(Shop::default())
        .secrets(secrets())
        .policy(DenyAdd)
        .events(EventBus::default().with(events.clone()))
        .build()
        .await
        .unwrap();
    let report = rt.start(alice(), "1+1?").await.unwrap();
    let results = tool_results(&report.state.messages);
    assert_eq!(
        results[0].1,
        "denied by policy: arithmetic is not allowed today"
    );
    assert!(
        events
            .events()
            .iter()
            .any(|e| matches!(e, SecurityEvent::PermissionDenied { tool, .. } if tool == "add"))
    );
    assert_eq!(report.state.spend.tool_calls, 0);
}

#[tokio::test]
async fn max_iterations_halts_a_looping_model() {
    let replies = (0..10).map(|_| ScriptedReply::tool_call("add", json!({"a": 1, "b": 1})));
    let model = ScriptedModel::new(replies);
    let rt = AgentRuntime::<SupportAgent>::builder()
        .model(model.clone())
        .state(Shop::default())
        .secrets(secrets())
        .build()
        .await
        .unwrap();
    let report = rt.start(alice(), "Loop").await.unwrap();
    // The tool_calls cap (5) is above max_iterations (4): the iteration limit stops the run.
    assert_eq!(
        report.outcome,
        RunOutcome::Halted {
            reason: HaltReason::MaxIterations { limit: 4 }
        }
    );
    assert_eq!(model.played(), 4);
}

#[tokio::test]
async fn the_token_budget_halts_the_run_and_warns_first() {
    let events = CollectingSink::default();
    let model = ScriptedModel::new([
        ScriptedReply::tool_call("add", json!({"a": 1, "b": 1})).with_usage(Usage::new(500, 350)),
        ScriptedReply::tool_call("add", json!({"a": 1, "b": 1})).with_usage(Usage::new(300, 10)),
        ScriptedReply::text("never reached"),
    ]);
    let rt = AgentRuntime::<SupportAgent>::builder()
        .model(model.clone())
        .state(Shop::default())
        .secrets(secrets())
        .events(EventBus::default().with(events.clone()))
        .build()
        .await
        .unwrap();
    let report = rt.start(alice(), "Spend").await.unwrap();
    match report.outcome {
        RunOutcome::Halted {
            reason: HaltReason::Budget { cap, spent, limit },
        } => {
            assert_eq!(cap, "tokens");
            assert_eq!(limit, 1000.0);
            assert_eq!(spent, 1160.0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(model.played(), 2);
    let kinds: Vec<_> = events.events().iter().map(|e| e.kind()).collect();
    assert!(kinds.contains(&"budget_warning"), "{kinds:?}");
    assert!(kinds.contains(&"run_halted"));
}

#[tokio::test]
async fn the_tool_call_budget_halts_before_the_sixth_call() {
    let model = ScriptedModel::new([
        ScriptedReply::tool_calls((0..7).map(|i| ("add", json!({"a": i, "b": 0})))),
        ScriptedReply::text("never reached"),
    ]);
    let rt = runtime(model).await;
    let report = rt.start(alice(), "Many").await.unwrap();
    assert!(matches!(
        report.outcome,
        RunOutcome::Halted { reason: HaltReason::Budget { ref cap, .. } } if cap == "tool_calls"
    ));
    assert_eq!(report.state.spend.tool_calls, 5);
}

#[tokio::test]
async fn an_irreversible_call_pauses_the_run_until_approved() {
    let model = ScriptedModel::new([
        ScriptedReply::tool_calls([
            ("list_orders", json!({"limit": 1})),
            (
                "refund_order",
                json!({"order_id": "o0", "amount_cents": 700}),
            ),
        ]),
        ScriptedReply::text("Your refund went through."),
    ]);
    let checkpoints: Arc<dyn Checkpoints> = Arc::new(MemoryCheckpoints::new());
    let events = CollectingSink::default();
    let build = |model: ScriptedModel| {
        let checkpoints = checkpoints.clone();
        let events = events.clone();
        async move {
            AgentRuntime::<SupportAgent>::builder()
                .model(model)
                .state(Shop::default())
                .secrets(secrets())
                .checkpoints_arc(checkpoints)
                .events(EventBus::default().with(events))
                .build()
                .await
                .unwrap()
        }
    };
    let first = build(model.clone()).await;
    let report = first.start(alice(), "Refund order o0").await.unwrap();
    let pending = match &report.outcome {
        RunOutcome::AwaitingApproval { pending } => pending.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].tool, "refund_order");
    // The read ran; the refund did not.
    assert_eq!(report.state.spend.tool_calls, 1);
    assert_eq!(model.played(), 1);

    // Resuming without a decision on a finished or unknown call is refused.
    assert!(
        first
            .resume(
                report.run_id,
                [ApprovalDecision::approve(
                    CallId::new(),
                    UserIdentity::new("bob")
                )]
            )
            .await
            .is_err()
    );

    // Another runtime (think: another process) sharing the checkpoints approves and finishes it.
    let second = build(model.clone()).await;
    let done = second
        .resume(
            report.run_id,
            [ApprovalDecision::approve(
                pending[0].call_id,
                UserIdentity::new("bob"),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        done.outcome,
        RunOutcome::Completed {
            answer: "Your refund went through.".into()
        }
    );
    let refund = done.state.messages.iter().find_map(|m| match m {
        Message::Tool { name, content, .. } if name == "refund_order" => Some(content.clone()),
        _ => None,
    });
    assert_eq!(refund.as_deref(), Some("refunded 700 on o0"));
    let shop_refunds = second.dispatcher().spec("refund_order").is_some();
    assert!(shop_refunds);
    let kinds: Vec<_> = events.events().iter().map(|e| e.kind()).collect();
    assert!(
        kinds.contains(&"approval_requested") && kinds.contains(&"approval_granted"),
        "{kinds:?}"
    );

    // A finished run cannot be resumed again.
    assert!(second.resume(report.run_id, []).await.is_err());
}

#[tokio::test]
async fn a_rejected_call_is_reported_to_the_model_and_never_runs() {
    let model = ScriptedModel::new([
        ScriptedReply::tool_call("refund_order", json!({"order_id": "o9", "amount_cents": 1})),
        ScriptedReply::text("The refund was rejected."),
    ]);
    let rt = runtime(model.clone()).await;
    let report = rt.start(alice(), "Refund o9").await.unwrap();
    let RunOutcome::AwaitingApproval { pending } = report.outcome else {
        panic!()
    };
    let done = rt
        .resume(
            report.run_id,
            [ApprovalDecision::reject(
                pending[0].call_id,
                UserIdentity::new("bob"),
                "not eligible",
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        done.outcome,
        RunOutcome::Completed {
            answer: "The refund was rejected.".into()
        }
    );
    let results = tool_results(&done.state.messages);
    assert_eq!(
        results,
        vec![(
            "refund_order".into(),
            "a person (bob) rejected this call: not eligible".into(),
            true
        )]
    );
    assert_eq!(done.state.spend.tool_calls, 0);
    assert!(matches!(
        done.state.pending.first().map(|c| &c.status),
        None | Some(CallStatus::Rejected { .. })
    ));
}

#[tokio::test]
async fn a_model_failure_fails_the_run_without_an_error() {
    let model = ScriptedModel::new([]);
    let rt = runtime(model).await;
    let report = rt.start(alice(), "Hi").await.unwrap();
    assert!(
        matches!(report.outcome, RunOutcome::Failed { ref error } if error.contains("model provider failed"))
    );
    assert!(matches!(report.state.phase, Phase::Failed { .. }));
}

#[tokio::test]
async fn every_state_round_trips_through_json() {
    let model = ScriptedModel::new([ScriptedReply::tool_call(
        "refund_order",
        json!({"order_id": "o1", "amount_cents": 5}),
    )]);
    let rt = runtime(model).await;
    let report = rt.start(alice(), "Refund").await.unwrap();
    let text = serde_json::to_string(&report.state).unwrap();
    let back: agentsec::engine::RunState = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report.state);
    assert!(
        !text.contains("sk_test_"),
        "the secret value never enters the state"
    );
}

#[tokio::test]
async fn a_runtime_without_a_model_is_refused() {
    let result = AgentRuntime::<SupportAgent>::builder()
        .state(Shop::default())
        .secrets(secrets())
        .build()
        .await;
    assert!(result.is_err());
}
