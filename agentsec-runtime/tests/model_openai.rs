//! The OpenAI-compatible client against a local server speaking chat
//! completions: the request and response wire shapes.

mod http_support;
mod model_support;

use agentsec_runtime::model::{
    AuthHeader, Message, ModelError, ModelProvider, ModelRequest, ModelToolCall, OpenAiClient,
    RetryPolicy, StopReason, Usage,
};
use http_support::{Reply, TestServer};
use model_support::openai::{KEY, client, completion, hello, refund_schema, secrets, tool_call};
use serde_json::{Value, json};

#[tokio::test]
async fn plain_answer_with_usage_and_the_key_from_the_store() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        completion(json!({"role": "assistant", "content": "Hi."}), "stop"),
    )])
    .await;
    let response = client(&server, RetryPolicy::none())
        .complete(&hello())
        .await
        .unwrap();

    assert_eq!(response.content.as_deref(), Some("Hi."));
    assert!(response.tool_calls.is_empty());
    assert_eq!(response.usage, Usage::new(42, 7));
    assert_eq!(response.stop, StopReason::EndTurn);
    assert_eq!(response.model, "gpt-test-2025-01-01");

    let [request] = server.requests().try_into().unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/v1/chat/completions");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    assert_eq!(body["model"], "gpt-test");
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hello"}])
    );
    for absent in ["tools", "tool_choice", "parallel_tool_calls", "max_tokens"] {
        assert!(body.get(absent).is_none(), "{absent} sent without tools");
    }
}

#[tokio::test]
async fn tools_are_strict_and_history_has_the_wire_shape() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        completion(
            json!({"role": "assistant", "content": null,
                   "tool_calls": [tool_call("call_9", "refund_order", r#"{"order_id":"A2","amount_cents":null}"#)]}),
            "tool_calls",
        ),
    )])
    .await;
    let earlier = ModelToolCall::new("call_1", "refund_order", r#"{"order_id":"A1"}"#);
    let mut request = ModelRequest::new(
        "sys",
        vec![
            Message::user("refund A1 and A2"),
            Message::Assistant {
                content: Some("Checking.".into()),
                tool_calls: vec![earlier.clone()],
            },
            Message::tool_error(&earlier, "amount_cents: missing"),
        ],
    )
    .with_tools(vec![refund_schema()])
    .with_max_tokens(256)
    .with_model("gpt-other");
    request.temperature = Some(0.5);

    let response = client(&server, RetryPolicy::none())
        .complete(&request)
        .await
        .unwrap();
    assert_eq!(response.stop, StopReason::ToolUse);
    assert_eq!(response.content, None);
    assert_eq!(
        response.tool_calls,
        vec![ModelToolCall::new(
            "call_9",
            "refund_order",
            r#"{"order_id":"A2","amount_cents":null}"#
        )]
    );

    let body = server.requests()[0].json();
    assert_eq!(body["model"], "gpt-other");
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["parallel_tool_calls"], true);
    let tool = &body["tools"][0];
    assert_eq!(tool["type"], "function");
    assert_eq!(tool["function"]["name"], "refund_order");
    assert_eq!(tool["function"]["strict"], true);
    assert_eq!(
        tool["function"]["parameters"]["additionalProperties"],
        false
    );
    let mut required: Vec<&str> = tool["function"]["parameters"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["amount_cents", "order_id"]);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(
        messages[2],
        json!({"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "refund_order", "arguments": r#"{"order_id":"A1"}"#}}]})
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "amount_cents: missing"})
    );
}

#[tokio::test]
async fn parallel_tool_calls_and_malformed_arguments_are_all_returned() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        completion(
            json!({"role": "assistant", "content": null, "tool_calls": [
                tool_call("call_a", "refund_order", r#"{"order_id":"A1"}"#),
                tool_call("call_b", "refund_order", r#"{"order_id": "A2", "#),
                tool_call("call_c", "list_orders", "{}"),
            ]}),
            "tool_calls",
        ),
    )])
    .await;
    let response = client(&server, RetryPolicy::none())
        .complete(&hello())
        .await
        .unwrap();
    let calls: Vec<(&str, &str, &str)> = response
        .tool_calls
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("call_a", "refund_order", r#"{"order_id":"A1"}"#),
            // Invalid JSON is passed on verbatim for the tool layer to reject.
            ("call_b", "refund_order", r#"{"order_id": "A2", "#),
            ("call_c", "list_orders", "{}"),
        ]
    );
}

#[tokio::test]
async fn azure_style_gateway_with_api_key_header_and_api_version() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        completion(json!({"content": "x"}), "stop"),
    )])
    .await;
    let client = OpenAiClient::builder()
        .name("azure")
        .base_url(format!("{}/openai/deployments/gpt4o/", server.base))
        .model("gpt-4o")
        .api_key_secret("openai_key", secrets())
        .auth_header(AuthHeader::Header("api-key".into()))
        .query_param("api-version", "2024-10-21")
        .header("x-ms-client-request-id", "r-1")
        .max_tokens_field("max_completion_tokens")
        .build()
        .unwrap();
    assert_eq!(client.name(), "azure");
    client.complete(&hello().with_max_tokens(64)).await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        request.target,
        "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(request.header("api-key"), Some(KEY));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.header("x-ms-client-request-id"), Some("r-1"));
    assert_eq!(request.json()["max_completion_tokens"], 64);
    assert!(request.json().get("max_tokens").is_none());
}

#[tokio::test]
async fn a_local_server_without_a_key_gets_no_auth_header() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        completion(json!({"content": "x"}), "stop"),
    )])
    .await;
    let client = OpenAiClient::builder()
        .base_url(&server.base)
        .model("llama")
        .build()
        .unwrap();
    client.complete(&hello()).await.unwrap();
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn configuration_errors() {
    let no_model = OpenAiClient::builder()
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    assert!(matches!(
        no_model.complete(&hello()).await,
        Err(ModelError::Config(_))
    ));
    for url in ["not a url", "ftp://example.com"] {
        assert!(matches!(
            OpenAiClient::builder().base_url(url).build(),
            Err(ModelError::Config(_))
        ));
    }
    assert!(matches!(
        OpenAiClient::builder().header("bad header", "v").build(),
        Err(ModelError::Config(_))
    ));
    // The default endpoint is HTTPS; building it needs the `tls` feature.
    assert_eq!(
        OpenAiClient::builder().build().is_ok(),
        cfg!(feature = "tls")
    );
}
