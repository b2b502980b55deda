//! The provider-neutral conversation: messages, requests, responses, usage.

use serde::{Deserialize, Serialize};

use super::Usage;
use crate::tool::ToolSchema;

/// One tool call the model proposed.
///
/// `arguments` is the raw JSON text the model produced. It may not be valid
/// JSON: the tool layer decodes it strictly and rejects it, so a provider
/// never fails a whole response because one call's arguments are malformed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelToolCall {
    /// The provider's id for the call; tool results refer to it.
    pub id: String,
    /// The tool's name, as the model wrote it (not yet checked).
    pub name: String,
    /// The arguments as raw JSON text.
    pub arguments: String,
}

impl ModelToolCall {
    /// A tool call.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }
}

/// One message of a conversation with a model.
///
/// Runs are persisted, so messages serialize (tagged by `role`):
///
/// ```
/// use agentsec_runtime::model::Message;
/// let m = Message::user("hello");
/// let json = serde_json::to_value(&m).unwrap();
/// assert_eq!(json, serde_json::json!({"role": "user", "content": "hello"}));
/// assert_eq!(serde_json::from_value::<Message>(json).unwrap(), m);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    /// An instruction from the application (beside [`ModelRequest::system`]).
    System {
        /// The instruction.
        content: String,
    },
    /// What the user said.
    User {
        /// The user's text.
        content: String,
    },
    /// What the model answered: text, tool calls, or both.
    Assistant {
        /// The model's text, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        /// The tool calls the model proposed, in order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ModelToolCall>,
    },
    /// The result of one tool call, sent back to the model.
    Tool {
        /// The [`ModelToolCall::id`] this answers.
        call_id: String,
        /// The tool's name.
        name: String,
        /// The result (or the error) as text.
        content: String,
        /// Whether `content` describes a failure.
        #[serde(default)]
        is_error: bool,
    },
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message::System {
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::User {
            content: content.into(),
        }
    }

    /// An assistant message with text only.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::Assistant {
            content: Some(content.into()),
            tool_calls: Vec::new(),
        }
    }

    /// A successful tool result.
    pub fn tool_result(call: &ModelToolCall, content: impl Into<String>) -> Self {
        Message::Tool {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content: content.into(),
            is_error: false,
        }
    }

    /// A failed tool result.
    pub fn tool_error(call: &ModelToolCall, content: impl Into<String>) -> Self {
        Message::Tool {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content: content.into(),
            is_error: true,
        }
    }
}

/// What is sent to a model: instructions, the conversation and the tools.
///
/// ```
/// use agentsec_runtime::model::{Message, ModelRequest};
/// let request = ModelRequest::new("You are terse.", vec![Message::user("hi")]).with_max_tokens(100);
/// assert_eq!(request.messages.len(), 1);
/// assert!(request.tools.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelRequest {
    /// Overrides the provider's configured model.
    pub model: Option<String>,
    /// The system prompt (may be empty).
    pub system: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// The tools the model may call.
    pub tools: Vec<ToolSchema>,
    /// Upper bound on the tokens of the answer.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
}

impl ModelRequest {
    /// A request with a system prompt and messages, no tools.
    pub fn new(system: impl Into<String>, messages: Vec<Message>) -> Self {
        Self {
            system: system.into(),
            messages,
            ..Self::default()
        }
    }

    /// Sets the tools (builder style).
    pub fn with_tools(mut self, tools: Vec<ToolSchema>) -> Self {
        self.tools = tools;
        self
    }

    /// Sets the answer's token bound (builder style).
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets the model (builder style).
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model finished its answer.
    EndTurn,
    /// The model wants tool calls run.
    ToolUse,
    /// The answer hit the token bound.
    MaxTokens,
    /// Anything else, as the provider named it (`content_filter`, `refusal`, ...).
    Other(String),
}

/// A model's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelResponse {
    /// The text, if any.
    pub content: Option<String>,
    /// The proposed tool calls, in order.
    pub tool_calls: Vec<ModelToolCall>,
    /// Tokens consumed.
    pub usage: Usage,
    /// Why the model stopped.
    pub stop: StopReason,
    /// The model that answered, as the provider reports it.
    pub model: String,
}

impl ModelResponse {
    /// The answer as an assistant message, to append to the conversation.
    ///
    /// ```
    /// use agentsec_runtime::model::{Message, ModelResponse, StopReason, Usage};
    /// let r = ModelResponse { content: Some("hi".into()), tool_calls: vec![],
    ///     usage: Usage::default(), stop: StopReason::EndTurn, model: "m".into() };
    /// assert_eq!(r.to_message(), Message::assistant("hi"));
    /// ```
    pub fn to_message(&self) -> Message {
        Message::Assistant {
            content: self.content.clone(),
            tool_calls: self.tool_calls.clone(),
        }
    }
}
