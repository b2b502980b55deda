//! The typed record of a call: what was decided, who approved, how it
//! ended. Stored with the run and printed by `agentsec trace`; nothing here
//! is prose to parse.

use serde::{Deserialize, Serialize};

/// Who approved a call, when, and whether they changed its arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// The approver's user id.
    pub approver: String,
    /// When the decision was applied (Unix milliseconds).
    pub decided_at_ms: u64,
    /// Whether the approver edited the arguments before approving.
    pub edited: bool,
}

/// How a call that ran ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CallOutcome {
    /// The tool returned a result.
    Ok,
    /// The tool (or a check at the point of execution) returned an error.
    ToolError {
        /// The error, as the model saw it.
        message: String,
    },
    /// The tool's body panicked; the panic was caught and the run went on.
    Panicked {
        /// The panic's message (redacted).
        message: String,
    },
}
