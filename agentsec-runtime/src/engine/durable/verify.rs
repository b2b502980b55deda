//! Before an approved call runs: the signed decision is verified, not the
//! state; and the writer's lease is fenced.

use std::sync::Arc;

use super::{StoreCheckpoints, approval_id, store_error};
use crate::engine::checkpoint::{CallIntent, IntentBegin, IntentOutcome};
use crate::engine::{CheckpointError, PendingCall, RunState};
use crate::hitl::{ApprovalPolicy, DecisionSigner};
use crate::identity::{RunId, UserIdentity};
use crate::store::{ApprovalStatus, Fence, StoreError};
use crate::tool::{ApprovalProof, args_digest};

/// What the durable checkpoints verify approvals with: the key decisions
/// are signed with and the policy approvers must satisfy.
#[derive(Clone)]
pub(super) struct ApprovalCheck {
    pub(super) key: Option<Arc<DecisionSigner>>,
    pub(super) policy: ApprovalPolicy,
}

impl StoreCheckpoints {
    /// The signed decision for `call`, verified: the signature with the
    /// approval key; the decision approves; it is for this run, call and
    /// tool; the arguments the call would run with are the ones approved
    /// (as the model wrote them, or as the approver edited them); it was
    /// decided before its deadline; and the approver, as signed, satisfies
    /// the approval policy. Returns the proof the call runs under, built
    /// from the verified decision (never from the state).
    ///
    /// Every executor of approved calls uses this one check: the engine's
    /// drivers and workers, and servers that run a call a person approved
    /// (`agentsec-mcp`). Without an approval key
    /// ([`StoreCheckpoints::with_approval_key`]) nothing verifies.
    ///
    /// # Errors
    /// [`CheckpointError::Integrity`] when the decision is missing, not an
    /// approval, forged, for another run, call, tool or arguments, late, or
    /// by an approver the policy refuses; [`CheckpointError::Backend`] when
    /// no key is configured or the store fails.
    pub async fn verify_approved(
        &self,
        state: &RunState,
        call: &PendingCall,
    ) -> Result<ApprovalProof, CheckpointError> {
        let integrity = |reason: String| CheckpointError::Integrity {
            run_id: state.run_id,
            call_id: call.call_id,
            reason,
        };
        let Some(key) = &self.approvals.key else {
            return Err(CheckpointError::Backend(
                "approved calls cannot be verified: no approval key is configured \
                 (`StoreCheckpoints::with_approval_key`)"
                    .into(),
            ));
        };
        let record = match self.store.get_approval(approval_id(call.call_id)).await {
            Ok(record) => record,
            Err(StoreError::NotFound { .. }) => {
                return Err(integrity("no decision is stored for it".into()));
            }
            Err(StoreError::Corrupt { message, .. }) => {
                return Err(integrity(format!("its decision is unreadable: {message}")));
            }
            Err(other) => return Err(store_error(other)),
        };
        if record.status != ApprovalStatus::Approved {
            return Err(integrity(format!("its decision is `{}`", record.status)));
        }
        key.verify(&record)
            .map_err(|reason| integrity(format!("its decision does not verify: {reason}")))?;
        if record.run_id != state.run_id || record.call_id != call.call_id {
            return Err(integrity("its decision is for another run or call".into()));
        }
        if record.tool != call.tool {
            return Err(integrity(format!(
                "its decision is for tool `{}`",
                crate::escape::echo(&record.tool)
            )));
        }
        let approved = match &record.edited_args {
            Some(edited) => args_digest(edited),
            None => record.args_sha256.clone(),
        };
        if args_digest(&call.arguments) != approved {
            return Err(integrity(
                "its arguments are not the ones that were approved".into(),
            ));
        }
        if record.decided_at.is_none_or(|at| at > record.expires_at) {
            return Err(integrity("it was decided after its deadline".into()));
        }
        let run = self
            .store
            .get_run(state.run_id)
            .await
            .map_err(store_error)?;
        let decided_by = record.decided_by.clone().unwrap_or_default();
        let mut approver =
            UserIdentity::new(decided_by.clone()).with_roles(record.decided_roles.clone());
        if let Some(tenant) = &record.decided_tenant {
            approver = approver.with_tenant(tenant);
        }
        self.approvals
            .policy
            .check(&approver, &run, true)
            .map_err(|violation| {
                integrity(format!(
                    "its approver does not satisfy the approval policy: {violation}"
                ))
            })?;
        Ok(ApprovalProof {
            tool: record.tool,
            call_id: record.call_id,
            args_sha256: approved,
            approver: decided_by,
        })
    }

    /// The fence of this owner's lease on the run, taking the lease if it
    /// is free.
    pub(super) async fn current_fence(&self, run_id: RunId) -> Result<Fence, CheckpointError> {
        self.hold_lease(run_id).await?;
        self.store
            .lease_fence(run_id, &self.owner)
            .await
            .map_err(store_error)
    }

    /// Writes the intent while `fence` holds.
    pub(super) async fn begin_fenced(
        &self,
        intent: &CallIntent,
        fence: &Fence,
    ) -> Result<IntentBegin, CheckpointError> {
        let new = super::checkpoints::new_intent(intent);
        match self.store.record_intent_fenced(&new, fence).await {
            Ok(_) => Ok(IntentBegin::Started),
            Err(StoreError::DuplicateIntent { .. }) => self.existing(intent).await,
            Err(other) => Err(store_error(other)),
        }
    }

    /// Writes the result while `fence` holds.
    pub(super) async fn finish_fenced(
        &self,
        run_id: RunId,
        call_id: crate::identity::CallId,
        outcome: &IntentOutcome,
        fence: &Fence,
    ) -> Result<(), CheckpointError> {
        let value = serde_json::to_value(outcome)
            .map_err(|e| CheckpointError::Backend(format!("cannot encode a result: {e}")))?;
        self.store
            .record_intent_result_fenced(run_id, call_id, &value, fence)
            .await
            .map(|_| ())
            .map_err(store_error)
    }
}
