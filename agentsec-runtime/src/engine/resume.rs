//! Continuing saved runs: applying people's decisions, reconciling a call
//! in doubt, and driving a run a worker claimed.

use super::checkpoint::IntentOutcome;
use super::run_loop::tool_message;
use super::{
    Agent, AgentRuntime, ArgumentEdit, CallStatus, EngineError, Phase, RunReport, RunState,
};
use crate::call::{ApprovalRecord, CallDecision};
use crate::hitl::{ApprovalDecision, ApprovalVerdict};
use crate::identity::{CallId, RunId, UserIdentity};
use crate::tool::{ApprovalProof, CallContext};
use crate::trace::SecurityEvent;

/// What a person found out about a call in doubt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The call did happen; `result` is what it returned (shown to the model).
    Executed {
        /// The result, as text.
        result: String,
    },
    /// The call did not take effect: the person looked its idempotency key
    /// up downstream and found nothing. The model is told; it may propose
    /// the call again, which then needs a new approval. (A driver that
    /// stalled inside the call and comes back later is fenced off: it
    /// records nothing, and its lease no longer lets it start the call.)
    NotExecuted,
}

impl<A: Agent> AgentRuntime<A> {
    /// Creates a run without driving it: a worker sharing the checkpoint
    /// store picks it up (see `Worker`). Secrets the redactor knows are
    /// removed from `input` first, as in [`start`](AgentRuntime::start). The
    /// run is created in one write, unleased: once this returns the run
    /// exists, whichever worker drives it. To retry safely, use
    /// [`submit_with_key`](AgentRuntime::submit_with_key).
    pub async fn submit(
        &self,
        user: UserIdentity,
        input: impl Into<String>,
    ) -> Result<RunState, EngineError> {
        self.submit_request(user, input.into(), None).await
    }

    /// Continues a saved run from where it is (after a crash, or when a
    /// worker claimed it) until it completes, halts, fails or pauses. A run
    /// that waits for people is returned as it is.
    ///
    /// Every call the saved state says was approved is verified against its
    /// signed decision first; one that does not verify stops the run
    /// ([`EngineError::ApprovalIntegrity`]) with nothing run.
    pub async fn continue_run(&self, run_id: RunId) -> Result<RunReport, EngineError> {
        let mut state = self.state(run_id).await?;
        if state.phase.is_finished() {
            return Err(EngineError::Finished {
                run_id,
                phase: state.phase.name(),
            });
        }
        self.verify_approved_calls(&mut state).await?;
        if let Phase::NeedsReconciliation { call_id, .. } = state.phase {
            return self.heal(state, call_id).await;
        }
        self.drive(state).await
    }

    /// Retries a run that failed because the model provider failed in a way
    /// that may pass (unreachable, timed out, rate-limited, a 5xx; see
    /// [`ModelError::is_transient`](crate::model::ModelError::is_transient)),
    /// from its last checkpoint: the model is asked again for the turn that
    /// failed, with the conversation, spend and calls the run had. Any other
    /// run is refused with [`EngineError::NotRetryable`].
    pub async fn retry(&self, run_id: RunId) -> Result<RunReport, EngineError> {
        let mut state = self.state(run_id).await?;
        match &state.phase {
            Phase::Failed {
                transient: true, ..
            } => {}
            other => {
                return Err(EngineError::NotRetryable {
                    run_id,
                    phase: other.name(),
                });
            }
        }
        state.phase = Phase::AwaitingModel;
        self.save(&mut state).await?;
        self.drive(state).await
    }

    /// Applies people's decisions to a run waiting for approval and, once
    /// every waiting call is decided, continues it.
    pub async fn resume(
        &self,
        run_id: RunId,
        decisions: impl IntoIterator<Item = ApprovalDecision>,
    ) -> Result<RunReport, EngineError> {
        let mut state = self.state(run_id).await?;
        if state.phase != Phase::AwaitingApproval {
            return Err(EngineError::NotAwaitingApproval {
                run_id,
                phase: state.phase.name(),
            });
        }
        for decision in decisions {
            self.apply(&mut state, decision).await?;
        }
        if state.awaiting_approval().next().is_none() {
            state.phase = Phase::ToolCallsProposed;
        }
        self.save(&mut state).await?;
        self.drive(state).await
    }

    /// Settles a call in doubt (the run is in
    /// [`Phase::NeedsReconciliation`]) with what a person found out, and
    /// continues the run. The resolution is written as the call's result,
    /// so it holds for every worker.
    pub async fn reconcile(
        &self,
        run_id: RunId,
        call_id: CallId,
        resolution: Resolution,
        resolver: &UserIdentity,
    ) -> Result<RunReport, EngineError> {
        let state = self.state(run_id).await?;
        if !matches!(state.phase, Phase::NeedsReconciliation { call_id: c, .. } if c == call_id) {
            return Err(EngineError::NotReconciling { run_id, call_id });
        }
        let outcome = match resolution {
            Resolution::Executed { result } => IntentOutcome::Executed { content: result },
            Resolution::NotExecuted => IntentOutcome::Failed {
                error: format!(
                    "the call was interrupted; {} checked its idempotency key `{}` downstream \
                     and found it did not take effect; propose it again if it is still needed",
                    resolver.id,
                    super::once::idempotency_key(call_id),
                ),
            },
        };
        // If another worker finished the call meanwhile, its result stands.
        if self
            .checkpoints
            .intent(run_id, call_id)
            .await?
            .is_none_or(|i| i.outcome.is_none())
        {
            self.checkpoints
                .finish_intent(run_id, call_id, &outcome)
                .await?;
        }
        self.heal(state, call_id).await
    }

    /// Leaves reconciliation once the call's intent has a result.
    async fn heal(&self, mut state: RunState, call_id: CallId) -> Result<RunReport, EngineError> {
        let run_id = state.run_id;
        let recorded = self.checkpoints.intent(run_id, call_id).await?;
        let Some(outcome) = recorded.and_then(|r| r.outcome) else {
            // Still in doubt: nothing to do until a person reconciles.
            return self.drive(state).await;
        };
        let index = state
            .pending
            .iter()
            .position(|c| c.call_id == call_id)
            .ok_or(EngineError::NotReconciling { run_id, call_id })?;
        self.apply_outcome(&mut state, index, &outcome);
        state.phase = Phase::ToolCallsProposed;
        self.save(&mut state).await?;
        self.drive(state).await
    }

    async fn apply(
        &self,
        state: &mut RunState,
        decision: ApprovalDecision,
    ) -> Result<(), EngineError> {
        let run_id = state.run_id;
        let index = state
            .pending
            .iter()
            .position(|c| {
                c.call_id == decision.call_id
                    && matches!(c.status, CallStatus::AwaitingApproval { .. })
            })
            .ok_or(EngineError::NotPending {
                run_id,
                call_id: decision.call_id,
            })?;
        let approver = decision.approver.id.clone();
        let (message, status) = match decision.verdict {
            ApprovalVerdict::Approve | ApprovalVerdict::ApproveEdited { .. } => {
                let edited = matches!(decision.verdict, ApprovalVerdict::ApproveEdited { .. });
                if let ApprovalVerdict::ApproveEdited { arguments } = decision.verdict {
                    let arguments = self.check_edit(state, index, &arguments).await?;
                    let call = &mut state.pending[index];
                    state.edits.push(ArgumentEdit {
                        call_id: call.call_id,
                        original_arguments: std::mem::replace(&mut call.arguments, arguments),
                        edited_by: approver.clone(),
                    });
                }
                let call = &state.pending[index];
                self.events.publish(SecurityEvent::ApprovalGranted {
                    run_id,
                    call_id: call.call_id,
                    tool: call.tool.clone(),
                    approver: approver.clone(),
                });
                // The proof binds the arguments the call will run with.
                let proof =
                    ApprovalProof::new(&call.tool, call.call_id, &call.arguments, &approver);
                state.pending[index].approval = Some(ApprovalRecord {
                    approver: approver.clone(),
                    decided_at_ms: now_ms(),
                    edited,
                });
                (None, CallStatus::Approved { proof })
            }
            ApprovalVerdict::Reject { reason } => {
                let call = &state.pending[index];
                self.events.publish(SecurityEvent::ApprovalRejected {
                    run_id,
                    call_id: call.call_id,
                    tool: call.tool.clone(),
                    approver: approver.clone(),
                    reason: reason.clone(),
                });
                let text = format!("a person ({approver}) rejected this call: {reason}");
                (
                    Some(tool_message(call, text, true)),
                    CallStatus::Rejected { approver, reason },
                )
            }
            ApprovalVerdict::Expired => {
                let call = &state.pending[index];
                let text = "the request for a person's approval of this call expired before \
                            anyone decided; the call did not run"
                    .to_owned();
                (Some(tool_message(call, text, true)), CallStatus::Expired)
            }
        };
        state.pending[index].status = status;
        state.messages.extend(message);
        Ok(())
    }

    /// Edited arguments go through the pipeline's first two steps exactly
    /// like the model's: decoded strictly, then decided (policy and outgoing
    /// checks). Returns their canonical text, which the approval binds.
    async fn check_edit(
        &self,
        state: &RunState,
        index: usize,
        arguments: &str,
    ) -> Result<String, EngineError> {
        let call = &state.pending[index];
        let refuse = |error: String| EngineError::InvalidEdit {
            call_id: call.call_id,
            error,
        };
        let validated = self
            .dispatcher
            .decode(&call.tool, arguments)
            .map_err(|e| refuse(e.model_message()))?;
        let context = CallContext {
            run_id: state.run_id,
            step: call.step,
            call_id: call.call_id,
            agent: state.agent.clone(),
            user: state.user.clone(),
            approval: None,
            idempotency_key: None,
        };
        match self
            .dispatcher
            .decide(&self.scope(state, &context), &validated)
            .await
        {
            CallDecision::DeniedByPolicy { reason, .. } => {
                Err(refuse(format!("denied by policy: {reason}")))
            }
            CallDecision::RefusedOutgoing { reason } | CallDecision::Invalid { error: reason } => {
                Err(refuse(reason))
            }
            CallDecision::Allowed | CallDecision::NeedsApproval { .. } => {
                Ok(validated.canonical().to_owned())
            }
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
