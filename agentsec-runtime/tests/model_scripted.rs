//! The scripted model: plays its replies in order and records requests.

use std::sync::Arc;

use agentsec_runtime::model::{
    Message, ModelError, ModelProvider, ModelRequest, ModelResponse, ModelToolCall, ScriptedModel,
    ScriptedReply, StopReason, Usage,
};
use serde_json::json;

fn ask(text: &str) -> ModelRequest {
    ModelRequest::new("system prompt", vec![Message::user(text)])
}

#[tokio::test]
async fn plays_every_kind_of_reply_in_order_then_is_exhausted() {
    let model = ScriptedModel::new([
        ScriptedReply::text("first").with_usage(Usage::new(10, 2)),
        ScriptedReply::tool_call("refund_order", json!({"order_id": "A1"})),
        ScriptedReply::tool_calls([
            ("list_orders", r#"{"limit": 2}"#),
            // An adversarial model writing broken arguments.
            ("refund_order", r#"{"order_id": "#),
        ])
        .with_text("two at once"),
        ScriptedReply::error(ModelError::Status {
            provider: "scripted".into(),
            status: 500,
            message: "boom".into(),
        }),
        ScriptedReply::text("after the error"),
    ]);

    let first = model.complete(&ask("1")).await.unwrap();
    assert_eq!(first.content.as_deref(), Some("first"));
    assert_eq!(first.stop, StopReason::EndTurn);
    assert_eq!(first.usage, Usage::new(10, 2));
    assert_eq!(first.model, "scripted");

    let second = model.complete(&ask("2")).await.unwrap();
    assert_eq!(second.stop, StopReason::ToolUse);
    assert_eq!(second.content, None);
    assert_eq!(
        second.tool_calls,
        vec![ModelToolCall::new(
            "call_2_0",
            "refund_order",
            r#"{"order_id":"A1"}"#
        )]
    );
    assert_eq!(second.usage, Usage::default());

    let third = model.complete(&ask("3")).await.unwrap();
    assert_eq!(third.content.as_deref(), Some("two at once"));
    assert_eq!(
        third.tool_calls,
        vec![
            ModelToolCall::new("call_3_0", "list_orders", r#"{"limit": 2}"#),
            ModelToolCall::new("call_3_1", "refund_order", r#"{"order_id": "#),
        ]
    );

    let fourth = model.complete(&ask("4")).await.unwrap_err();
    assert!(
        matches!(fourth, ModelError::Status { status: 500, .. }),
        "{fourth:?}"
    );

    let fifth = model.complete(&ask("5")).await.unwrap();
    assert_eq!(fifth.content.as_deref(), Some("after the error"));

    let sixth = model.complete(&ask("6")).await.unwrap_err();
    assert!(
        matches!(sixth, ModelError::ScriptExhausted { played: 5 }),
        "{sixth:?}"
    );
    assert_eq!(model.played(), 5);
    assert_eq!(model.remaining(), 0);
}

#[tokio::test]
async fn a_kept_handle_sees_every_request_that_reached_the_model() {
    let model = ScriptedModel::new([ScriptedReply::text("a"), ScriptedReply::text("b")]);
    let handle = model.clone();
    // Given away as a shared trait object, as an engine would hold it.
    let provider: Arc<dyn ModelProvider> = Arc::new(model);

    provider.complete(&ask("first question")).await.unwrap();
    let second = ask("second question").with_model("override");
    let answer = provider.complete(&second).await.unwrap();
    assert_eq!(answer.model, "override");
    // A request past the end of the script is still recorded.
    provider.complete(&ask("third question")).await.unwrap_err();

    let users: Vec<String> = handle
        .requests()
        .iter()
        .map(|r| match r.messages.last() {
            Some(Message::User { content }) => content.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        users,
        ["first question", "second question", "third question"]
    );
    assert_eq!(handle.last_request().unwrap().system, "system prompt");
    assert_eq!(handle.requests()[1], second);
}

#[tokio::test]
async fn replies_can_be_appended_and_given_exactly() {
    let model = ScriptedModel::named("adversary", []);
    assert_eq!(model.name(), "adversary");
    assert!(matches!(
        model.complete(&ask("x")).await,
        Err(ModelError::ScriptExhausted { played: 0 })
    ));

    let exact = ModelResponse {
        content: None,
        tool_calls: vec![ModelToolCall::new("my-id", "delete_account", "{}")],
        usage: Usage::new(5, 5),
        stop: StopReason::Other("pause_turn".into()),
        model: "ignored".into(),
    };
    model.push(ScriptedReply::response(exact.clone()));
    model.push(ScriptedReply::text("cut").with_stop(StopReason::MaxTokens));

    let played = model.complete(&ask("x")).await.unwrap();
    assert_eq!(played.tool_calls, exact.tool_calls);
    assert_eq!(played.usage, exact.usage);
    assert_eq!(played.stop, exact.stop);
    assert_eq!(played.model, "adversary");
    assert_eq!(
        model.complete(&ask("y")).await.unwrap().stop,
        StopReason::MaxTokens
    );
}

#[test]
fn messages_round_trip_through_json() {
    let call = ModelToolCall::new("c1", "t", r#"{"a":1}"#);
    let messages = vec![
        Message::system("s"),
        Message::user("u"),
        Message::Assistant {
            content: None,
            tool_calls: vec![call.clone()],
        },
        Message::tool_error(&call, "bad"),
        Message::assistant("done"),
    ];
    let json = serde_json::to_value(&messages).unwrap();
    assert_eq!(
        json[2],
        json!({"role": "assistant", "tool_calls": [{"id": "c1", "name": "t", "arguments": "{\"a\":1}"}]})
    );
    assert_eq!(
        json[3],
        json!({"role": "tool", "call_id": "c1", "name": "t", "content": "bad", "is_error": true})
    );
    let back: Vec<Message> = serde_json::from_value(json).unwrap();
    assert_eq!(back, messages);
}
