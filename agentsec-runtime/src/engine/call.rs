use serde::{Deserialize, Serialize};

use crate::tool::{ArgLimits, Tool, ToolError, decode_args};

/// A tool call with its decoded arguments and the raw text they came from.
/// The raw text is what approvals hash and what is stored.
#[derive(Debug, Clone)]
pub struct TypedCall<A> {
    /// The decoded arguments.
    pub args: A,
    /// The model's argument text.
    pub raw: String,
}

impl<A: serde::de::DeserializeOwned> TypedCall<A> {
    /// Decodes `raw` as the arguments of tool `T`.
    pub fn decode<T: Tool<Args = A>>(raw: &str) -> Result<Self, ToolError> {
        Ok(Self {
            args: decode_args(T::schema(), raw, ArgLimits::default())?,
            raw: raw.to_owned(),
        })
    }
}

/// The typed call enum the `#[agent]` macro generates (one variant per tool).
pub trait AgentCall: Sized {
    /// Decodes a model's call of tool `tool` with argument text `raw`.
    fn decode(tool: &str, raw: &str) -> Result<Self, ToolError>;
    /// The tool called.
    fn tool_name(&self) -> &'static str;
    /// The argument text.
    fn raw_arguments(&self) -> &str;
}

/// The stored form of a call: tool name and argument text. Storing the text
/// (not the typed value) keeps argument types free of a `Serialize` bound and
/// keeps the exact bytes an approval was given for.
///
/// ```
/// use agentsec_runtime::engine::StoredCall;
/// let call = StoredCall { tool: "add".into(), arguments: r#"{"a":1}"#.into() };
/// let json = serde_json::to_string(&call).unwrap();
/// assert_eq!(json, r#"{"tool":"add","arguments":"{\"a\":1}"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCall {
    /// The tool's name.
    pub tool: String,
    /// The argument text.
    pub arguments: String,
}

impl StoredCall {
    /// The stored form of `call`.
    pub fn of<C: AgentCall>(call: &C) -> Self {
        Self {
            tool: call.tool_name().to_owned(),
            arguments: call.raw_arguments().to_owned(),
        }
    }

    /// Decodes back into a typed call, re-validating the arguments.
    pub fn decode<C: AgentCall>(&self) -> Result<C, ToolError> {
        C::decode(&self.tool, &self.arguments)
    }
}

/// The call type of an agent without tools: it has no values.
#[derive(Debug, Clone, Copy)]
pub enum NoToolCall {}

impl AgentCall for NoToolCall {
    fn decode(tool: &str, _: &str) -> Result<Self, ToolError> {
        Err(ToolError::UnknownTool {
            name: tool.to_owned(),
            suggestion: None,
        })
    }

    fn tool_name(&self) -> &'static str {
        match *self {}
    }

    fn raw_arguments(&self) -> &str {
        match *self {}
    }
}
