//! The Messages API request body.

use serde_json::{Map, Value, json};

use crate::model::{Message, ModelRequest};

pub(super) fn request_body(model: &str, request: &ModelRequest, default_max_tokens: u32) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

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
