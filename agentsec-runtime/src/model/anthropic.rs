//! The Anthropic Messages client.

use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::http::{AuthHeader, HttpEndpoint, HttpSettings, ProviderDefaults, http_builder_methods};
use super::{
    Message, ModelError, ModelProvider, ModelRequest, ModelResponse, ModelToolCall, StopReason,
    Usage,
};
use crate::BoxFuture;

/// The `anthropic-version` sent unless the builder sets another.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A Messages API client (`POST {base_url}/v1/messages`).
///
/// The system prompt goes in the top-level `system` field (with any
/// [`Message::System`] appended to it), tool calls are `tool_use` blocks and
/// tool results `tool_result` blocks of a user message, consecutive results
/// merged into one message.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_runtime::model::{AnthropicClient, ModelProvider};
/// use agentsec_runtime::secrets::MemorySecretStore;
///
/// let secrets = Arc::new(MemorySecretStore::new().with("anthropic_api_key", "sk-ant-..."));
/// let client = AnthropicClient::builder()
///     .model("claude-sonnet-4-5")
///     .api_key_secret("anthropic_api_key", secrets)
///     .default_max_tokens(2048)
///     .build()
///     .unwrap();
/// assert_eq!(client.name(), "anthropic");
/// ```
#[derive(Debug)]
pub struct AnthropicClient {
    http: HttpEndpoint,
    version: HeaderValue,
    default_max_tokens: u32,
}

/// Builds an [`AnthropicClient`].
pub struct AnthropicClientBuilder {
    http: HttpSettings,
    version: String,
    default_max_tokens: u32,
}

impl AnthropicClient {
    /// A builder with the defaults: Anthropic's URL, `x-api-key` auth,
    /// version [`ANTHROPIC_VERSION`], 4096 max tokens, 120 s timeout.
    pub fn builder() -> AnthropicClientBuilder {
        AnthropicClientBuilder {
            http: HttpSettings::default(),
            version: ANTHROPIC_VERSION.to_owned(),
            default_max_tokens: 4096,
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.http.base_url
    }

    /// The configured model, if any.
    pub fn model(&self) -> Option<&str> {
        self.http.model.as_deref()
    }

    /// The JSON body sent for `request`.
    pub fn request_body(&self, request: &ModelRequest) -> Result<Value, ModelError> {
        let model = self.http.model_for(request.model.as_deref())?;
        Ok(request_body(&model, request, self.default_max_tokens))
    }

    /// Decodes a Messages API response body as [`ModelProvider::complete`]
    /// does: text blocks joined, `tool_use` blocks as tool calls (their input
    /// serialized as the arguments text), usage (cached prompt tokens
    /// included) and stop reason; the configured model names the response
    /// when the body does not. A body that is not a message is
    /// [`ModelError::Malformed`]: the body is untrusted, and no body makes
    /// this panic (it is a fuzz target).
    ///
    /// ```
    /// use agentsec_runtime::model::{AnthropicClient, ModelError, StopReason};
    /// let client = AnthropicClient::builder()
    ///     .base_url("http://127.0.0.1:8000")
    ///     .model("claude-test")
    ///     .build()
    ///     .unwrap();
    /// let body = br#"{"content": [{"type": "text", "text": "Adding."},
    ///     {"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 1}}],
    ///     "stop_reason": "tool_use", "usage": {"input_tokens": 9, "output_tokens": 4}}"#;
    /// let response = client.parse_response(body).unwrap();
    /// assert_eq!(response.stop, StopReason::ToolUse);
    /// assert_eq!(response.content.as_deref(), Some("Adding."));
    /// assert_eq!(response.tool_calls[0].arguments, r#"{"a":1}"#);
    /// assert!(matches!(client.parse_response(b"[]"), Err(ModelError::Malformed { .. })));
    /// ```
    pub fn parse_response(&self, body: &[u8]) -> Result<ModelResponse, ModelError> {
        parse_response(body, self.http.model.as_deref().unwrap_or_default()).map_err(|message| {
            ModelError::Malformed {
                provider: self.http.name.clone(),
                message,
            }
        })
    }
}

impl AnthropicClientBuilder {
    http_builder_methods!();

    /// The `anthropic-version` header.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// `max_tokens` when the request sets none (the API requires one).
    pub fn default_max_tokens(mut self, max_tokens: u32) -> Self {
        self.default_max_tokens = max_tokens;
        self
    }

    /// Builds the client. Fails on an invalid URL or header, never because
    /// the key is missing (it is read per request).
    pub fn build(self) -> Result<AnthropicClient, ModelError> {
        let version = HeaderValue::from_str(&self.version).map_err(|_| {
            ModelError::Config(format!("invalid anthropic-version `{}`", self.version))
        })?;
        let http = self.http.build(ProviderDefaults {
            name: "anthropic",
            base_url: "https://api.anthropic.com",
            auth: AuthHeader::Header("x-api-key".to_owned()),
        })?;
        Ok(AnthropicClient {
            http,
            version,
            default_max_tokens: self.default_max_tokens,
        })
    }
}

impl ModelProvider for AnthropicClient {
    fn name(&self) -> &str {
        &self.http.name
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        Box::pin(async move {
            let model = self.http.model_for(request.model.as_deref())?;
            let body = request_body(&model, request, self.default_max_tokens);
            let headers = [(
                HeaderName::from_static("anthropic-version"),
                self.version.clone(),
            )];
            self.http
                .post_json("/v1/messages", &body, &headers, |bytes| {
                    parse_response(bytes, &model)
                })
                .await
        })
    }
}

fn request_body(model: &str, request: &ModelRequest, default_max_tokens: u32) -> Value {
    let mut system: Vec<&str> = Vec::new();
    if !request.system.is_empty() {
        system.push(&request.system);
    }
    let mut turns = Turns::default();
    for message in &request.messages {
        match message {
            Message::System { content } => system.push(content),
            Message::User { content } => {
                turns.push("user", json!({"type": "text", "text": content}))
            }
            Message::Assistant {
                content,
                tool_calls,
            } => {
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    turns.push("assistant", json!({"type": "text", "text": text}));
                }
                for call in tool_calls {
                    turns.push(
                        "assistant",
                        json!({"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input(&call.arguments)}),
                    );
                }
            }
            Message::Tool {
                call_id,
                content,
                is_error,
                ..
            } => {
                let mut block =
                    json!({"type": "tool_result", "tool_use_id": call_id, "content": content});
                if *is_error {
                    block["is_error"] = json!(true);
                }
                turns.push("user", block);
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert(
        "max_tokens".into(),
        json!(request.max_tokens.unwrap_or(default_max_tokens)),
    );
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(turns.messages));
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(|t| t.anthropic()).collect();
        body.insert("tools".into(), Value::Array(tools));
        body.insert("tool_choice".into(), json!({"type": "auto"}));
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    Value::Object(body)
}

/// Messages under construction: consecutive blocks of one role share a
/// message, except that `tool_result` blocks must open a user message, so
/// one never follows a text block of the same message.
#[derive(Default)]
struct Turns {
    messages: Vec<Value>,
}

impl Turns {
    fn push(&mut self, role: &str, block: Value) {
        let is_result = block["type"] == "tool_result";
        if let Some(Value::Array(blocks)) = self
            .messages
            .last_mut()
            .filter(|last| last["role"] == role)
            .and_then(|last| last.get_mut("content"))
            && (!is_result || blocks.iter().all(|b| b["type"] == "tool_result"))
        {
            blocks.push(block);
            return;
        }
        self.messages
            .push(json!({"role": role, "content": [block]}));
    }
}

/// `tool_use.input` must be an object; arguments that are not one (the
/// model wrote invalid JSON, already answered by an error result) are sent
/// as an empty object.
fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(input)) => Value::Object(input),
        _ => json!({}),
    }
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    model: Option<String>,
    content: Vec<WireBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum WireBlock {
    #[serde(rename = "text")]
    Text { text: String },
    #[serde(rename = "tool_use")]
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking, citations and block types added later.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

/// Decodes a Messages body; the error is a description for
/// [`ModelError::Malformed`].
fn parse_response(body: &[u8], requested_model: &str) -> Result<ModelResponse, String> {
    let wire: WireMessage =
        serde_json::from_slice(body).map_err(|e| format!("not a message: {e}"))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in wire.content {
        match block {
            WireBlock::Text { text: part } => text.push_str(&part),
            WireBlock::ToolUse { id, name, input } => tool_calls.push(ModelToolCall {
                id,
                name,
                arguments: match input {
                    Value::Null => "{}".to_owned(),
                    input => input.to_string(),
                },
            }),
            WireBlock::Other => {}
        }
    }
    let stop = match wire.stop_reason.as_deref() {
        Some("end_turn" | "stop_sequence") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_owned()),
        None if tool_calls.is_empty() => StopReason::EndTurn,
        None => StopReason::ToolUse,
    };
    // Cached prompt tokens are still prompt tokens for budgets.
    let usage = wire
        .usage
        .map(|u| {
            let input = [
                u.input_tokens,
                u.cache_creation_input_tokens,
                u.cache_read_input_tokens,
            ]
            .into_iter()
            .flatten()
            .fold(0u64, u64::saturating_add);
            Usage::new(input, u.output_tokens.unwrap_or(0))
        })
        .unwrap_or_default();
    Ok(ModelResponse {
        content: (!text.is_empty()).then_some(text),
        tool_calls,
        usage,
        stop,
        model: wire.model.unwrap_or_else(|| requested_model.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"<html>bad gateway</html>",
            b"null",
            b"{}",
            b"{\"content\": {}}",
            b"{\"content\": [{\"type\": \"tool_use\", \"name\": \"x\"}]}",
            b"{\"content\": [{\"text\": \"no type\"}]}",
            b"{\"content\": [], \"usage\": {\"input_tokens\": \"ten\"}}",
        ] {
            assert!(
                parse_response(body, "m").is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn unknown_blocks_are_skipped_and_cache_tokens_counted() {
        let body = br#"{"model": "claude-x", "stop_reason": "tool_use",
            "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "ok"},
                        {"type": "tool_use", "id": "tu_1", "name": "t", "input": {"a": [1]}}],
            "usage": {"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 100, "cache_creation_input_tokens": null}}"#;
        let response = parse_response(body, "asked").unwrap();
        assert_eq!(response.content.as_deref(), Some("ok"));
        assert_eq!(
            response.tool_calls,
            vec![ModelToolCall::new("tu_1", "t", r#"{"a":[1]}"#)]
        );
        assert_eq!(response.usage, Usage::new(105, 7));
        assert_eq!(response.model, "claude-x");
        assert_eq!(response.stop, StopReason::ToolUse);
    }

    #[test]
    fn turns_merge_results_but_keep_them_first() {
        let mut turns = Turns::default();
        turns.push("user", json!({"type": "text", "text": "q"}));
        turns.push("assistant", json!({"type": "tool_use", "id": "1"}));
        turns.push("user", json!({"type": "tool_result", "tool_use_id": "1"}));
        turns.push("user", json!({"type": "tool_result", "tool_use_id": "2"}));
        turns.push("user", json!({"type": "text", "text": "more"}));
        turns.push("user", json!({"type": "tool_result", "tool_use_id": "3"}));
        let roles: Vec<_> = turns
            .messages
            .iter()
            .map(|m| m["content"].as_array().map(Vec::len))
            .collect();
        assert_eq!(roles, vec![Some(1), Some(1), Some(3), Some(1)]);
    }
}
