//! Approval bound to the digest of a call's canonical arguments.

use serde::{Deserialize, Serialize};

use agentsec_core::args_digest;

use crate::identity::CallId;

/// Evidence that a person approved one exact irreversible call.
///
/// It binds the approval to the tool, the call id and a digest of the
/// arguments, so it cannot be replayed for another call or for altered
/// arguments. The tool-call path refuses an irreversible call without one
/// that matches.
///
/// ```
/// use agentsec_runtime::identity::CallId;
/// use agentsec_runtime::tool::ApprovalProof;
/// let call = CallId::new();
/// let proof = ApprovalProof::new("refund_order", call, r#"{"order_id":"o1"}"#, "bob");
/// assert!(proof.check("refund_order", call, r#"{ "order_id": "o1" }"#).is_ok());
/// assert!(proof.check("refund_order", call, r#"{"order_id":"o2"}"#).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalProof {
    /// The tool approved.
    pub tool: String,
    /// The call approved.
    pub call_id: CallId,
    /// [`args_digest`] of the approved arguments.
    pub args_sha256: String,
    /// Who approved.
    pub approver: String,
}

impl ApprovalProof {
    /// A proof that `approver` approved `tool` called as `call_id` with `raw_args`.
    pub fn new(
        tool: impl Into<String>,
        call_id: CallId,
        raw_args: &str,
        approver: impl Into<String>,
    ) -> Self {
        Self {
            tool: tool.into(),
            call_id,
            args_sha256: args_digest(raw_args),
            approver: approver.into(),
        }
    }

    /// Checks that the proof covers `tool` called as `call_id` with `raw_args`.
    pub fn check(&self, tool: &str, call_id: CallId, raw_args: &str) -> Result<(), String> {
        self.check_digest(tool, call_id, &args_digest(raw_args))
    }

    /// Checks that the proof covers `tool` called as `call_id` with arguments
    /// whose canonical digest is `digest` (what the call pipeline checks).
    pub fn check_digest(&self, tool: &str, call_id: CallId, digest: &str) -> Result<(), String> {
        if self.tool != tool {
            return Err(format!("the approval is for tool `{}`", self.tool));
        }
        if self.call_id != call_id {
            return Err(format!("the approval is for call {}", self.call_id));
        }
        if self.args_sha256 != digest {
            return Err("the approval is for other arguments".into());
        }
        Ok(())
    }
}
