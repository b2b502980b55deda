//! The OpenAI-compatible chat-completions client (OpenAI, vLLM, Ollama,
//! llama.cpp server, Azure-style gateways).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::http::{AuthHeader, HttpEndpoint, HttpSettings, ProviderDefaults, http_builder_methods};
use super::{
    Message, ModelError, ModelProvider, ModelRequest, ModelResponse, ModelToolCall, StopReason,
    Usage,
};
use crate::BoxFuture;

/// A chat-completions client (`POST {base_url}/chat/completions`).
///
/// The base URL defaults to `https://api.openai.com/v1`; point it at any
/// compatible server. Tools are sent in strict mode with parallel calls on.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_runtime::model::{ModelProvider, OpenAiClient, RetryPolicy};
/// use agentsec_runtime::secrets::MemorySecretStore;
///
/// let secrets = Arc::new(MemorySecretStore::new().with("openai_api_key", "sk-..."));
/// let client = OpenAiClient::builder()
///     .model("gpt-4o-mini")
///     .api_key_secret("openai_api_key", secrets)
///     .retry(RetryPolicy::default())
///     .build()
///     .unwrap();
/// assert_eq!(client.name(), "openai");
///
/// // A local vLLM or Ollama server: no key.
/// let local = OpenAiClient::builder()
///     .name("ollama")
///     .base_url("http://127.0.0.1:11434/v1")
///     .model("llama3.2")
///     .build()
///     .unwrap();
/// assert_eq!(local.name(), "ollama");
/// ```
#[derive(Debug)]
pub struct OpenAiClient {
    http: HttpEndpoint,
    max_tokens_field: String,
}

/// Builds an [`OpenAiClient`].
pub struct OpenAiClientBuilder {
    http: HttpSettings,
    max_tokens_field: String,
}

impl OpenAiClient {
    /// A builder with the defaults: OpenAI's URL, bearer auth, 120 s
    /// timeout, [`RetryPolicy::default`](super::RetryPolicy::default).
    pub fn builder() -> OpenAiClientBuilder {
        OpenAiClientBuilder {
            http: HttpSettings::default(),
            max_tokens_field: "max_tokens".to_owned(),
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
        Ok(request_body(&model, request, &self.max_tokens_field))
    }

    /// Decodes a chat-completions response body as [`ModelProvider::complete`]
    /// does: text (or refusal), tool calls with their arguments kept as the
    /// raw text the model wrote, usage and stop reason; the configured model
    /// names the response when the body does not. A body that is not a chat
    /// completion is [`ModelError::Malformed`]: the body is untrusted, and no
    /// body makes this panic (it is a fuzz target).
    ///
    /// ```
    /// use agentsec_runtime::model::{ModelError, OpenAiClient, StopReason};
    /// let client = OpenAiClient::builder()
    ///     .base_url("http://127.0.0.1:8000/v1")
    ///     .model("local")
    ///     .build()
    ///     .unwrap();
    /// let body = br#"{"choices": [{"message": {"content": null, "tool_calls": [
    ///     {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{\"a\":1}"}}]},
    ///     "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}"#;
    /// let response = client.parse_response(body).unwrap();
    /// assert_eq!(response.stop, StopReason::ToolUse);
    /// assert_eq!(response.tool_calls[0].arguments, r#"{"a":1}"#);
    /// assert_eq!(response.model, "local");
    /// assert!(matches!(client.parse_response(b"{}"), Err(ModelError::Malformed { .. })));
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

impl OpenAiClientBuilder {
    http_builder_methods!();

    /// The body field carrying [`ModelRequest::max_tokens`]: `max_tokens`
    /// (default, understood by compatible servers) or
    /// `max_completion_tokens` (required by OpenAI's reasoning models).
    pub fn max_tokens_field(mut self, field: impl Into<String>) -> Self {
        self.max_tokens_field = field.into();
        self
    }

    /// Builds the client. Fails on an invalid URL or header, never because
    /// the key is missing (it is read per request).
    pub fn build(self) -> Result<OpenAiClient, ModelError> {
        let http = self.http.build(ProviderDefaults {
            name: "openai",
            base_url: "https://api.openai.com/v1",
            auth: AuthHeader::Bearer,
        })?;
        Ok(OpenAiClient {
            http,
            max_tokens_field: self.max_tokens_field,
        })
    }
}

impl ModelProvider for OpenAiClient {
    fn name(&self) -> &str {
        &self.http.name
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        Box::pin(async move {
            let model = self.http.model_for(request.model.as_deref())?;
            let body = request_body(&model, request, &self.max_tokens_field);
            self.http
                .post_json("/chat/completions", &body, &[], |bytes| {
                    parse_response(bytes, &model)
                })
                .await
        })
    }
}

fn request_body(model: &str, request: &ModelRequest, max_tokens_field: &str) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    messages.extend(request.messages.iter().map(encode_message));
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(|t| t.openai()).collect();
        body.insert("tools".into(), Value::Array(tools));
        body.insert("tool_choice".into(), json!("auto"));
        body.insert("parallel_tool_calls".into(), json!(true));
    }
    if let Some(max) = request.max_tokens {
        body.insert(max_tokens_field.to_owned(), json!(max));
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    Value::Object(body)
}

fn encode_message(message: &Message) -> Value {
    match message {
        Message::System { content } => json!({"role": "system", "content": content}),
        Message::User { content } => json!({"role": "user", "content": content}),
        Message::Assistant {
            content,
            tool_calls,
        } if tool_calls.is_empty() => {
            json!({"role": "assistant", "content": content.as_deref().unwrap_or("")})
        }
        Message::Assistant {
            content,
            tool_calls,
        } => {
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    })
                })
                .collect();
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        // The wire format has no error flag: the content says it.
        Message::Tool {
            call_id, content, ..
        } => {
            json!({"role": "tool", "tool_call_id": call_id, "content": content})
        }
    }
}

#[derive(Deserialize)]
struct WireCompletion {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Value,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: Value,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// Decodes a chat-completions body; the error is a description for
/// [`ModelError::Malformed`].
fn parse_response(body: &[u8], requested_model: &str) -> Result<ModelResponse, String> {
    let wire: WireCompletion =
        serde_json::from_slice(body).map_err(|e| format!("not a chat completion: {e}"))?;
    let choice = wire
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| "the completion has no choices".to_owned())?;
    let content = text_content(&choice.message.content).or(choice.message.refusal);
    let tool_calls: Vec<ModelToolCall> = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, call)| ModelToolCall {
            // Some local servers omit ids; results still need one to refer to.
            id: call.id.unwrap_or_else(|| format!("call_{index}")),
            name: call.function.name,
            arguments: arguments_text(call.function.arguments),
        })
        .collect();
    let stop = match choice.finish_reason.as_deref() {
        Some("stop") => StopReason::EndTurn,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_owned()),
        None if tool_calls.is_empty() => StopReason::EndTurn,
        None => StopReason::ToolUse,
    };
    let usage = wire
        .usage
        .map(|u| {
            Usage::new(
                u.prompt_tokens.unwrap_or(0),
                u.completion_tokens.unwrap_or(0),
            )
        })
        .unwrap_or_default();
    Ok(ModelResponse {
        content,
        tool_calls,
        usage,
        stop,
        model: wire.model.unwrap_or_else(|| requested_model.to_owned()),
    })
}

/// Message content is a string, `null`, or (some servers) a list of parts.
fn text_content(content: &Value) -> Option<String> {
    match content {
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => {
            let text: String = parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect();
            (!text.is_empty()).then_some(text)
        }
        _ => None,
    }
}

/// Arguments are JSON text, kept exactly as sent (even when invalid). A
/// server that sends an object instead gets it serialized; no arguments at
/// all means an empty object.
fn arguments_text(arguments: Value) -> String {
    match arguments {
        Value::String(text) => text,
        Value::Null => "{}".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"not json",
            b"null",
            b"[]",
            b"{}",
            b"{\"choices\": []}",
            b"{\"choices\": [{}]}",
            b"{\"choices\": [{\"message\": {\"tool_calls\": [{\"function\": {}}]}}]}",
            b"{\"choices\": [{\"message\": {}}], \"usage\": {\"prompt_tokens\": -1}}",
            b"\xff\xfe",
        ] {
            assert!(
                parse_response(body, "m").is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn lenient_where_servers_differ() {
        let body = br#"{"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            "tool_calls": [{"function": {"name": "t", "arguments": {"x": 1}}}, {"function": {"name": "u"}}]}}]}"#;
        let response = parse_response(body, "asked").unwrap();
        assert_eq!(response.content.as_deref(), Some("ab"));
        assert_eq!(response.model, "asked");
        assert_eq!(response.stop, StopReason::ToolUse);
        assert_eq!(response.usage, Usage::default());
        assert_eq!(
            response.tool_calls[0],
            ModelToolCall::new("call_0", "t", r#"{"x":1}"#)
        );
        assert_eq!(
            response.tool_calls[1],
            ModelToolCall::new("call_1", "u", "{}")
        );
    }
}
