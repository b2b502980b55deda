//! One step of a run at a time; the caller saves the state after each.

use tracing::Instrument;

use super::{Agent, AgentRuntime, CallStatus, HaltReason, PendingCall, Phase, RunState};
use crate::budget::{BudgetMeter, BudgetOutcome};
use crate::call::{
    CallDecision, CallOutcome, CallScope, Origin, SourceRef, ValidatedCall, ValueSources,
};
use crate::guard::UNTRUSTED_USER_INPUT;
use crate::model::{Message, ModelRequest, ModelToolCall};
use crate::tool::{ApprovalProof, CallContext, ToolError};
use crate::trace::SecurityEvent;

/// The message that carries a call's result (or error) back to the model.
pub(super) fn tool_message(call: &PendingCall, content: String, is_error: bool) -> Message {
    let model_call = ModelToolCall::new(&call.model_call_id, &call.tool, &call.arguments);
    if is_error {
        Message::tool_error(&model_call, content)
    } else {
        Message::tool_result(&model_call, content)
    }
}

impl<A: Agent> AgentRuntime<A> {
    /// Advances `state` by one transition. Never fails: whatever goes wrong
    /// becomes part of the run (a tool error for the model, a halt, a failure).
    pub(super) async fn step(&self, state: &mut RunState) {
        let span = tracing::info_span!(
            "agent.step",
            step = state.step + 1,
            phase = state.phase.name()
        );
        async {
            match state.phase {
                Phase::Received => self.screen_input(state),
                Phase::AwaitingModel => self.model_turn(state).await,
                Phase::ToolCallsProposed => self.next_call(state).await,
                Phase::AwaitingApproval
                | Phase::NeedsReconciliation { .. }
                | Phase::Completed { .. }
                | Phase::Halted { .. }
                | Phase::Failed { .. } => {}
            }
        }
        .instrument(span)
        .await
    }

    pub(super) fn halt(&self, state: &mut RunState, reason: HaltReason) {
        let words = match &reason {
            HaltReason::MaxIterations { limit } => format!("max_iterations ({limit}) reached"),
            HaltReason::Budget { cap, spent, limit } => {
                format!("budget cap `{cap}` reached ({spent} of {limit})")
            }
            HaltReason::Policy { reason } => reason.clone(),
        };
        if let HaltReason::Budget { cap, spent, limit } = &reason {
            self.events.publish(SecurityEvent::BudgetExceeded {
                run_id: state.run_id,
                agent: state.agent.clone(),
                cap: cap.clone(),
                spent: *spent,
                limit: *limit,
            });
        }
        self.events.publish(SecurityEvent::RunHalted {
            run_id: state.run_id,
            agent: state.agent.clone(),
            reason: words,
        });
        state.phase = Phase::Halted { reason };
    }

    async fn model_turn(&self, state: &mut RunState) {
        let spec = &A::SPEC;
        if state.iterations >= spec.max_iterations {
            return self.halt(
                state,
                HaltReason::MaxIterations {
                    limit: spec.max_iterations,
                },
            );
        }
        let meter = BudgetMeter::new(spec.budget);
        if let BudgetOutcome::Exceeded { cap, spent, limit } = meter.before_model_call(&state.spend)
        {
            return self.halt(state, budget_halt(cap, spent, limit));
        }
        state.step += 1;
        let mut request = ModelRequest::new(self.system_prompt(state), state.messages.clone())
            .with_tools(self.dispatcher.schemas().into_iter().cloned().collect());
        if let Some(model) = spec.model {
            request = request.with_model(model);
        }
        let span = tracing::info_span!(
            "model.call",
            gen_ai.operation.name = "chat",
            gen_ai.system = self.model.name(),
            gen_ai.request.model = spec.model.unwrap_or(""),
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            step = state.step,
        );
        let mut response = match self.model.complete(&request).instrument(span.clone()).await {
            Ok(response) => response,
            Err(error) => {
                state.phase = Phase::Failed {
                    error: format!("the model provider failed: {error}"),
                };
                return;
            }
        };
        span.record("gen_ai.usage.input_tokens", response.usage.input_tokens);
        span.record("gen_ai.usage.output_tokens", response.usage.output_tokens);

        let before = state.spend;
        state.spend.input_tokens += response.usage.input_tokens;
        state.spend.output_tokens += response.usage.output_tokens;
        state.spend.model_calls += 1;
        let model_name = spec.model.unwrap_or(response.model.as_str());
        if let Some(cost) = self.prices.cost(model_name, response.usage) {
            state.spend.usd += cost;
        }
        state.iterations += 1;
        self.warn_budget(state, &meter, &before);
        // What the model says is stored and sent back to it: a secret it
        // somehow produced (or a credential shape) goes no further.
        if let Some(content) = response.content.take() {
            response.content = Some(self.redact(state, "model_output", content));
        }
        for call in &mut response.tool_calls {
            call.arguments =
                self.redact(state, "tool_arguments", std::mem::take(&mut call.arguments));
        }
        state.messages.push(response.to_message());
        if let BudgetOutcome::Exceeded { cap, spent, limit } = meter.after_model_call(&state.spend)
        {
            return self.halt(state, budget_halt(cap, spent, limit));
        }
        if response.tool_calls.is_empty() {
            let answer = self.check_answer(state, &response.content.unwrap_or_default());
            state.phase = Phase::Completed { answer };
            return;
        }
        state.pending = response
            .tool_calls
            .into_iter()
            .map(|call| PendingCall {
                call_id: crate::identity::CallId::new(),
                model_call_id: call.id,
                tool: call.name,
                arguments: call.arguments,
                step: 0,
                status: CallStatus::Proposed,
                decision: None,
                grant_jti: None,
                approval: None,
                outcome: None,
            })
            .collect();
        state.phase = Phase::ToolCallsProposed;
    }

    fn warn_budget(&self, state: &RunState, meter: &BudgetMeter, before: &crate::budget::Spend) {
        for warning in meter.new_warnings(before, &state.spend) {
            self.events.publish(SecurityEvent::BudgetWarning {
                run_id: state.run_id,
                agent: state.agent.clone(),
                cap: warning.cap,
                spent: warning.spent,
                limit: warning.limit,
            });
        }
    }

    /// Decides or runs the next open call of the turn.
    async fn next_call(&self, state: &mut RunState) {
        let Some(index) = state
            .pending
            .iter()
            .position(|c| matches!(c.status, CallStatus::Proposed | CallStatus::Approved { .. }))
        else {
            state.phase = if state.awaiting_approval().next().is_some() {
                Phase::AwaitingApproval
            } else {
                // The turn is over: its calls join the run's record.
                let finished = std::mem::take(&mut state.pending);
                state.calls.extend(finished);
                Phase::AwaitingModel
            };
            return;
        };
        let meter = BudgetMeter::new(A::SPEC.budget);
        if let BudgetOutcome::Exceeded { cap, spent, limit } = meter.before_tool_call(&state.spend)
        {
            return self.halt(state, budget_halt(cap, spent, limit));
        }
        if state.pending[index].step == 0 {
            state.step += 1;
            state.pending[index].step = state.step;
        }
        match state.pending[index].status.clone() {
            CallStatus::Proposed => self.decide(state, index).await,
            CallStatus::Approved { proof } => self.execute(state, index, None, Some(proof)).await,
            _ => {}
        }
    }

    /// The context of the call at `index`: who, where, and its approval.
    fn call_context(
        &self,
        state: &RunState,
        index: usize,
        approval: Option<ApprovalProof>,
    ) -> CallContext {
        let call = &state.pending[index];
        CallContext {
            run_id: state.run_id,
            step: call.step,
            call_id: call.call_id,
            agent: state.agent.clone(),
            user: state.user.clone(),
            approval,
            idempotency_key: Some(super::once::idempotency_key(call.call_id)),
        }
    }

    /// The run around a call, as the call pipeline sees it.
    pub(super) fn scope<'a>(
        &'a self,
        state: &'a RunState,
        context: &'a CallContext,
    ) -> CallScope<'a> {
        CallScope {
            call: context,
            taint: Some(&state.guard.taint),
            boundary: Some(&state.guard.boundary),
            redactor: Some(self.run_redactor(state)),
            sources: None,
        }
    }

    /// The texts that entered the run, by origin, for provenance: the
    /// user's messages (untrusted when the agent takes untrusted input) and
    /// every successful tool output, trusted or not by its tool's spec.
    fn value_sources<'s>(&self, state: &'s RunState) -> ValueSources<'s> {
        let mut sources = ValueSources::new();
        let untrusted_input = state
            .guard
            .taint
            .ingested_untrusted
            .contains(UNTRUSTED_USER_INPUT);
        for message in &state.messages {
            match message {
                Message::User { content } if untrusted_input => sources.push(
                    Origin::Untrusted(SourceRef {
                        tool: UNTRUSTED_USER_INPUT.to_owned(),
                        call_id: None,
                        step: 0,
                    }),
                    content,
                ),
                Message::User { content } => sources.push(Origin::User, content),
                Message::Tool {
                    call_id,
                    name,
                    content,
                    is_error: false,
                    ..
                } => {
                    let call = state.all_calls().find(|c| &c.model_call_id == call_id);
                    let source = SourceRef {
                        tool: name.clone(),
                        call_id: call.map(|c| c.call_id),
                        step: call.map_or(0, |c| c.step),
                    };
                    // A tool the dispatcher does not know is not trusted.
                    let trusted = self.dispatcher.spec(name).is_some_and(|s| !s.untrusted);
                    let origin = if trusted {
                        Origin::Trusted(source)
                    } else {
                        Origin::Untrusted(source)
                    };
                    sources.push(origin, content);
                }
                _ => {}
            }
        }
        sources
    }

    /// Decodes and decides the call at `index` through the call pipeline;
    /// runs it when it may run at once.
    async fn decide(&self, state: &mut RunState, index: usize) {
        let call = &state.pending[index];
        let validated = match self.dispatcher.decode(&call.tool, &call.arguments) {
            Ok(validated) => validated,
            Err(error) => return self.refuse(state, index, error),
        };
        // From here on the call is its canonical arguments: what is stored,
        // shown to an approver, bound by the approval and run.
        state.pending[index].arguments = validated.canonical().to_owned();
        let context = self.call_context(state, index, None);
        let sources = self.value_sources(state);
        let scope = CallScope {
            sources: Some(&sources),
            ..self.scope(state, &context)
        };
        let decision = self.dispatcher.decide(&scope, &validated).await;
        drop(sources);
        state.pending[index].decision = Some(decision.clone());
        let call = &state.pending[index];
        match decision {
            CallDecision::Allowed => self.execute(state, index, Some(validated), None).await,
            CallDecision::NeedsApproval { .. } => {
                let reason = decision.approval_text().unwrap_or_default();
                // The wait itself may last hours and end in another process:
                // the span marks where the run paused and why.
                tracing::info_span!(
                    "approval.wait",
                    run_id = %state.run_id,
                    call_id = %call.call_id,
                    tool = %call.tool,
                    gen_ai.tool.name = %call.tool,
                    reason = %reason,
                )
                .in_scope(|| tracing::info!("the run waits for a person to approve the call"));
                state.pending[index].status = CallStatus::AwaitingApproval { reason };
            }
            CallDecision::DeniedByPolicy { reason, .. } => {
                let message = tool_message(call, format!("denied by policy: {reason}"), true);
                state.messages.push(message);
                state.pending[index].status = CallStatus::Denied { reason };
            }
            CallDecision::RefusedOutgoing { reason } | CallDecision::Invalid { error: reason } => {
                let message = tool_message(call, format!("refused: {reason}"), true);
                state.messages.push(message);
                state.pending[index].status = CallStatus::Denied { reason };
            }
        }
    }

    fn refuse(&self, state: &mut RunState, index: usize, error: ToolError) {
        let call = &state.pending[index];
        let text = error.model_message();
        self.dispatcher
            .publish_refused(&self.call_context(state, index, None), &call.tool, &error);
        let message = tool_message(call, text.clone(), true);
        state.messages.push(message);
        let call = &mut state.pending[index];
        if call.decision.is_none() {
            call.decision = Some(CallDecision::Invalid {
                error: text.clone(),
            });
        }
        call.outcome = Some(CallOutcome::ToolError {
            message: text.clone(),
        });
        call.status = CallStatus::Failed { error: text };
    }

    /// Runs the call at `index` through the rest of the pipeline: approval,
    /// grant, sealed execution, output protection. An approved call resumed
    /// from its saved state is decoded again from its canonical arguments.
    async fn execute(
        &self,
        state: &mut RunState,
        index: usize,
        validated: Option<ValidatedCall>,
        proof: Option<ApprovalProof>,
    ) {
        let validated = match validated {
            Some(validated) => validated,
            None => {
                let call = &state.pending[index];
                match self.dispatcher.decode(&call.tool, &call.arguments) {
                    Ok(validated) => validated,
                    Err(error) => return self.refuse(state, index, error),
                }
            }
        };
        let spec = validated.spec();
        state.spend.tool_calls += 1;
        let context = self.call_context(state, index, proof);
        let decision = state.pending[index]
            .decision
            .clone()
            .unwrap_or(CallDecision::Allowed);
        let executed = self
            .dispatcher
            .execute(&self.scope(state, &context), validated, &decision, None)
            .await;
        state.pending[index].grant_jti = executed.grant_jti;
        let call = state.pending[index].clone();
        match executed.result {
            Ok(value) => {
                state.guard.taint.record_call(spec);
                let text = self
                    .dispatcher
                    .protect_text(&self.scope(state, &context), spec, value);
                state.messages.push(tool_message(&call, text, false));
                state.pending[index].status = CallStatus::Executed;
                state.pending[index].outcome = Some(CallOutcome::Ok);
            }
            Err(error @ (ToolError::Grant { .. } | ToolError::ApprovalRequired { .. })) => {
                self.refuse(state, index, error)
            }
            Err(error) => {
                let text = self.redact(state, "tool_error", error.model_message());
                state.messages.push(tool_message(&call, text.clone(), true));
                state.pending[index].outcome = Some(match error {
                    ToolError::Panicked { message, .. } => CallOutcome::Panicked { message },
                    _ => CallOutcome::ToolError {
                        message: text.clone(),
                    },
                });
                state.pending[index].status = CallStatus::Failed { error: text };
            }
        }
    }
}

fn budget_halt(cap: &str, spent: f64, limit: f64) -> HaltReason {
    HaltReason::Budget {
        cap: cap.to_owned(),
        spent,
        limit,
    }
}
