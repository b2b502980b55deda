use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ApprovalStatus, UnixMillis};
use crate::identity::{CallId, RunId};

/// A request for a person to approve one irreversible call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApproval {
    /// The approval's id.
    pub id: Uuid,
    /// The run that wants to make the call.
    pub run_id: RunId,
    /// The call.
    pub call_id: CallId,
    /// The tool's name.
    pub tool: String,
    /// SHA-256 (hex) of the call's arguments: the approval is bound to them.
    pub args_sha256: String,
    /// Who asked (the agent and user, as the engine names them).
    pub requested_by: String,
    /// After this the approval can no longer be decided.
    pub expires_at: UnixMillis,
}

/// A stored approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// The approval's id.
    pub id: Uuid,
    /// The run.
    pub run_id: RunId,
    /// The call.
    pub call_id: CallId,
    /// The tool's name.
    pub tool: String,
    /// SHA-256 (hex) of the arguments the approval is bound to.
    pub args_sha256: String,
    /// Pending, approved, rejected or expired.
    pub status: ApprovalStatus,
    /// Who asked.
    pub requested_by: String,
    /// When it was asked.
    pub requested_at: UnixMillis,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The roles the decider held when deciding (signed with the decision;
    /// the application's approval policy is checked against them again
    /// when the decision is applied).
    #[serde(default)]
    pub decided_roles: Vec<String>,
    /// The tenant the decider acted in (signed with the decision).
    #[serde(default)]
    pub decided_tenant: Option<String>,
    /// Why (free text from the approver).
    pub reason: Option<String>,
    /// Arguments edited by the approver (JSON text, re-validated by the engine).
    pub edited_args: Option<String>,
    /// The deadline.
    pub expires_at: UnixMillis,
    /// When it was decided.
    pub decided_at: Option<UnixMillis>,
    /// The approver's signature over the decision, when the caller signs.
    pub signature: Option<String>,
}

/// The intent to make an irreversible call, written before the call runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIntent {
    /// The run.
    pub run_id: RunId,
    /// The call (one intent per call, ever).
    pub call_id: CallId,
    /// The key passed to idempotent tools on retry.
    pub idempotency_key: String,
    /// The approval that allowed the call.
    pub approval_id: Option<Uuid>,
}

/// A stored intent and, once the call returned, its result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentRecord {
    /// The run.
    pub run_id: RunId,
    /// The call.
    pub call_id: CallId,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The approval that allowed the call.
    pub approval_id: Option<Uuid>,
    /// When the intent was written.
    pub started_at: UnixMillis,
    /// The call's result, once known.
    pub result: Option<serde_json::Value>,
    /// When the result was written.
    pub finished_at: Option<UnixMillis>,
}
