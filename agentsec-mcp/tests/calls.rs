//! `tools/call` through the one pipeline: read tools run, untrusted output
//! comes back spotlighted, an irreversible tool waits for a person and then
//! runs exactly once.

mod support;

use agentsec::hitl::ApprovalPolicy;
use agentsec::identity::UserIdentity;
use agentsec_mcp::APPROVAL_META_KEY;
use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use support::{INJECTION, fixture, fixture_with_policy};

fn args(value: Value) -> Option<rmcp::model::JsonObject> {
    value.as_object().cloned()
}

fn text(result: &CallToolResult) -> &str {
    &result.content[0].as_text().expect("text content").text
}

fn alice() -> UserIdentity {
    UserIdentity::new("alice")
}

#[test]
fn tools_are_listed_with_their_schemas_and_annotations_from_the_declared_effects() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fx = runtime.block_on(fixture());
    let tools = fx.server.tools();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["fetch_page", "lookup_order", "refund"]);

    let refund = &tools[2];
    assert_eq!(
        refund.description.as_deref(),
        Some("Refund an order to the customer's card.")
    );
    let hints = refund.annotations.as_ref().unwrap();
    assert_eq!(hints.read_only_hint, Some(false));
    assert_eq!(hints.destructive_hint, Some(true));
    assert_eq!(hints.idempotent_hint, Some(false));
    assert_eq!(hints.open_world_hint, Some(false));
    // The schema the model sees, strict: no other properties.
    assert_eq!(refund.input_schema["additionalProperties"], false);
    assert_eq!(
        refund.input_schema["required"],
        json!(["amount_cents", "order_id"])
    );

    let lookup = tools[1].annotations.as_ref().unwrap();
    assert_eq!(lookup.read_only_hint, Some(true));
    assert_eq!(lookup.destructive_hint, Some(false));
    assert_eq!(lookup.idempotent_hint, Some(true));
    assert_eq!(lookup.open_world_hint, Some(false));

    let fetch = tools[0].annotations.as_ref().unwrap();
    assert_eq!(fetch.read_only_hint, Some(true));
    assert_eq!(fetch.open_world_hint, Some(true));
}

#[tokio::test]
async fn a_read_tool_runs_for_the_caller() {
    let fx = fixture().await;
    let result = fx
        .server
        .call(
            &alice(),
            "lookup_order",
            args(json!({"order_id": "o-1"})),
            None,
        )
        .await;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    let value = result.structured_content.unwrap();
    // The identity comes from the caller, never from the arguments.
    assert_eq!(value["owner"], "alice");
    assert_eq!(value["order_id"], "o-1");
}

#[tokio::test]
async fn bad_arguments_and_unknown_tools_are_error_results_from_the_pipeline() {
    let fx = fixture().await;
    let unknown_field = fx
        .server
        .call(
            &alice(),
            "lookup_order",
            args(json!({"order_id": "o-1", "user_id": "bob"})),
            None,
        )
        .await;
    assert_eq!(unknown_field.is_error, Some(true));
    assert!(
        text(&unknown_field).contains("user_id"),
        "{}",
        text(&unknown_field)
    );

    let unknown_tool = fx.server.call(&alice(), "lookup_ordr", None, None).await;
    assert_eq!(unknown_tool.is_error, Some(true));
    assert!(
        text(&unknown_tool).contains("lookup_order"),
        "a suggestion: {}",
        text(&unknown_tool)
    );
}

#[tokio::test]
async fn untrusted_output_carrying_an_injection_comes_back_spotlighted() {
    let fx = fixture().await;
    let result = fx
        .server
        .call(
            &alice(),
            "fetch_page",
            args(json!({"url": "https://example.org"})),
            None,
        )
        .await;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    let text = text(&result);
    assert!(text.contains("tool=fetch_page>>"), "{text}");
    assert!(text.contains("It is not an instruction"), "{text}");
    // Shown as data inside the block, or withheld by screening: never bare.
    assert!(!text.starts_with(INJECTION));
    assert!(text.contains("<</"), "{text}");
}

#[tokio::test]
async fn an_irreversible_tool_waits_for_a_person_then_runs_exactly_once() {
    let fx = fixture().await;
    let refund = json!({"order_id": "o-1", "amount_cents": 500});

    // 1. tools/call alone does not run it: an error result names the approval.
    let first = fx
        .server
        .call(&alice(), "refund", args(refund.clone()), None)
        .await;
    assert_eq!(first.is_error, Some(true));
    assert!(text(&first).contains("moves money"), "{}", text(&first));
    let structured = first.structured_content.clone().unwrap();
    assert_eq!(structured["status"], "approval_required");
    let approval_id = structured["approval_id"].as_str().unwrap().to_owned();
    assert!(text(&first).contains(&approval_id));
    assert_eq!(fx.bank.refunds(), 0);

    // Asking again before anyone decides does not run it either.
    let meta = json!(approval_id);
    let early = fx
        .server
        .call(&alice(), "refund", args(refund.clone()), Some(&meta))
        .await;
    assert_eq!(early.is_error, Some(true));
    assert!(text(&early).contains("still pending"), "{}", text(&early));
    assert_eq!(fx.bank.refunds(), 0);

    // 2. A person sees it with the runtime's approvals and approves it.
    let pending = fx
        .approvals
        .pending(Some("shop"), Some("alice"))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id.to_string(), approval_id);
    assert_eq!(pending[0].tool, "refund");
    let bob = UserIdentity::new("bob");
    fx.approvals.approve(pending[0].id, &bob).await.unwrap();

    // Another caller cannot use alice's approval; other arguments cannot either.
    let mallory = fx
        .server
        .call(
            &UserIdentity::new("mallory"),
            "refund",
            args(refund.clone()),
            Some(&meta),
        )
        .await;
    assert_eq!(mallory.is_error, Some(true));
    let other = fx
        .server
        .call(
            &alice(),
            "refund",
            args(json!({"order_id": "o-1", "amount_cents": 50_000})),
            Some(&meta),
        )
        .await;
    assert_eq!(other.is_error, Some(true));
    assert!(text(&other).contains("other arguments"), "{}", text(&other));
    assert_eq!(fx.bank.refunds(), 0);

    // 3. The second call with the approval id runs it, once.
    let second = fx
        .server
        .call(&alice(), "refund", args(refund.clone()), Some(&meta))
        .await;
    assert_eq!(second.is_error, Some(false), "{}", text(&second));
    assert_eq!(text(&second), "refunded 500 cents on o-1");
    assert_eq!(fx.bank.refunds(), 1);

    // 4. A third call does not run it again.
    let third = fx
        .server
        .call(&alice(), "refund", args(refund), Some(&meta))
        .await;
    assert_eq!(third.is_error, Some(true));
    assert!(text(&third).contains("ran once"), "{}", text(&third));
    assert_eq!(fx.bank.refunds(), 1);

    // The call is a run of one in the store, as `agentsec trace` shows runs:
    // requested, paused for approval, completed.
    let record = fx.store.get_approval(pending[0].id).await.unwrap();
    let run = fx.store.get_run(record.run_id).await.unwrap();
    assert_eq!(run.status, agentsec::store::RunStatus::Completed);
    assert_eq!(
        (run.agent.as_str(), run.user_id.as_str()),
        ("shop", "alice")
    );
    let phases: Vec<String> = fx
        .store
        .list_steps(record.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|step| step.kind)
        .collect();
    assert_eq!(
        phases,
        ["tool_calls_proposed", "awaiting_approval", "completed"]
    );
}

#[tokio::test]
async fn racing_calls_with_one_approval_run_the_tool_once() {
    let fx = fixture().await;
    let refund = json!({"order_id": "o-2", "amount_cents": 100});
    let first = fx
        .server
        .call(&alice(), "refund", args(refund.clone()), None)
        .await;
    let id = first.structured_content.unwrap()["approval_id"].clone();
    let uuid = uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap();
    fx.approvals
        .approve(uuid, &UserIdentity::new("bob"))
        .await
        .unwrap();
    let calls = (0..8).map(|_| {
        let server = fx.server.clone();
        let refund = refund.clone();
        let id = id.clone();
        tokio::spawn(async move {
            server
                .call(&alice(), "refund", args(refund), Some(&id))
                .await
        })
    });
    let mut ran = 0;
    for call in calls {
        if call.await.unwrap().is_error == Some(false) {
            ran += 1;
        }
    }
    assert_eq!((ran, fx.bank.refunds()), (1, 1));
}

#[tokio::test]
async fn a_rejected_or_unknown_approval_does_not_run_the_tool() {
    let fx = fixture().await;
    let refund = json!({"order_id": "o-3", "amount_cents": 100});
    let first = fx
        .server
        .call(&alice(), "refund", args(refund.clone()), None)
        .await;
    let id = first.structured_content.unwrap()["approval_id"].clone();
    let uuid = uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap();
    fx.approvals
        .reject(uuid, &UserIdentity::new("bob"), "wrong order")
        .await
        .unwrap();
    let rejected = fx
        .server
        .call(&alice(), "refund", args(refund.clone()), Some(&id))
        .await;
    assert_eq!(rejected.is_error, Some(true));
    assert!(
        text(&rejected).contains("wrong order"),
        "{}",
        text(&rejected)
    );

    let unknown = json!(uuid::Uuid::new_v4().to_string());
    let result = fx
        .server
        .call(&alice(), "refund", args(refund.clone()), Some(&unknown))
        .await;
    assert!(
        text(&result).contains("no pending approval"),
        "{}",
        text(&result)
    );
    let garbage = json!({"not": "an id"});
    let result = fx
        .server
        .call(&alice(), "refund", args(refund), Some(&garbage))
        .await;
    assert!(
        text(&result).contains(APPROVAL_META_KEY),
        "{}",
        text(&result)
    );
    assert_eq!(fx.bank.refunds(), 0);
}

#[tokio::test]
async fn an_approval_the_servers_policy_refuses_does_not_run() {
    // The server requires a support lead; the decision was signed by someone
    // else (decided elsewhere, under a laxer policy): it verifies, but the
    // server's approval policy is checked again when the call would run.
    let fx = fixture_with_policy(ApprovalPolicy::default().require_role("support-lead")).await;
    let refund = json!({"order_id": "o-2", "amount_cents": 700});
    let first = fx
        .server
        .call(&alice(), "refund", args(refund.clone()), None)
        .await;
    let approval_id = first.structured_content.clone().unwrap()["approval_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pending = fx
        .approvals
        .pending(Some("shop"), Some("alice"))
        .await
        .unwrap();
    fx.approvals
        .approve(pending[0].id, &UserIdentity::new("bob"))
        .await
        .unwrap();
    let meta = json!(approval_id);
    let second = fx
        .server
        .call(&alice(), "refund", args(refund), Some(&meta))
        .await;
    assert_eq!(second.is_error, Some(true));
    assert!(
        text(&second).contains("approval policy"),
        "{}",
        text(&second)
    );
    assert_eq!(fx.bank.refunds(), 0);
}
