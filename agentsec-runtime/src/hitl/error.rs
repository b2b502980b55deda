use uuid::Uuid;

use crate::engine::EngineError;
use crate::identity::RunId;
use crate::store::{ApprovalStatus, RunStatus, StoreError};

/// Why an approval could not be decided, or a run not resumed.
///
/// Every refusal is typed, so an approver UI can tell "someone else was
/// faster" from "you may not approve this" from "this record was forged".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HitlError {
    /// No approval has this id.
    #[error("no approval {0}")]
    UnknownApproval(Uuid),
    /// No run has this id.
    #[error("no run {0}")]
    UnknownRun(RunId),
    /// The approval was decided already (another approver won the race).
    #[error("approval {approval_id} was already decided ({status})")]
    AlreadyDecided {
        /// The approval.
        approval_id: Uuid,
        /// What it is now.
        status: ApprovalStatus,
    },
    /// The approval's deadline passed.
    #[error("approval {approval_id} expired")]
    Expired {
        /// The approval.
        approval_id: Uuid,
    },
    /// The approval names a call its run is not waiting on (a stale or
    /// superseded request).
    #[error("approval {approval_id} does not match a call its run waits on")]
    Stale {
        /// The approval.
        approval_id: Uuid,
    },
    /// The approval policy refuses this approver.
    #[error(
        "{} may not decide approval {approval_id}: {reason} (pass {})",
        crate::escape::Echo(approver),
        reason.fix()
    )]
    NotAllowed {
        /// The approval.
        approval_id: Uuid,
        /// Who tried.
        approver: String,
        /// Why not.
        reason: super::PolicyViolation,
    },
    /// Edited arguments do not fit the tool's schema.
    #[error("the edited arguments are invalid: {0}")]
    InvalidEdit(String),
    /// A decided approval's signature does not verify: it was forged,
    /// replayed from another call, or the call's arguments were altered.
    #[error("approval {approval_id} does not verify: {reason}")]
    BadSignature {
        /// The approval.
        approval_id: Uuid,
        /// What did not match.
        reason: String,
    },
    /// Another resume (or a worker) is driving the run right now.
    #[error("run {run_id} is busy: another process is driving it")]
    Busy {
        /// The run.
        run_id: RunId,
    },
    /// The run is over; there is nothing to resume.
    #[error("run {run_id} is finished ({status})")]
    Finished {
        /// The run.
        run_id: RunId,
        /// How it ended.
        status: RunStatus,
    },
    /// The signing key is missing or too short.
    #[error("approval signing key: {0}")]
    Key(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}
