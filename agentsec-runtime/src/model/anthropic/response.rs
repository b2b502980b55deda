//! Decoding a Messages API response body.

use serde::Deserialize;
use serde_json::Value;

use crate::model::reply::WireReply;
use crate::model::{ModelResponse, ModelToolCall, StopReason, Usage};

/// Anthropic's stop reasons.
const STOPS: [(&str, StopReason); 4] = [
    ("end_turn", StopReason::EndTurn),
    ("stop_sequence", StopReason::EndTurn),
    ("tool_use", StopReason::ToolUse),
    ("max_tokens", StopReason::MaxTokens),
];

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
/// [`ModelError::Malformed`](crate::model::ModelError::Malformed).
pub(super) fn parse_response(body: &[u8], requested_model: &str) -> Result<ModelResponse, String> {
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
    let reply = WireReply {
        model: wire.model,
        content: (!text.is_empty()).then_some(text),
        tool_calls,
        stop_reason: wire.stop_reason,
        usage,
    };
    Ok(reply.into_response(&STOPS, requested_model))
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
                b"<html>bad gateway</html>",
                b"null",
                b"{}",
                b"{\"content\": {}}",
                b"{\"content\": [{\"type\": \"tool_use\", \"name\": \"x\"}]}",
                b"{\"content\": [{\"text\": \"no type\"}]}",
                b"{\"content\": [], \"usage\": {\"input_tokens\": \"ten\"}}",
            ],
        );
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
}
