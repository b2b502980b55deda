//! The Anthropic client against a local server speaking the Messages API.

mod http_support;
mod model_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentsec_runtime::model::{
    ANTHROPIC_VERSION, AnthropicClient, Message, ModelError, ModelProvider, ModelRequest,
    ModelToolCall, RetryPolicy, StopReason, Usage,
};
use agentsec_runtime::secrets::MemorySecretStore;
use agentsec_runtime::tool::ToolSchema;
use http_support::{Reply, TestServer};
use model_support::fast_retry;
use serde_json::{Value, json};

const KEY: &str = "sk-ant-test-0123456789abcdef";

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct LookupArgs {
    city: String,
}

fn client(server: &TestServer, retry: RetryPolicy) -> AnthropicClient {
    AnthropicClient::builder()
        .base_url(&server.base)
        .model("claude-test")
        .api_key_secret(
            "anthropic_key",
            Arc::new(MemorySecretStore::new().with("anthropic_key", KEY)),
        )
        .retry(retry)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn message(content: Value, stop_reason: &str) -> Value {
    json!({
        "id": "msg_1", "type": "message", "role": "assistant",
        "model": "claude-test-20250101",
        "content": content,
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 30, "output_tokens": 9}
    })
}

fn hello() -> ModelRequest {
    ModelRequest::new("Be brief.", vec![Message::user("hello")])
}

#[tokio::test]
async fn plain_answer_with_headers_from_the_store() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        message(json!([{"type": "text", "text": "Hi."}]), "end_turn"),
    )])
    .await;
    let response = client(&server, RetryPolicy::none())
        .complete(&hello())
        .await
        .unwrap();
    assert_eq!(response.content.as_deref(), Some("Hi."));
    assert_eq!(response.usage, Usage::new(30, 9));
    assert_eq!(response.stop, StopReason::EndTurn);
    assert_eq!(response.model, "claude-test-20250101");

    let request = &server.requests()[0];
    assert_eq!(request.target, "/v1/messages");
    assert_eq!(request.header("x-api-key"), Some(KEY));
    assert_eq!(request.header("anthropic-version"), Some(ANTHROPIC_VERSION));
    assert_eq!(request.header("authorization"), None);
    let body = request.json();
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "hello"}]}])
    );
    assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
}

#[tokio::test]
async fn history_uses_tool_use_and_merged_tool_result_blocks() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        message(json!([{"type": "text", "text": "Both done."}]), "end_turn"),
    )])
    .await;
    let first = ModelToolCall::new("toolu_1", "lookup", r#"{"city":"Oslo"}"#);
    let second = ModelToolCall::new("toolu_2", "lookup", r#"{"city":"#);
    let request = ModelRequest::new(
        "Be brief.",
        vec![
            Message::system("Never reveal secrets."),
            Message::user("weather in Oslo and Rome?"),
            Message::Assistant {
                content: Some("Looking up.".into()),
                tool_calls: vec![first.clone(), second.clone()],
            },
            Message::tool_result(&first, "rain"),
            Message::tool_error(&second, "arguments are not valid JSON"),
        ],
    )
    .with_tools(vec![ToolSchema::for_args::<LookupArgs>(
        "lookup",
        "Weather for a city.",
    )])
    .with_max_tokens(100);
    client(&server, RetryPolicy::none())
        .complete(&request)
        .await
        .unwrap();

    let body = server.requests()[0].json();
    assert_eq!(body["system"], "Be brief.\n\nNever reveal secrets.");
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    assert_eq!(body["tools"][0]["name"], "lookup");
    assert_eq!(
        body["tools"][0]["input_schema"]["additionalProperties"],
        false
    );
    assert_eq!(
        body["tools"][0]["input_schema"]["required"],
        json!(["city"])
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "weather in Oslo and Rome?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Looking up."},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"city": "Oslo"}},
                // Invalid arguments cannot be an `input` object: sent empty.
                {"type": "tool_use", "id": "toolu_2", "name": "lookup", "input": {}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "rain"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "arguments are not valid JSON", "is_error": true},
            ]},
        ])
    );
}

#[tokio::test]
async fn parallel_tool_use_blocks_become_tool_calls() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        message(
            json!([
                {"type": "text", "text": "Checking both."},
                {"type": "tool_use", "id": "toolu_a", "name": "lookup", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_b", "name": "lookup", "input": {"city": "Rome", "extra": [1, 2]}},
            ]),
            "tool_use",
        ),
    )])
    .await;
    let response = client(&server, RetryPolicy::none())
        .complete(&hello())
        .await
        .unwrap();
    assert_eq!(response.stop, StopReason::ToolUse);
    assert_eq!(response.content.as_deref(), Some("Checking both."));
    let ids: Vec<&str> = response.tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["toolu_a", "toolu_b"]);
    let args: Vec<Value> = response
        .tool_calls
        .iter()
        .map(|c| serde_json::from_str(&c.arguments).unwrap())
        .collect();
    assert_eq!(
        args,
        [
            json!({"city": "Oslo"}),
            json!({"city": "Rome", "extra": [1, 2]})
        ]
    );
}

#[tokio::test]
async fn provider_errors_are_not_retried_and_surface_the_message() {
    let server = TestServer::scripted(vec![Reply::json(
        400,
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "messages: roles must alternate"}}),
    )])
    .await;
    let error = client(&server, fast_retry(3))
        .complete(&hello())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ModelError::Status { status: 400, message, provider }
            if message == "messages: roles must alternate" && provider == "anthropic"),
        "{error:?}"
    );
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn overloaded_and_rate_limited_are_retried() {
    let ok = Reply::json(
        200,
        message(json!([{"type": "text", "text": "ok"}]), "end_turn"),
    );
    let server = TestServer::scripted(vec![
        Reply::json(529, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
        Reply::json(429, json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}))
            .with_header("retry-after", "1"),
        ok,
    ])
    .await;
    // Backoff alone waits at most a few ms; the 1 s comes from Retry-After.
    let retry = RetryPolicy::new(3, Duration::from_millis(1), Duration::from_secs(5));
    let started = Instant::now();
    let response = client(&server, retry).complete(&hello()).await.unwrap();
    assert_eq!(response.content.as_deref(), Some("ok"));
    assert_eq!(server.request_count(), 3);
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn malformed_bodies_are_errors_not_panics() {
    for body in [
        "<html>502 Bad Gateway</html>",
        "{\"type\": \"message\"}",
        "{\"content\": [{\"type\": \"tool_use\", \"name\": \"lookup\", \"input\": {}}]}",
        "{\"content\": \"text instead of blocks\"}",
        "[1, 2, 3]",
    ] {
        let server = TestServer::scripted(vec![Reply::raw(200, body)]).await;
        let error = client(&server, fast_retry(2))
            .complete(&hello())
            .await
            .unwrap_err();
        assert!(
            matches!(error, ModelError::Malformed { .. }),
            "{body}: {error:?}"
        );
        assert_eq!(server.request_count(), 1);
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let server = TestServer::scripted(vec![Reply::Stall(Duration::from_secs(5))]).await;
    let client = AnthropicClient::builder()
        .base_url(&server.base)
        .model("claude-test")
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client.complete(&hello()).await.unwrap_err();
    assert!(
        matches!(error, ModelError::Timeout { attempts: 1, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn version_and_default_max_tokens_are_configurable() {
    let server =
        TestServer::scripted(vec![Reply::json(200, message(json!([]), "max_tokens"))]).await;
    let client = AnthropicClient::builder()
        .base_url(&server.base)
        .model("claude-test")
        .version("2099-01-01")
        .default_max_tokens(77)
        .build()
        .unwrap();
    let response = client.complete(&hello()).await.unwrap();
    assert_eq!(response.stop, StopReason::MaxTokens);
    assert_eq!(response.content, None);
    let request = &server.requests()[0];
    assert_eq!(request.header("anthropic-version"), Some("2099-01-01"));
    assert_eq!(request.json()["max_tokens"], 77);
}

#[tokio::test]
async fn a_missing_key_sends_nothing() {
    let server = TestServer::scripted(vec![]).await;
    let client = AnthropicClient::builder()
        .base_url(&server.base)
        .model("claude-test")
        .api_key_secret("anthropic_key", Arc::new(MemorySecretStore::new()))
        .build()
        .unwrap();
    let error = client.complete(&hello()).await.unwrap_err();
    assert!(matches!(error, ModelError::MissingKey { .. }), "{error:?}");
    assert_eq!(server.request_count(), 0);
}
