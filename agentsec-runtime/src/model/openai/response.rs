//! Decoding a chat-completions response body.

use serde::Deserialize;
use serde_json::Value;

use crate::model::reply::WireReply;
use crate::model::{ModelResponse, ModelToolCall, StopReason, Usage};

/// The finish reasons of chat completions.
const STOPS: [(&str, StopReason); 4] = [
    ("stop", StopReason::EndTurn),
    ("tool_calls", StopReason::ToolUse),
    ("function_call", StopReason::ToolUse),
    ("length", StopReason::MaxTokens),
];

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
/// [`ModelError::Malformed`](crate::model::ModelError::Malformed).
pub(super) fn parse_response(body: &[u8], requested_model: &str) -> Result<ModelResponse, String> {
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
    let usage = wire
        .usage
        .map(|u| {
            Usage::new(
                u.prompt_tokens.unwrap_or(0),
                u.completion_tokens.unwrap_or(0),
            )
        })
        .unwrap_or_default();
    let reply = WireReply {
        model: wire.model,
        content,
        tool_calls,
        stop_reason: choice.finish_reason,
        usage,
    };
    Ok(reply.into_response(&STOPS, requested_model))
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
    use crate::model::reply::assert_malformed;

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        assert_malformed(
            parse_response,
            &[
                b"",
                b"not json",
                b"null",
                b"[]",
                b"{}",
                b"{\"choices\": []}",
                b"{\"choices\": [{}]}",
                b"{\"choices\": [{\"message\": {\"tool_calls\": [{\"function\": {}}]}}]}",
                b"{\"choices\": [{\"message\": {}}], \"usage\": {\"prompt_tokens\": -1}}",
                b"\xff\xfe",
            ],
        );
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
