//! The tool-call path end to end: arguments from the model are decoded
//! strictly and every failure comes back as a typed tool error; irreversible
//! tools need an approval of the exact call; the runtime refuses, when it is
//! built, tools whose needs it cannot meet.

mod common;

use agentsec::prelude::*;
use agentsec::{ApprovalProof, tool_api::BuildError};
use common::*;

fn invalid_field(result: Result<serde_json::Value, ToolError>) -> (Option<String>, String) {
    match result {
        Err(ToolError::InvalidArguments { field, message, .. }) => (field, message),
        other => panic!("expected invalid arguments, got {other:?}"),
    }
}

#[tokio::test]
async fn a_well_formed_call_runs_as_the_calling_user() {
    let dispatcher = shop_dispatcher().await;
    let out = dispatcher
        .dispatch(&alice_call(), "list_orders", r#"{"limit": 2}"#)
        .await
        .unwrap();
    let orders: Vec<Order> = serde_json::from_value(out).unwrap();
    assert_eq!(orders.len(), 2);
    assert!(orders.iter().all(|o| o.owner == "alice"));
}

#[tokio::test]
async fn malformed_arguments_are_tool_errors_naming_the_field() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let cases: &[(&str, Option<&str>, &str)] = &[
        (r#"{"limit": "#, None, "not valid JSON"),
        (r#"[1, 2]"#, None, "must be a JSON object"),
        (r#"{"limit": "five"}"#, Some("limit"), "invalid type"),
        (r#"{"limit": 300}"#, Some("limit"), "invalid value"),
        (r#"{"limit": -1}"#, Some("limit"), "invalid value"),
        (r#"{}"#, None, "missing field `limit`"),
        (
            r#"{"limit": 1, "user_id": "bob"}"#,
            Some("user_id"),
            "unknown field",
        ),
    ];
    for (raw, field, message) in cases {
        let (got_field, got_message) =
            invalid_field(dispatcher.dispatch(&call, "list_orders", raw).await);
        assert_eq!(got_field.as_deref(), *field, "{raw}");
        assert!(got_message.contains(message), "{raw}: {got_message}");
    }
}

#[tokio::test]
async fn oversized_arguments_are_refused_before_parsing() {
    let dispatcher = shop_dispatcher().await;
    let huge = format!(r#"{{"limit": 1, "pad": "{}"}}"#, "a".repeat(1 << 20));
    let (field, message) = invalid_field(
        dispatcher
            .dispatch(&alice_call(), "list_orders", &huge)
            .await,
    );
    assert_eq!(field, None);
    assert!(message.contains("over the limit"), "{message}");
}

#[tokio::test]
async fn deeply_nested_arguments_do_not_overflow() {
    let dispatcher = shop_dispatcher().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let raw = format!(r#"{{"limit": {deep}}}"#);
    let _ = invalid_field(
        dispatcher
            .dispatch(&alice_call(), "list_orders", &raw)
            .await,
    );
}

#[tokio::test]
async fn empty_arguments_mean_no_arguments() {
    let dispatcher = shop_dispatcher().await;
    let (_, message) = invalid_field(dispatcher.dispatch(&alice_call(), "list_orders", "").await);
    assert!(message.contains("missing field `limit`"));
}

#[tokio::test]
async fn unknown_tools_are_refused_with_a_suggestion() {
    let dispatcher = shop_dispatcher().await;
    match dispatcher.dispatch(&alice_call(), "list_order", "{}").await {
        Err(ToolError::UnknownTool { name, suggestion }) => {
            assert_eq!(name, "list_order");
            assert_eq!(suggestion.as_deref(), Some("list_orders"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_irreversible_call_needs_an_approval_of_that_exact_call() {
    let dispatcher = shop_dispatcher().await;
    let args = r#"{"order_id": "o1", "amount_cents": 500}"#;
    let call = alice_call();
    match dispatcher.dispatch(&call, "refund_order", args).await {
        Err(ToolError::ApprovalRequired { tool, .. }) => assert_eq!(tool, "refund_order"),
        other => panic!("{other:?}"),
    }

    // An approval of other arguments, another call or another tool does not count.
    let wrong_args = ApprovalProof::new(
        "refund_order",
        call.call_id,
        r#"{"order_id": "o1", "amount_cents": 50000}"#,
        "bob",
    );
    let wrong_call = ApprovalProof::new("refund_order", CallId::new(), args, "bob");
    let wrong_tool = ApprovalProof::new("list_orders", call.call_id, args, "bob");
    for proof in [wrong_args, wrong_call, wrong_tool] {
        let approved = call.clone().with_approval(proof);
        assert!(matches!(
            dispatcher.dispatch(&approved, "refund_order", args).await,
            Err(ToolError::ApprovalRequired { .. })
        ));
    }

    let approved = call.clone().with_approval(ApprovalProof::new(
        "refund_order",
        call.call_id,
        args,
        "bob",
    ));
    let out = dispatcher
        .dispatch(&approved, "refund_order", args)
        .await
        .unwrap();
    assert_eq!(out, "refunded 500 on o1");
}

#[tokio::test]
async fn the_tool_body_runs_inside_a_tool_call_span() {
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Spans(Arc<Mutex<Vec<String>>>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Spans {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut fields = String::new();
            struct V<'a>(&'a mut String);
            impl tracing::field::Visit for V<'_> {
                fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                    self.0.push_str(&format!("{}={:?} ", f.name(), v));
                }
            }
            attrs.record(&mut V(&mut fields));
            self.0
                .lock()
                .unwrap()
                .push(format!("{} {}", attrs.metadata().name(), fields));
        }
    }
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    dispatcher
        .dispatch(&call, "list_orders", r#"{"limit": 1}"#)
        .await
        .unwrap();
    let recorded = spans.0.lock().unwrap().join("\n");
    assert!(recorded.starts_with("tool.call "), "{recorded}");
    for expected in [
        format!("run_id={}", call.run_id),
        format!("call_id={}", call.call_id),
        "tool=\"list_orders\"".to_owned(),
        "agent=\"support\"".to_owned(),
        "user=alice".to_owned(),
        "step=1".to_owned(),
    ] {
        assert!(
            recorded.contains(&expected),
            "missing {expected} in {recorded}"
        );
    }
}

#[tokio::test]
async fn missing_state_and_secrets_are_reported_when_building() {
    let no_state = Dispatcher::builder().tool::<ListOrders>().build().await;
    match no_state {
        Err(BuildError::MissingState {
            tool, type_name, ..
        }) => {
            assert_eq!(tool, "list_orders");
            assert_eq!(type_name, "Shop");
        }
        other => panic!("{:?}", other.err()),
    }
    let no_secret = Dispatcher::builder()
        .tool::<RefundOrder>()
        .state(Shop::default())
        .build()
        .await;
    match no_secret {
        Err(BuildError::MissingSecret { tool, secret, .. }) => {
            assert_eq!(tool, "refund_order");
            assert_eq!(secret, "stripe_api_key");
        }
        other => panic!("{:?}", other.err()),
    }
}

/// The model names the user to act for: refused, because identity comes
/// from the context, even when the tool is written by hand.
#[derive(Deserialize, JsonSchema)]
pub struct ImpersonatingArgs {
    pub owner_id: String,
}

/// Reads somebody's orders.
pub struct Impersonating;
impl Tool for Impersonating {
    const SPEC: agentsec::ToolSpec = agentsec::ToolSpec {
        effects: &[agentsec::Effect::new(agentsec::EffectKind::Read, "orders")],
        scope: Some(agentsec::Scope::User),
        pure: false,
        ..agentsec::ToolSpec::new("impersonating", "Reads somebody's orders.")
    };
    type Args = ImpersonatingArgs;
    type Output = ();
    async fn execute(_: &ToolCtx, _: ImpersonatingArgs) -> Result<(), ToolError> {
        Ok(())
    }
}

#[tokio::test]
async fn identity_arguments_in_hand_written_tools_are_refused_when_building() {
    match Dispatcher::builder().tool::<Impersonating>().build().await {
        Err(BuildError::IdentityArgument { tool, argument }) => {
            assert_eq!(tool, "impersonating");
            assert_eq!(argument, "owner_id");
        }
        other => panic!("{:?}", other.err()),
    }
}

#[tokio::test]
async fn two_tools_of_one_name_are_refused_when_building() {
    let result = Dispatcher::builder()
        .tool::<Add>()
        .tool::<Add>()
        .build()
        .await;
    assert!(matches!(result, Err(BuildError::DuplicateTool(name)) if name == "add"));
}

#[tokio::test]
async fn the_original_function_stays_callable() {
    let ctx = ToolCtx::for_unit_test(UserIdentity::new("alice"));
    let orders = list_orders(&ctx, &Shop::default(), 3).await.unwrap();
    assert_eq!(orders.len(), 3);
    assert_eq!(add(2, 3).await.unwrap(), 5);
}

#[tokio::test]
async fn a_call_presenting_no_grant_does_not_run() {
    // Outside the pipeline a tool is a plain function; inside it, nothing
    // runs without a grant that verifies, whoever presents the call.
    let dispatcher = Dispatcher::builder()
        .tool::<ListOrders>()
        .state(Shop::default())
        .build()
        .await
        .unwrap();
    let call = CallContext::new(RunId::new(), 1, "support", UserIdentity::new("alice"));
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, "")
        .await;
    assert!(matches!(result, Err(ToolError::Grant { .. })), "{result:?}");
}
