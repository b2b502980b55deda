//! What the providers' response decoders share: once a body is decoded from
//! its wire format, the same rules make it a [`ModelResponse`].

use super::{ModelResponse, ModelToolCall, StopReason, Usage};

/// A provider's reply as its wire format says it.
pub(super) struct WireReply {
    /// The model the body names, if any.
    pub(super) model: Option<String>,
    pub(super) content: Option<String>,
    pub(super) tool_calls: Vec<ModelToolCall>,
    /// The provider's stop (finish) reason, if any.
    pub(super) stop_reason: Option<String>,
    pub(super) usage: Usage,
}

impl WireReply {
    /// The response: the stop reason looked up in `stops` (a reason not
    /// there is kept as [`StopReason::Other`]; a missing one means the model
    /// wants its tool calls run, or finished when it made none), and the
    /// requested model when the body names none.
    pub(super) fn into_response(
        self,
        stops: &[(&str, StopReason)],
        requested_model: &str,
    ) -> ModelResponse {
        let stop = match self.stop_reason {
            Some(reason) => stops
                .iter()
                .find(|(wire, _)| *wire == reason)
                .map(|(_, stop)| stop.clone())
                .unwrap_or(StopReason::Other(reason)),
            None if self.tool_calls.is_empty() => StopReason::EndTurn,
            None => StopReason::ToolUse,
        };
        ModelResponse {
            content: self.content,
            tool_calls: self.tool_calls,
            usage: self.usage,
            stop,
            model: self.model.unwrap_or_else(|| requested_model.to_owned()),
        }
    }
}

/// Asserts that each body is refused by `parse` (with an error, not a
/// panic).
#[cfg(test)]
pub(super) fn assert_malformed(
    parse: fn(&[u8], &str) -> Result<ModelResponse, String>,
    bodies: &[&[u8]],
) {
    for body in bodies {
        assert!(
            parse(body, "m").is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}
