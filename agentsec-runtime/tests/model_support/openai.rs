//! Helpers of the OpenAI client tests.

use std::sync::Arc;
use std::time::Duration;

use agentsec_runtime::model::{Message, ModelRequest, OpenAiClient, RetryPolicy};
use agentsec_runtime::secrets::MemorySecretStore;
use agentsec_runtime::tool::ToolSchema;
use serde_json::{Value, json};

use crate::http_support::TestServer;

pub const KEY: &str = "sk-test-0123456789abcdefghij";

/// The arguments of the tool used in these tests.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
pub struct RefundArgs {
    order_id: String,
    amount_cents: Option<u64>,
}

pub fn refund_schema() -> ToolSchema {
    ToolSchema::for_args::<RefundArgs>("refund_order", "Refund an order.")
}

pub fn secrets() -> Arc<MemorySecretStore> {
    Arc::new(MemorySecretStore::new().with("openai_key", KEY))
}

pub fn client(server: &TestServer, retry: RetryPolicy) -> OpenAiClient {
    OpenAiClient::builder()
        .base_url(format!("{}/v1", server.base))
        .model("gpt-test")
        .api_key_secret("openai_key", secrets())
        .retry(retry)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

pub fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-test-2025-01-01",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49}
    })
}

pub fn tool_call(id: &str, name: &str, arguments: &str) -> Value {
    json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
}

pub fn hello() -> ModelRequest {
    ModelRequest::new("You are terse.", vec![Message::user("hello")])
}
