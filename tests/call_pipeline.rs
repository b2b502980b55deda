//! The one call pipeline: the engine and `Dispatcher::dispatch` decide the
//! same call the same way; arguments decode once and strictly (duplicate
//! keys and unknown fields refused at every depth); what a person approves
//! is byte for byte what runs; a panicking tool is a recorded failure, not
//! a dead process.

mod common;

use std::sync::Mutex;

use agentsec::call::{CallDecision, CallOutcome, CallScope};
use agentsec::engine::{AgentRuntime, RunOutcome};
use agentsec::hitl::ApprovalDecision;
use agentsec::model::{ScriptedModel, ScriptedReply};
use agentsec::permission::{DefaultPolicy, EffectSet};
use agentsec::prelude::*;
use agentsec::secrets::MemorySecretStore;
use agentsec::trace::{CollectingSink, EventBus, SecurityEvent};
use common::*;
use serde_json::json;
use sha2::{Digest, Sha256};

/// One line of an order.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Line {
    /// The product.
    pub sku: String,
    /// How many.
    pub qty: u32,
}

/// What `place_order` ran with, as it saw it.
#[derive(Default)]
pub struct Placed(Mutex<Vec<String>>);

/// Place an order for the signed-in user.
#[tool(write = "orders", scope = "user")]
#[irreversible(reason = "charges the customer")]
pub async fn place_order(
    ctx: &ToolCtx,
    #[state] placed: &Placed,
    /// The order's id.
    order_id: String,
    /// The lines to order.
    lines: Vec<Line>,
    /// The total, in cents.
    amount_cents: u64,
) -> Result<String, ToolError> {
    let _ = ctx;
    let lines: Vec<_> = lines
        .iter()
        .map(|l| json!({"qty": l.qty, "sku": l.sku}))
        .collect();
    let ran = json!({"amount_cents": amount_cents, "lines": lines, "order_id": order_id});
    placed.0.lock().unwrap().push(ran.to_string());
    Ok(format!("placed {order_id}"))
}

/// Empty the CDN cache for everyone.
#[tool(delete = "cache", scope = "global")]
#[irreversible(reason = "every customer sees slow pages until it refills")]
pub async fn purge_cache() -> Result<String, ToolError> {
    Ok("purged".into())
}

/// Look the signed-in user up in the CRM, with the user's own CRM token.
#[tool(read = "crm", scope = "user")]
pub async fn crm_lookup(ctx: &ToolCtx) -> Result<String, ToolError> {
    // A per-user secret: its name depends on who the run acts for.
    let token = ctx.secret(&format!("crm_{}", ctx.user().id)).await?;
    // A careless tool that echoes its credential.
    Ok(format!("profile fetched with {}", token.expose_secret()))
}

#[agent(
    name = "support",
    prompt = "You help the signed-in customer.",
    tools(list_orders, refund_order, add, place_order, purge_cache, crm_lookup),
    max_iterations = 8,
    budget(tokens = 10_000, tool_calls = 10)
)]
pub struct PipelineAgent;

fn secrets() -> MemorySecretStore {
    MemorySecretStore::new()
        .with("stripe_api_key", "sk_test_abcdefghijklmnop123456")
        .with("crm_alice", "crm-alice-7f3a9c2e51")
        .with("crm_bob", "crm-bob-0b1c2d3e4f5a")
}

/// Customers may read orders and their CRM profile, and place orders;
/// nothing else.
fn customer_policy() -> DefaultPolicy {
    DefaultPolicy::new().user_effects_for_role(
        "customer",
        EffectSet::parse(["read:orders", "write:orders", "read:crm"]).unwrap(),
    )
}

fn alice() -> UserIdentity {
    UserIdentity::new("alice")
        .with_tenant("acme")
        .with_roles(["customer"])
}

async fn runtime(model: ScriptedModel, events: &CollectingSink) -> AgentRuntime<PipelineAgent> {
    AgentRuntime::<PipelineAgent>::builder()
        .model(model)
        .state(Shop::default())
        .state(Placed::default())
        .secrets(secrets())
        .policy(customer_policy())
        .events(EventBus::default().with(events.clone()))
        .build()
        .await
        .unwrap()
}

async fn dispatcher() -> Dispatcher {
    Dispatcher::builder()
        .tool::<ListOrders>()
        .tool::<RefundOrder>()
        .tool::<Add>()
        .tool::<PlaceOrder>()
        .tool::<PurgeCache>()
        .state(Shop::default())
        .state(Placed::default())
        .secrets(secrets())
        .policy(customer_policy())
        .build()
        .await
        .unwrap()
}

fn call_of(user: UserIdentity) -> CallContext {
    CallContext::new(RunId::new(), 1, "support", user)
}

#[tokio::test]
async fn dispatch_asks_the_policy_before_anything_runs() {
    // A user without the `customer` role may not read orders: before the
    // pipeline, `dispatch` minted a grant and ran the tool anyway.
    let dispatcher = dispatcher().await;
    let mallory = UserIdentity::new("mallory").with_tenant("acme");
    let err = dispatcher
        .dispatch(&call_of(mallory), "list_orders", r#"{"limit": 3}"#)
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Denied { .. }), "{err}");

    // The default policy denies a global delete to anyone without a role
    // for it, even when the call carries an approval of itself.
    let call = call_of(alice());
    let validated = dispatcher.decode("purge_cache", "").unwrap();
    let proof = agentsec::ApprovalProof::new("purge_cache", call.call_id, "{}", "bob");
    let approved = call.clone().with_approval(proof);
    assert_eq!(validated.canonical(), "{}");
    let err = dispatcher
        .dispatch(&approved, "purge_cache", "")
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Denied { .. }), "{err}");

    // A dispatcher built with no policy at all uses the default policy.
    let unconfigured = Dispatcher::builder()
        .tool::<PurgeCache>()
        .build()
        .await
        .unwrap();
    let err = unconfigured
        .dispatch(&call_of(alice()), "purge_cache", "{}")
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Denied { .. }), "{err}");
}

#[tokio::test]
async fn the_engine_and_the_dispatcher_decide_each_call_alike() {
    let calls = [
        ("list_orders", json!({"limit": 2})),
        ("add", json!({"a": 1, "b": 2})),
        ("purge_cache", json!({})),
        ("refund_order", json!({"order_id": "o1", "amount_cents": 5})),
        (
            "place_order",
            json!({"order_id": "o9", "lines": [{"sku": "a", "qty": 1}], "amount_cents": 300}),
        ),
    ];
    let events = CollectingSink::default();
    let model = ScriptedModel::new([
        ScriptedReply::tool_calls(calls.clone()),
        ScriptedReply::text("done"),
    ]);
    let rt = runtime(model, &events).await;
    let report = rt.start(alice(), "do things").await.unwrap();
    assert!(matches!(
        report.outcome,
        RunOutcome::AwaitingApproval { .. }
    ));
    let engine: Vec<(String, CallDecision)> = report
        .calls()
        .map(|c| (c.tool.clone(), c.decision.clone().unwrap()))
        .collect();

    let dispatcher = dispatcher().await;
    let context = call_of(alice());
    // The run's only source so far: the user's message (provenance is
    // traced against it in both paths).
    let mut sources = agentsec::call::ValueSources::new();
    sources.push(agentsec::call::Origin::User, "do things");
    let scope = CallScope {
        sources: Some(&sources),
        ..CallScope::new(&context)
    };
    let mut alone = Vec::new();
    for (tool, args) in &calls {
        let validated = dispatcher.decode(tool, &args.to_string()).unwrap();
        let decision = dispatcher.decide(&scope, &validated).await;
        alone.push((tool.to_string(), decision));
    }
    assert_eq!(engine, alone);
    // And the decisions are the ones the rules give.
    let kinds: Vec<&str> = alone
        .iter()
        .map(|(_, d)| match d {
            CallDecision::Allowed => "allowed",
            CallDecision::NeedsApproval { .. } => "approval",
            CallDecision::DeniedByPolicy { .. } => "denied",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["allowed", "allowed", "denied", "denied", "approval"],
        "{alone:?}"
    );
}

#[tokio::test]
async fn a_field_given_twice_never_reaches_an_approver() {
    let events = CollectingSink::default();
    let model = ScriptedModel::new([
        ScriptedReply::tool_call(
            "refund_order",
            r#"{"order_id":"o1","amount_cents":1,"amount_cents":89900}"#,
        ),
        ScriptedReply::text("I could not refund."),
    ]);
    let rt = runtime(model, &events).await;
    let report = rt.start(alice(), "refund o1").await.unwrap();
    assert!(
        matches!(report.outcome, RunOutcome::Completed { .. }),
        "{:?}",
        report.outcome
    );
    let call = report.calls().next().unwrap();
    let Some(CallDecision::Invalid { error }) = &call.decision else {
        panic!("refused before the policy: {:?}", call.decision);
    };
    assert!(
        error.contains("amount_cents") && error.contains("twice"),
        "{error}"
    );
    assert!(
        !events
            .events()
            .iter()
            .any(|e| matches!(e, SecurityEvent::ApprovalRequested { .. })),
        "nobody was asked to approve it"
    );
}

#[tokio::test]
async fn nested_unknown_fields_and_nested_duplicates_are_refused() {
    let dispatcher = dispatcher().await;
    let field_of = |raw: &str| match dispatcher.decode("place_order", raw) {
        Err(ToolError::InvalidArguments { field, message, .. }) => (field, message),
        other => panic!("refused: {other:?}"),
    };
    // `Line` does not deny unknown fields itself: serde alone would drop
    // `discount` silently. The pipeline checks every depth against the schema.
    let (field, message) = field_of(
        r#"{"order_id":"o1","amount_cents":1,"lines":[{"sku":"a","qty":1},{"sku":"b","qty":1,"discount":100}]}"#,
    );
    assert_eq!(field.as_deref(), Some("lines[1].discount"));
    assert!(message.contains("unknown field"), "{message}");
    let (field, message) =
        field_of(r#"{"order_id":"o1","amount_cents":1,"lines":[{"sku":"a","sku":"b","qty":1}]}"#);
    assert_eq!(field.as_deref(), Some("lines[0].sku"));
    assert!(message.contains("twice"), "{message}");
    let deep = format!(
        r#"{{"order_id":"o1","amount_cents":1,"lines":{}{}}}"#,
        "[".repeat(64),
        "]".repeat(64)
    );
    let (_, message) = field_of(&deep);
    assert!(message.contains("deeper than"), "{message}");
    let huge = format!(
        r#"{{"order_id":"{}","amount_cents":1,"lines":[]}}"#,
        "x".repeat(70_000)
    );
    let (_, message) = field_of(&huge);
    assert!(message.contains("over the limit"), "{message}");
}

#[tokio::test]
async fn what_the_approver_saw_is_what_ran() {
    let events = CollectingSink::default();
    // Key order and spacing as a model might write them.
    let raw =
        r#"{ "lines": [ {"qty": 2, "sku": "mug"} ], "order_id": "o7",  "amount_cents": 1800 }"#;
    let model = ScriptedModel::new([
        ScriptedReply::tool_call("place_order", raw),
        ScriptedReply::text("Ordered."),
    ]);
    let rt = runtime(model, &events).await;
    let report = rt.start(alice(), "order two mugs").await.unwrap();
    let RunOutcome::AwaitingApproval { pending } = &report.outcome else {
        panic!("{:?}", report.outcome);
    };
    let shown = pending[0].arguments.clone();
    assert_eq!(
        shown,
        r#"{"amount_cents":1800,"lines":[{"qty":2,"sku":"mug"}],"order_id":"o7"}"#
    );
    let shown_digest = hex::encode(Sha256::digest(shown.as_bytes()));
    let done = rt
        .resume(
            report.run_id,
            [ApprovalDecision::approve(
                pending[0].call_id,
                UserIdentity::new("bob").with_tenant("acme"),
            )],
        )
        .await
        .unwrap();
    assert!(matches!(done.outcome, RunOutcome::Completed { .. }));
    let placed = rt.dispatcher().state_of::<Placed>().unwrap();
    assert_eq!(*placed.0.lock().unwrap(), vec![shown]);
    let executed_digest = events
        .events()
        .iter()
        .find_map(|e| match e {
            SecurityEvent::IrreversibleExecuted { args_digest, .. } => Some(args_digest.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(executed_digest, shown_digest);
    let record = done.calls().next().unwrap();
    assert_eq!(record.approval.as_ref().unwrap().approver, "bob");
    assert_eq!(record.outcome, Some(CallOutcome::Ok));
}

#[tokio::test]
async fn a_panicking_tool_fails_its_call_and_the_runtime_goes_on() {
    let events = CollectingSink::default();
    let model = ScriptedModel::new([
        // The guide's own `add`, given what a model may well send.
        ScriptedReply::tool_call("add", json!({"a": i64::MAX, "b": 1})),
        ScriptedReply::text("That overflowed."),
        ScriptedReply::tool_call("add", json!({"a": 2, "b": 3})),
        ScriptedReply::text("5"),
    ]);
    let rt = runtime(model, &events).await;
    let first = rt.start(alice(), "add a lot").await.unwrap();
    assert!(matches!(first.outcome, RunOutcome::Completed { .. }));
    let call = first.calls().next().unwrap();
    assert!(
        matches!(&call.outcome, Some(CallOutcome::Panicked { message }) if message.contains("overflow")),
        "{:?}",
        call.outcome
    );
    let second = rt.start(alice(), "add a little").await.unwrap();
    assert_eq!(
        second.calls().next().unwrap().outcome,
        Some(CallOutcome::Ok)
    );

    let dispatcher = dispatcher().await;
    let err = dispatcher
        .dispatch(
            &call_of(alice()),
            "add",
            &json!({"a": i64::MAX, "b": 1}).to_string(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Panicked { .. }), "{err}");
}

#[tokio::test]
async fn each_run_redacts_the_secrets_it_read_even_after_a_restart() {
    let checkpoints: std::sync::Arc<dyn agentsec::engine::Checkpoints> =
        std::sync::Arc::new(agentsec::engine::MemoryCheckpoints::new());
    let model = ScriptedModel::new([
        ScriptedReply::tool_call("crm_lookup", json!({})),
        ScriptedReply::tool_call(
            "place_order",
            json!({"order_id": "o1", "lines": [], "amount_cents": 100}),
        ),
        // After the restart the model repeats the token it saw.
        ScriptedReply::text("Done; your CRM token is crm-alice-7f3a9c2e51."),
    ]);
    let build = |model: ScriptedModel| {
        let checkpoints = checkpoints.clone();
        async move {
            AgentRuntime::<PipelineAgent>::builder()
                .model(model)
                .state(Shop::default())
                .state(Placed::default())
                .secrets(secrets())
                .policy(customer_policy())
                .checkpoints_arc(checkpoints)
                .build()
                .await
                .unwrap()
        }
    };
    let first = build(model.clone()).await;
    let paused = first
        .start(alice(), "look me up, then order")
        .await
        .unwrap();
    let RunOutcome::AwaitingApproval { pending } = &paused.outcome else {
        panic!("{:?}", paused.outcome);
    };
    // The tool's output was redacted with the run's redactor.
    let saved = serde_json::to_string(&paused.state).unwrap();
    assert!(!saved.contains("crm-alice-7f3a9c2e51"), "{saved}");
    assert!(saved.contains("[REDACTED:crm_alice]"));
    assert_eq!(paused.state.guard.secrets_read, ["crm_alice"]);
    // The runtime's redactor did not grow with alice's secret.
    let names = first.redactor().secret_names();
    assert!(!names.iter().any(|n| &**n == "crm_alice"), "{names:?}");

    // Another process resumes the run: it reads the secret again by name.
    let second = build(model).await;
    let done = second
        .resume(
            paused.run_id,
            [ApprovalDecision::approve(
                pending[0].call_id,
                UserIdentity::new("bob").with_tenant("acme"),
            )],
        )
        .await
        .unwrap();
    let RunOutcome::Completed { answer } = &done.outcome else {
        panic!("{:?}", done.outcome);
    };
    assert_eq!(answer, "Done; your CRM token is [REDACTED:crm_alice].");
}
