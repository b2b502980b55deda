//! A person's decision on one call waiting for approval: the one type the
//! approval service signs, the store records and the engine resumes with.

use serde::{Deserialize, Serialize};

use crate::identity::{CallId, UserIdentity};
use crate::store::{ApprovalRecord, ApprovalStatus};

/// The identity recorded for decisions nobody made (expiry, a lost request).
pub const SYSTEM_APPROVER: &str = "agentsec:system";

/// A person's decision on one call waiting for approval.
///
/// [`Approvals`](super::Approvals) makes, signs and stores decisions
/// ([`RunStore::decide_approval`](crate::store::RunStore::decide_approval));
/// [`AgentRuntime::resume`](crate::engine::AgentRuntime::resume) takes them
/// to continue a paused run.
///
/// ```
/// use agentsec_runtime::hitl::{ApprovalDecision, ApprovalVerdict};
/// use agentsec_runtime::identity::{CallId, UserIdentity};
/// let call = CallId::new();
/// let bob = UserIdentity::new("bob");
/// assert_eq!(ApprovalDecision::approve(call, bob.clone()).verdict, ApprovalVerdict::Approve);
/// let edited = ApprovalDecision::approve_edited(call, bob.clone(), r#"{"amount_cents":500}"#);
/// assert!(edited.approves());
/// assert_eq!(edited.edited_arguments(), Some(r#"{"amount_cents":500}"#));
/// let no = ApprovalDecision::reject(call, bob, "wrong amount");
/// assert_eq!((no.approves(), no.reason()), (false, Some("wrong amount")));
/// assert_eq!(ApprovalDecision::expired(call).verdict, ApprovalVerdict::Expired);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// The call decided.
    pub call_id: CallId,
    /// Who decided (for an expiry: [`SYSTEM_APPROVER`]).
    pub approver: UserIdentity,
    /// What was decided.
    pub verdict: ApprovalVerdict,
    /// The approval service's signature over the decision, once signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// What became of a request for approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum ApprovalVerdict {
    /// Approved as the model wrote it.
    Approve,
    /// Approved with arguments the approver wrote; they are re-validated
    /// against the tool's schema and the policy, and the approval binds them.
    ApproveEdited {
        /// The new argument text.
        arguments: String,
    },
    /// Rejected; the reason is shown to the model.
    Reject {
        /// Why.
        reason: String,
    },
    /// Nobody decided in time; the model is told the request expired.
    Expired,
}

impl ApprovalVerdict {
    /// Whether the call may run (as written or edited).
    pub fn approves(&self) -> bool {
        matches!(self, Self::Approve | Self::ApproveEdited { .. })
    }
}

impl ApprovalDecision {
    fn new(call_id: CallId, approver: UserIdentity, verdict: ApprovalVerdict) -> Self {
        Self {
            call_id,
            approver,
            verdict,
            signature: None,
        }
    }

    /// An approval by `approver`.
    pub fn approve(call_id: CallId, approver: UserIdentity) -> Self {
        Self::new(call_id, approver, ApprovalVerdict::Approve)
    }

    /// An approval by `approver` with edited `arguments`.
    pub fn approve_edited(
        call_id: CallId,
        approver: UserIdentity,
        arguments: impl Into<String>,
    ) -> Self {
        let arguments = arguments.into();
        Self::new(
            call_id,
            approver,
            ApprovalVerdict::ApproveEdited { arguments },
        )
    }

    /// A rejection by `approver`, for `reason`.
    pub fn reject(call_id: CallId, approver: UserIdentity, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::new(call_id, approver, ApprovalVerdict::Reject { reason })
    }

    /// The request for `call_id` expired undecided.
    pub fn expired(call_id: CallId) -> Self {
        Self::new(
            call_id,
            UserIdentity::new(SYSTEM_APPROVER),
            ApprovalVerdict::Expired,
        )
    }

    /// The decision a decided approval row records; `None` while it is
    /// pending. The approver is known by id only (the row keeps no tenant).
    pub fn from_record(record: &ApprovalRecord) -> Option<Self> {
        // The decider as the signature covers them: id, roles and tenant.
        let approver = || {
            let approver = UserIdentity::new(record.decided_by.clone().unwrap_or_default())
                .with_roles(record.decided_roles.clone());
            match &record.decided_tenant {
                Some(tenant) => approver.with_tenant(tenant),
                None => approver,
            }
        };
        let call_id = record.call_id;
        Some(match (record.status, &record.edited_args) {
            (ApprovalStatus::Pending, _) => return None,
            (ApprovalStatus::Approved, Some(arguments)) => {
                Self::approve_edited(call_id, approver(), arguments.clone())
            }
            (ApprovalStatus::Approved, None) => Self::approve(call_id, approver()),
            (ApprovalStatus::Rejected, _) => Self::reject(
                call_id,
                approver(),
                record
                    .reason
                    .clone()
                    .unwrap_or_else(|| "no reason given".into()),
            ),
            (ApprovalStatus::Expired, _) => Self::expired(call_id),
        })
        .map(|decision| Self {
            signature: record.signature.clone(),
            ..decision
        })
    }

    /// Whether the decision lets the call run (as written or edited).
    pub fn approves(&self) -> bool {
        self.verdict.approves()
    }

    /// The status the store records for this decision.
    pub fn status(&self) -> ApprovalStatus {
        match self.verdict {
            ApprovalVerdict::Approve | ApprovalVerdict::ApproveEdited { .. } => {
                ApprovalStatus::Approved
            }
            ApprovalVerdict::Reject { .. } => ApprovalStatus::Rejected,
            ApprovalVerdict::Expired => ApprovalStatus::Expired,
        }
    }

    /// The rejection's reason.
    pub fn reason(&self) -> Option<&str> {
        match &self.verdict {
            ApprovalVerdict::Reject { reason } => Some(reason),
            _ => None,
        }
    }

    /// The arguments an edit-and-approve replaced the model's with.
    pub fn edited_arguments(&self) -> Option<&str> {
        match &self.verdict {
            ApprovalVerdict::ApproveEdited { arguments } => Some(arguments),
            _ => None,
        }
    }
}
