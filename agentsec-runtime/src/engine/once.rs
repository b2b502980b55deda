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
use super::{Agent, AgentRuntime, CallStatus, EngineError, Phase, RunState};
use crate::budget::{BudgetMeter, BudgetOutcome};
use crate::identity::CallId;
use crate::model::Message;

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
        match self.checkpoints.begin_intent(&intent).await? {
            IntentBegin::Started => Ok(BeforeStep::Step(Some(guard))),
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
                    Ok(BeforeStep::Step(Some(guard)))
                }
                None => {
                    tracing::warn!(call_id = %intent.call_id, tool = %intent.tool,
                        "an interrupted call may or may not have happened: needs reconciliation");
                    state.phase = Phase::NeedsReconciliation {
                        call_id: intent.call_id,
                        tool: intent.tool,
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
        self.checkpoints
            .finish_intent(state.run_id, guard.call_id, &outcome)
            .await?;
        self.note_edit(state, guard.call_id);
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
