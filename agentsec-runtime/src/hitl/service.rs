//! Listing and deciding approvals.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use uuid::Uuid;

use super::{
    ApprovalDecision, ApprovalPolicy, ApprovalVerdict, DecisionSigner, HitlError, PendingApproval,
};
use crate::engine::{CallStatus, PendingCall, RunState, StoreCheckpoints};
use crate::identity::{RunId, UserIdentity};
use crate::store::{
    ApprovalRecord, ApprovalStatus, NewAuditEntry, RunRecord, RunStore, StoreError, UnixMillis,
};
use crate::tool::{Dispatcher, args_digest};

/// People's side of approvals, over the durable store: list what waits,
/// approve (as written or with edited arguments), reject, and resume or
/// reconcile runs — from any process sharing the store.
///
/// Every decision is signed ([`DecisionSigner`]) and bound to the exact
/// tool, call and argument digest; it lands in one conditional write, so of
/// two racing approvers exactly one wins. The approver is an authenticated
/// [`UserIdentity`], checked against the [`ApprovalPolicy`] and recorded
/// with the decision and in the audit log.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_runtime::engine::StoreCheckpoints;
/// use agentsec_runtime::hitl::{ApprovalPolicy, Approvals, DecisionSigner};
/// use agentsec_runtime::store::{MemoryStore, RunStore};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
/// let checkpoints = StoreCheckpoints::new(store);
/// let signer = DecisionSigner::new(vec![7; 32]).unwrap();
/// let approvals = Approvals::new(&checkpoints, signer).with_policy(ApprovalPolicy::default().four_eyes());
/// assert!(approvals.pending(Some("support"), None).await.unwrap().is_empty());
/// # });
/// ```
pub struct Approvals {
    pub(super) checkpoints: StoreCheckpoints,
    pub(super) signer: DecisionSigner,
    pub(super) policy: ApprovalPolicy,
}

impl Approvals {
    /// Approvals over the checkpoints' store, signing with `signer`.
    pub fn new(checkpoints: &StoreCheckpoints, signer: DecisionSigner) -> Self {
        Self {
            checkpoints: checkpoints.clone(),
            signer,
            policy: ApprovalPolicy::default(),
        }
    }

    /// Who may decide (default: anyone of the run's tenant).
    pub fn with_policy(mut self, policy: ApprovalPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub(super) fn store(&self) -> &dyn RunStore {
        self.checkpoints.store().as_ref()
    }

    /// Pending, unexpired approvals of runs of `agent` and/or acting for
    /// `user_id`, oldest first, each with the arguments it would run with.
    /// Requests no stored run waits on (left by a writer that lost a race)
    /// are left out.
    pub async fn pending(
        &self,
        agent: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<PendingApproval>, HitlError> {
        let records = self.store().list_pending_approvals(agent, user_id).await?;
        let mut runs: HashMap<RunId, (RunRecord, RunState)> = HashMap::new();
        let mut out = Vec::with_capacity(records.len());
        for approval in records {
            let (run, state) = match runs.entry(approval.run_id) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(self.load_run(approval.run_id).await?),
            };
            let Some(call) = waiting_call(state, &approval) else {
                continue;
            };
            let reason = match &call.status {
                CallStatus::AwaitingApproval { reason } => reason.clone(),
                _ => String::new(),
            };
            out.push(PendingApproval {
                id: approval.id,
                run_id: approval.run_id,
                call_id: approval.call_id,
                agent: run.agent.clone(),
                user_id: run.user_id.clone(),
                tenant: run.tenant.clone(),
                tool: approval.tool.clone(),
                arguments: call.arguments.clone(),
                reason,
                provenance: call.decision.as_ref().and_then(|d| d.provenance()).cloned(),
                requested_at: approval.requested_at,
                expires_at: approval.expires_at,
            });
        }
        Ok(out)
    }

    /// The calls of one run waiting for a person (see [`pending`](Self::pending)).
    pub async fn pending_for_run(&self, run_id: RunId) -> Result<Vec<PendingApproval>, HitlError> {
        let mut all = self.pending(None, None).await?;
        all.retain(|p| p.run_id == run_id);
        Ok(all)
    }

    /// Approves the call as the model wrote it.
    pub async fn approve(
        &self,
        approval_id: Uuid,
        approver: &UserIdentity,
    ) -> Result<ApprovalRecord, HitlError> {
        self.decide(approval_id, approver, ApprovalVerdict::Approve, None)
            .await
    }

    /// Approves the call with `arguments` instead of the model's. They are
    /// validated against the tool's schema by `dispatcher` (the agent's:
    /// `runtime.dispatcher()`) now, and again with the policy when the run
    /// resumes; the approval binds the new arguments and the model is told
    /// they were edited.
    pub async fn approve_edited(
        &self,
        approval_id: Uuid,
        approver: &UserIdentity,
        arguments: impl Into<String>,
        dispatcher: &Dispatcher,
    ) -> Result<ApprovalRecord, HitlError> {
        let verdict = ApprovalVerdict::ApproveEdited {
            arguments: arguments.into(),
        };
        self.decide(approval_id, approver, verdict, Some(dispatcher))
            .await
    }

    /// Rejects the call; `reason` is shown to the model.
    pub async fn reject(
        &self,
        approval_id: Uuid,
        approver: &UserIdentity,
        reason: impl Into<String>,
    ) -> Result<ApprovalRecord, HitlError> {
        let verdict = ApprovalVerdict::Reject {
            reason: reason.into(),
        };
        self.decide(approval_id, approver, verdict, None).await
    }

    async fn decide(
        &self,
        approval_id: Uuid,
        approver: &UserIdentity,
        verdict: ApprovalVerdict,
        dispatcher: Option<&Dispatcher>,
    ) -> Result<ApprovalRecord, HitlError> {
        let record = match self.store().get_approval(approval_id).await {
            Ok(record) => record,
            Err(StoreError::NotFound { .. }) => {
                return Err(HitlError::UnknownApproval(approval_id));
            }
            Err(other) => return Err(other.into()),
        };
        match record.status {
            ApprovalStatus::Pending if record.expires_at <= UnixMillis::now() => {
                return Err(HitlError::Expired { approval_id });
            }
            ApprovalStatus::Pending => {}
            ApprovalStatus::Expired => return Err(HitlError::Expired { approval_id }),
            status => {
                return Err(HitlError::AlreadyDecided {
                    approval_id,
                    status,
                });
            }
        }
        let (run, state) = self.load_run(record.run_id).await?;
        if waiting_call(&state, &record).is_none() {
            return Err(HitlError::Stale { approval_id });
        }
        self.policy
            .check(approver, &run, verdict.approves())
            .map_err(|reason| HitlError::NotAllowed {
                approval_id,
                approver: approver.id.clone(),
                reason,
            })?;
        if let (ApprovalVerdict::ApproveEdited { arguments }, Some(dispatcher)) =
            (&verdict, dispatcher)
        {
            dispatcher
                .validate(&record.tool, arguments)
                .map_err(|e| HitlError::InvalidEdit(e.model_message()))?;
        }
        let mut decision = ApprovalDecision {
            call_id: record.call_id,
            approver: approver.clone(),
            verdict,
            signature: None,
        };
        decision.signature = Some(self.signer.sign(&record, &decision));
        let decided = match self.store().decide_approval(approval_id, &decision).await {
            Ok(decided) => decided,
            Err(StoreError::NotPending {
                status: ApprovalStatus::Expired,
                ..
            }) => return Err(HitlError::Expired { approval_id }),
            Err(StoreError::NotPending { status, .. }) => {
                return Err(HitlError::AlreadyDecided {
                    approval_id,
                    status,
                });
            }
            Err(other) => return Err(other.into()),
        };
        self.audit(
            "approval_decided",
            &approver.id,
            record.run_id,
            serde_json::json!({
                "approval_id": approval_id,
                "call_id": record.call_id,
                "tool": record.tool,
                "approved": decided.status == ApprovalStatus::Approved,
                "edited": decided.edited_args.is_some(),
                "reason": decided.reason,
            }),
        )
        .await;
        Ok(decided)
    }

    pub(super) async fn load_run(&self, run_id: RunId) -> Result<(RunRecord, RunState), HitlError> {
        let run = match self.store().get_run(run_id).await {
            Ok(run) => run,
            Err(StoreError::NotFound { .. }) => return Err(HitlError::UnknownRun(run_id)),
            Err(other) => return Err(other.into()),
        };
        let state: RunState = serde_json::from_value(run.state.clone()).map_err(|e| {
            HitlError::Store(StoreError::Corrupt {
                table: "runs",
                key: run_id.to_string(),
                message: format!("state: {e}"),
            })
        })?;
        Ok((run, state))
    }

    /// Appends to the audit chain. The decision has committed already, so a
    /// failing audit store is logged, not reported as a failed decision.
    pub(super) async fn audit(
        &self,
        kind: &str,
        actor: &str,
        run_id: RunId,
        data: serde_json::Value,
    ) {
        let entry = NewAuditEntry {
            kind: kind.to_owned(),
            actor: actor.to_owned(),
            run_id: Some(run_id),
            data,
        };
        if let Err(error) = self.store().append_audit(&entry).await {
            // The error can quote stored text: escaped in the log field.
            let error = crate::escape::echo(&error.to_string());
            tracing::error!(%run_id, kind, %error, "could not append to the audit log");
        }
    }
}

/// The call of `state` the approval is for, if the run waits on it with the
/// same tool and arguments.
pub(super) fn waiting_call<'a>(
    state: &'a RunState,
    approval: &ApprovalRecord,
) -> Option<&'a PendingCall> {
    state.pending.iter().find(|c| {
        c.call_id == approval.call_id
            && c.tool == approval.tool
            && matches!(c.status, CallStatus::AwaitingApproval { .. })
            && args_digest(&c.arguments) == approval.args_sha256
    })
}
