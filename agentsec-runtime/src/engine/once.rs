//! Exactly once: an approved call runs at most once, whatever crashes or
//! races, and exactly once when it was approved and the run completes.
//!
//! Before the engine runs an approved call it commits the call's intent
//! ([`Checkpoints::begin_intent`](super::Checkpoints::begin_intent)); right
//! after the call returns it commits the result. On recovery an intent is
//! found again instead of being written:
//!
//! - with a result: the call happened; the stored result is given to the
//!   model and the call does not run again;
//! - without one (the process died mid-call): an `idempotent` tool is retried
//!   with the same idempotency key; any other tool moves the run to
//!   [`Phase::NeedsReconciliation`] for a person to say what happened.
//!
//! Of two workers racing for one call, the store lets exactly one write the
//! intent; the other finds it.

use super::checkpoint::{CallIntent, IntentBegin, IntentOutcome};
use super::run_loop::tool_message;
use super::{Agent, AgentRuntime, CallStatus, CheckpointError, EngineError, Phase, RunState};
use crate::budget::{BudgetMeter, BudgetOutcome};
use crate::identity::{CallId, RunId};
use crate::model::Message;
use crate::store::Fence;
use crate::tool::ApprovalProof;
use crate::trace::SecurityEvent;

/// The idempotency key of a call: stable across retries (the engine passes
/// the same text as `CallContext::idempotency_key`).
pub(super) fn idempotency_key(call_id: CallId) -> String {
    call_id.to_string()
}

/// What the drive loop does after [`AgentRuntime::before_step`].
pub(super) enum BeforeStep {
    /// Take the step; if it runs the guarded call, record its result after.
    Step(Option<Guarded>),
    /// The state was advanced already (a recorded result applied, or the
    /// run moved to reconciliation): save it, take no step.
    Done,
}

/// An approved call whose intent was committed and which the step runs.
pub(super) struct Guarded {
    index: usize,
    call_id: CallId,
}

impl<A: Agent> AgentRuntime<A> {
    /// Commits the intent of the approved call the next step would run.
    pub(super) async fn before_step(
        &self,
        state: &mut RunState,
        fence: Option<&Fence>,
    ) -> Result<BeforeStep, EngineError> {
        if state.phase != Phase::ToolCallsProposed {
            return Ok(BeforeStep::Step(None));
        }
        let Some(index) = state.next_open_call() else {
            return Ok(BeforeStep::Step(None));
        };
        let Some(call) = state.pending.get(index) else {
            return Ok(BeforeStep::Step(None));
        };
        if !matches!(call.status, CallStatus::Approved { .. }) {
            return Ok(BeforeStep::Step(None));
        }
        // Over budget the step halts the run instead of calling: no intent.
        let meter = BudgetMeter::new(A::SPEC.budget);
        if matches!(
            meter.before_tool_call(&state.spend),
            BudgetOutcome::Exceeded { .. }
        ) {
            return Ok(BeforeStep::Step(None));
        }
        // The call runs under the signed decision, verified now, not under
        // what the state says.
        let proof = self.verified_proof(state, index).await?;
        let call = &mut state.pending[index];
        call.status = CallStatus::Approved { proof };
        let intent = CallIntent {
            run_id: state.run_id,
            call_id: call.call_id,
            tool: call.tool.clone(),
            idempotency_key: idempotency_key(call.call_id),
            approved: true,
        };
        let guard = Guarded {
            index,
            call_id: call.call_id,
        };
        match self.checkpoints.begin_intent_fenced(&intent, fence).await? {
            IntentBegin::Started => {
                self.still_fenced(state.run_id, fence).await?;
                Ok(BeforeStep::Step(Some(guard)))
            }
            IntentBegin::Existing(recorded) => match recorded.outcome {
                Some(outcome) => {
                    tracing::info!(call_id = %intent.call_id, tool = %intent.tool,
                        "the call ran before; using its recorded result");
                    self.apply_outcome(state, index, &outcome);
                    Ok(BeforeStep::Done)
                }
                None if self
                    .dispatcher
                    .spec(&intent.tool)
                    .is_some_and(|spec| spec.idempotent) =>
                {
                    tracing::warn!(call_id = %intent.call_id, tool = %intent.tool,
                        "retrying an interrupted idempotent call with its idempotency key");
                    self.still_fenced(state.run_id, fence).await?;
                    Ok(BeforeStep::Step(Some(guard)))
                }
                None => {
                    tracing::warn!(call_id = %intent.call_id, tool = %intent.tool,
                        idempotency_key = %intent.idempotency_key,
                        "a call is in doubt (its intent has no result; it may or may not have \
                         happened): needs reconciliation");
                    state.phase = Phase::NeedsReconciliation {
                        call_id: intent.call_id,
                        tool: intent.tool,
                        idempotency_key: intent.idempotency_key,
                    };
                    Ok(BeforeStep::Done)
                }
            },
        }
    }

    /// Commits the result of the guarded call the step ran.
    pub(super) async fn after_step(
        &self,
        state: &mut RunState,
        guard: Option<Guarded>,
        fence: Option<&Fence>,
    ) -> Result<(), EngineError> {
        let Some(guard) = guard else {
            return Ok(());
        };
        let Some(call) = state
            .pending
            .get(guard.index)
            .filter(|c| c.call_id == guard.call_id)
        else {
            return Ok(());
        };
        let outcome = match &call.status {
            CallStatus::Executed => IntentOutcome::Executed {
                content: tool_result_text(&state.messages, &call.model_call_id).unwrap_or_default(),
            },
            CallStatus::Failed { error } => IntentOutcome::Failed {
                error: error.clone(),
            },
            // The step did not run the call (it halted the run instead): the
            // intent stays open, which is the truth as far as anyone knows.
            _ => return Ok(()),
        };
        // A driver whose lease was taken over records nothing: the call
        // stays in doubt for the new holder to reconcile.
        self.checkpoints
            .finish_intent_fenced(state.run_id, guard.call_id, &outcome, fence)
            .await?;
        self.note_edit(state, guard.call_id);
        Ok(())
    }

    /// Right before an approved call starts: the lease is still this
    /// driver's (nobody took the run over while the intent was written).
    async fn still_fenced(&self, run_id: RunId, fence: Option<&Fence>) -> Result<(), EngineError> {
        if let Some(fence) = fence {
            self.checkpoints.check_fence(run_id, fence).await?;
        }
        Ok(())
    }

    /// The proof the approved call at `index` runs under, from its verified
    /// signed decision. When none verifies the run is stopped: a security
    /// event, the run failed and saved, [`EngineError::ApprovalIntegrity`].
    pub(super) async fn verified_proof(
        &self,
        state: &mut RunState,
        index: usize,
    ) -> Result<ApprovalProof, EngineError> {
        let call = &state.pending[index];
        match self.checkpoints.verify_approval(state, call).await {
            Ok(proof) => Ok(proof),
            Err(CheckpointError::Integrity {
                run_id,
                call_id,
                reason,
            }) => {
                let tool = call.tool.clone();
                tracing::error!(%run_id, %call_id, tool = %crate::escape::echo(&tool), %reason,
                    "a call marked approved has no verifying decision: the run is stopped");
                self.events.publish(SecurityEvent::ApprovalIntegrity {
                    run_id,
                    agent: state.agent.clone(),
                    tool,
                    call_id,
                    reason: reason.clone(),
                });
                state.phase = Phase::Failed {
                    error: format!(
                        "integrity: call {call_id} is marked approved but {reason}; nothing ran"
                    ),
                    transient: false,
                };
                self.save(state).await?;
                Err(EngineError::ApprovalIntegrity {
                    run_id,
                    call_id,
                    reason,
                })
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Verifies every call the state says was approved, before a run that
    /// was not paused for approval is continued (see [`Self::verified_proof`]).
    pub(super) async fn verify_approved_calls(
        &self,
        state: &mut RunState,
    ) -> Result<(), EngineError> {
        for index in 0..state.pending.len() {
            if matches!(state.pending[index].status, CallStatus::Approved { .. }) {
                self.verified_proof(state, index).await?;
            }
        }
        Ok(())
    }

    /// Gives the model a recorded result and closes the call.
    pub(super) fn apply_outcome(
        &self,
        state: &mut RunState,
        index: usize,
        outcome: &IntentOutcome,
    ) {
        let Some(call) = state.pending.get(index).cloned() else {
            return;
        };
        let (message, status) = match outcome {
            IntentOutcome::Executed { content } => (
                tool_message(&call, content.clone(), false),
                CallStatus::Executed,
            ),
            IntentOutcome::Failed { error } => (
                tool_message(&call, error.clone(), true),
                CallStatus::Failed {
                    error: error.clone(),
                },
            ),
        };
        state.messages.push(message);
        if let Some(slot) = state.pending.get_mut(index) {
            slot.status = status;
        }
        self.note_edit(state, call.call_id);
    }

    /// Tells the model, in the call's result, that a person edited its
    /// arguments before approving it.
    fn note_edit(&self, state: &mut RunState, call_id: CallId) {
        let Some(edit) = state.edits.iter().find(|e| e.call_id == call_id) else {
            return;
        };
        let Some(call) = state.pending.iter().find(|c| c.call_id == call_id) else {
            return;
        };
        let note = format!(
            "[a person ({}) edited the arguments of this call before approving it; it ran with {}]\n",
            edit.edited_by, call.arguments
        );
        let model_call_id = call.model_call_id.clone();
        if let Some(Message::Tool { content, .. }) = state
            .messages
            .iter_mut()
            .rev()
            .find(|m| matches!(m, Message::Tool { call_id, .. } if *call_id == model_call_id))
        {
            content.insert_str(0, &note);
        }
    }
}

/// The text of the last tool result answering `model_call_id`.
fn tool_result_text(messages: &[Message], model_call_id: &str) -> Option<String> {
    messages.iter().rev().find_map(|m| match m {
        Message::Tool {
            call_id, content, ..
        } if call_id == model_call_id => Some(content.clone()),
        _ => None,
    })
}
