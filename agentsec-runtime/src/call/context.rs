//! Who, where and what a call is.

use crate::call::ApprovalProof;
use crate::identity::{CallId, RunId, UserIdentity};

/// Who, where and what a tool call is: everything but the model's arguments.
#[derive(Clone, Debug)]
pub struct CallContext {
    /// The run.
    pub run_id: RunId,
    /// The step of the run.
    pub step: u32,
    /// The call.
    pub call_id: CallId,
    /// The agent.
    pub agent: String,
    /// The user the agent acts for.
    pub user: UserIdentity,
    /// The approval of this call, for irreversible tools.
    pub approval: Option<ApprovalProof>,
    /// The idempotency key (stable across retries of this call).
    pub idempotency_key: Option<String>,
}

impl CallContext {
    /// A context for a new call of `agent` for `user` in `run_id` at `step`.
    pub fn new(run_id: RunId, step: u32, agent: impl Into<String>, user: UserIdentity) -> Self {
        let call_id = CallId::new();
        Self {
            run_id,
            step,
            call_id,
            agent: agent.into(),
            user,
            approval: None,
            idempotency_key: Some(call_id.to_string()),
        }
    }

    /// Attaches an approval.
    pub fn with_approval(mut self, approval: ApprovalProof) -> Self {
        self.approval = Some(approval);
        self
    }
}
