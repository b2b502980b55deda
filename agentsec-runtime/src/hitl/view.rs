use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::{CallId, RunId};
use crate::store::UnixMillis;

/// A call waiting for a person: what an approver is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// The approval's id (pass it to `approve`, `reject`, ...).
    pub id: Uuid,
    /// The run.
    pub run_id: RunId,
    /// The call.
    pub call_id: CallId,
    /// The agent.
    pub agent: String,
    /// The user the run acts for.
    pub user_id: String,
    /// The user's tenant.
    pub tenant: Option<String>,
    /// The tool.
    pub tool: String,
    /// The arguments, exactly as they will run if approved.
    pub arguments: String,
    /// Why approval is needed (irreversible, rule of two, provenance...),
    /// followed by each argument's provenance and the untrusted sources the
    /// run had read, when the call was traced.
    pub reason: String,
    /// Each argument's provenance and the untrusted sources (tool, call,
    /// step) the run had read when the call was proposed, as data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::call::ProvenanceReport>,
    /// When it was asked.
    pub requested_at: UnixMillis,
    /// The deadline.
    pub expires_at: UnixMillis,
}
