//! Resuming and reconciling runs: single flight, signatures verified.

use super::service::waiting_call;
use super::{ApprovalDecision, Approvals, HitlError, SYSTEM_APPROVER};
use crate::engine::{
    Agent, AgentRuntime, LeaseGuard, Phase, Resolution, RunOutcome, RunReport, RunState,
};
use crate::identity::{CallId, RunId, UserIdentity};
use crate::store::{self, ApprovalRecord, ApprovalStatus, StoreError, UnixMillis};

impl Approvals {
    /// Continues a run from the store — in this process or another — with
    /// the decisions people made: each decision's signature and binding
    /// (tool, call, arguments) is verified first, and one that does not
    /// verify stops the resume with nothing applied. Undecided requests past
    /// their deadline become expirations. A run that is not paused (it was
    /// interrupted) is continued from its last checkpoint only once every
    /// call its state marks approved has verified against its signed
    /// decision; otherwise the run is stopped and this is
    /// [`HitlError::Engine`] with
    /// [`EngineError::ApprovalIntegrity`](crate::engine::EngineError::ApprovalIntegrity).
    ///
    /// Single flight: while another resume or a worker drives the run this
    /// is [`HitlError::Busy`]; a finished run is [`HitlError::Finished`].
    /// Neither changes anything.
    pub async fn resume<A: Agent>(
        &self,
        runtime: &AgentRuntime<A>,
        run_id: RunId,
    ) -> Result<RunReport, HitlError> {
        let lease = self.lease(run_id).await?;
        let result = self.resume_leased(runtime, lease.record()).await;
        lease.release().await;
        result
    }

    /// Settles a call in doubt (the run is in
    /// [`Phase::NeedsReconciliation`]: the process died while the call ran)
    /// with what `resolver` found out, and continues the run. The resolver
    /// must pass the approval policy, as an approver would.
    pub async fn reconcile<A: Agent>(
        &self,
        runtime: &AgentRuntime<A>,
        run_id: RunId,
        call_id: CallId,
        resolution: Resolution,
        resolver: &UserIdentity,
    ) -> Result<RunReport, HitlError> {
        let lease = self.lease(run_id).await?;
        let result = async {
            let run = lease.record();
            if run.status.is_terminal() {
                return Err(HitlError::Finished {
                    run_id,
                    status: run.status,
                });
            }
            self.policy
                .check(resolver, run, true)
                .map_err(|reason| HitlError::NotAllowed {
                    approval_id: call_id.as_uuid(),
                    approver: resolver.id.clone(),
                    reason,
                })?;
            let executed = matches!(resolution, Resolution::Executed { .. });
            let report = runtime
                .reconcile(run_id, call_id, resolution, resolver)
                .await?;
            self.audit(
                "call_reconciled",
                &resolver.id,
                run_id,
                serde_json::json!({ "call_id": call_id, "executed": executed }),
            )
            .await;
            Ok(report)
        }
        .await;
        lease.release().await;
        result
    }

    async fn lease(&self, run_id: RunId) -> Result<LeaseGuard, HitlError> {
        LeaseGuard::acquire(&self.checkpoints, run_id)
            .await
            .map_err(|e| match e {
                StoreError::Busy { run_id } => HitlError::Busy { run_id },
                StoreError::NotFound { .. } => HitlError::UnknownRun(run_id),
                other => HitlError::Store(other),
            })
    }

    async fn resume_leased<A: Agent>(
        &self,
        runtime: &AgentRuntime<A>,
        run: &store::RunRecord,
    ) -> Result<RunReport, HitlError> {
        let run_id = run.id;
        if run.status.is_terminal() {
            return Err(HitlError::Finished {
                run_id,
                status: run.status,
            });
        }
        let state = runtime.state(run_id).await?;
        if state.phase != Phase::AwaitingApproval {
            return Ok(runtime.continue_run(run_id).await?);
        }
        let decisions = self.verified_decisions(run, &state).await?;
        if decisions.is_empty() {
            let outcome = RunOutcome::of(&state).unwrap_or(RunOutcome::AwaitingApproval {
                pending: Vec::new(),
            });
            return Ok(RunReport {
                run_id,
                outcome,
                state,
            });
        }
        Ok(runtime.resume(run_id, decisions).await?)
    }

    /// The decisions on the calls `state` waits on, each verified; calls
    /// nobody decided yet (and whose request is open) are left out.
    async fn verified_decisions(
        &self,
        run: &store::RunRecord,
        state: &RunState,
    ) -> Result<Vec<ApprovalDecision>, HitlError> {
        let mut decisions = Vec::new();
        for call in state.awaiting_approval() {
            let approval_id = call.call_id.as_uuid();
            let record = match self.store().get_approval(approval_id).await {
                Ok(record) => record,
                // A paused run always has its rows (they are written before
                // the state); a missing one was deleted: nobody can approve.
                Err(StoreError::NotFound { .. }) => {
                    decisions.push(ApprovalDecision::reject(
                        call.call_id,
                        UserIdentity::new(SYSTEM_APPROVER),
                        "the request for approval was lost",
                    ));
                    continue;
                }
                Err(other) => return Err(other.into()),
            };
            let decision = match record.status {
                ApprovalStatus::Pending if record.expires_at > UnixMillis::now() => continue,
                ApprovalStatus::Pending => {
                    self.expire(&record).await?;
                    ApprovalDecision::expired(call.call_id)
                }
                ApprovalStatus::Expired => ApprovalDecision::expired(call.call_id),
                ApprovalStatus::Approved | ApprovalStatus::Rejected => {
                    self.check_binding(state, &record)?;
                    // Decided after its deadline (a store that did not
                    // check): nobody approved it in time.
                    if record.decided_at.is_none_or(|at| at > record.expires_at) {
                        decisions.push(ApprovalDecision::expired(call.call_id));
                        continue;
                    }
                    // The identity signed into the decision, checked against
                    // this application's policy, whichever process decided.
                    let mut approver =
                        UserIdentity::new(record.decided_by.clone().unwrap_or_default())
                            .with_roles(record.decided_roles.clone());
                    if let Some(tenant) = &record.decided_tenant {
                        approver = approver.with_tenant(tenant);
                    }
                    if record.status == ApprovalStatus::Approved
                        && let Err(violation) = self.policy.check(&approver, run, true)
                    {
                        self.audit(
                            "approval_refused_by_policy",
                            &approver.id,
                            run.id,
                            serde_json::json!({
                                "approval_id": record.id,
                                "call_id": record.call_id,
                                "reason": violation.to_string(),
                            }),
                        )
                        .await;
                        decisions.push(ApprovalDecision::reject(
                            call.call_id,
                            UserIdentity::new(SYSTEM_APPROVER),
                            format!(
                                "the approval by `{}` does not satisfy the approval policy: {violation}",
                                crate::escape::echo(&approver.id)
                            ),
                        ));
                        continue;
                    }
                    ApprovalDecision::from_record(&record).ok_or_else(|| {
                        HitlError::BadSignature {
                            approval_id: record.id,
                            reason: "the approval is not decided".into(),
                        }
                    })?
                }
            };
            decisions.push(decision);
        }
        Ok(decisions)
    }

    /// The signature verifies, and the approval is for this run's call with
    /// these arguments.
    fn check_binding(&self, state: &RunState, record: &ApprovalRecord) -> Result<(), HitlError> {
        let bad = |reason: String| HitlError::BadSignature {
            approval_id: record.id,
            reason,
        };
        self.signer.verify(record).map_err(bad)?;
        if record.run_id != state.run_id {
            return Err(bad(format!("it is for run {}", record.run_id)));
        }
        if waiting_call(state, record).is_none() {
            return Err(bad(
                "the run's call has another tool or other arguments than were approved".into(),
            ));
        }
        Ok(())
    }

    /// Marks an undecided request past its deadline as expired.
    async fn expire(&self, record: &ApprovalRecord) -> Result<(), HitlError> {
        let expired = ApprovalDecision::expired(record.call_id);
        match self.store().decide_approval(record.id, &expired).await {
            // Marked expired by us or, past its deadline, by the store:
            // either way nobody approved it.
            Ok(_) | Err(StoreError::NotPending { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}
