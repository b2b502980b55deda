//! One step of a run at a time; the caller saves the state after each.

use serde_json::Value;
use tracing::Instrument;

use super::{Agent, AgentRuntime, CallStatus, HaltReason, PendingCall, Phase, RunState};
use crate::budget::{BudgetMeter, BudgetOutcome};
use crate::model::{Message, ModelRequest, ModelToolCall};
use crate::permission::{Decision, PolicyRequest};
use crate::tool::{CallContext, ToolError};
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
                state.pending.clear();
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
            CallStatus::Approved { proof } => self.execute(state, index, Some(proof)).await,
            _ => {}
        }
    }

    async fn decide(&self, state: &mut RunState, index: usize) {
        let call = &state.pending[index];
        if let Err(error) = self.dispatcher.validate(&call.tool, &call.arguments) {
            return self.refuse(state, index, error);
        }
        let spec = self
            .dispatcher
            .spec(&call.tool)
            .expect("validate found the tool");
        let arguments: Value = serde_json::from_str(&call.arguments).unwrap_or(Value::Null);
        let decision = self.policy.decide(&PolicyRequest {
            user: &state.user,
            agent: A::SPEC.name,
            agent_permissions: Some(&self.permissions),
            tool: spec,
            arguments: &arguments,
        });
        let approval_reason = match decision {
            Decision::Deny { reason } => {
                self.events.publish(SecurityEvent::PermissionDenied {
                    run_id: state.run_id,
                    agent: state.agent.clone(),
                    user: state.user.id.clone(),
                    tool: call.tool.clone(),
                    call_id: call.call_id,
                    reason: reason.clone(),
                });
                let message = tool_message(call, format!("denied by policy: {reason}"), true);
                state.messages.push(message);
                state.pending[index].decision = Some(format!("denied by policy: {reason}"));
                state.pending[index].status = CallStatus::Denied { reason };
                return;
            }
            Decision::RequireApproval { reason } => Some(reason),
            Decision::Allow if spec.is_irreversible() => Some(
                spec.irreversible
                    .and_then(|i| i.reason)
                    .unwrap_or("the tool is irreversible")
                    .to_owned(),
            ),
            Decision::Allow => match state.guard.taint.requires_approval(spec) {
                Some(reason) => {
                    self.events.publish(SecurityEvent::TaintEscalation {
                        run_id: state.run_id,
                        agent: state.agent.clone(),
                        tool: call.tool.clone(),
                        reason: reason.clone(),
                    });
                    Some(reason)
                }
                None => None,
            },
        };
        let approval_reason =
            approval_reason.or_else(|| self.tainted_link(state, spec, &call.arguments));
        if let Err(reason) = self.check_outgoing(state, spec, &call.arguments) {
            let message = tool_message(call, format!("refused: {reason}"), true);
            state.messages.push(message);
            state.pending[index].decision =
                Some(format!("refused by the outgoing check: {reason}"));
            state.pending[index].status = CallStatus::Denied { reason };
            return;
        }
        match approval_reason {
            Some(reason) => {
                self.events.publish(SecurityEvent::ApprovalRequested {
                    run_id: state.run_id,
                    agent: state.agent.clone(),
                    user: state.user.id.clone(),
                    tool: call.tool.clone(),
                    call_id: call.call_id,
                    reason: reason.clone(),
                });
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
                state.pending[index].decision =
                    Some(format!("allowed by policy; approval required: {reason}"));
                state.pending[index].status = CallStatus::AwaitingApproval { reason };
            }
            None => {
                state.pending[index].decision = Some("allowed by policy".into());
                self.execute(state, index, None).await
            }
        }
    }

    fn refuse(&self, state: &mut RunState, index: usize, error: ToolError) {
        let call = &state.pending[index];
        let text = error.model_message();
        self.events.publish(SecurityEvent::ToolRefused {
            run_id: state.run_id,
            tool: call.tool.clone(),
            call_id: call.call_id,
            error: text.clone(),
        });
        let message = tool_message(call, text.clone(), true);
        state.messages.push(message);
        if state.pending[index].decision.is_none() {
            state.pending[index].decision = Some(format!("refused before the policy: {text}"));
        }
        state.pending[index].status = CallStatus::Failed { error: text };
    }

    async fn execute(
        &self,
        state: &mut RunState,
        index: usize,
        proof: Option<crate::tool::ApprovalProof>,
    ) {
        let call = state.pending[index].clone();
        state.spend.tool_calls += 1;
        let irreversible = self
            .dispatcher
            .spec(&call.tool)
            .is_some_and(|spec| spec.is_irreversible());
        let args_digest = crate::tool::args_digest(&call.arguments);
        self.events.publish(SecurityEvent::ToolCalled {
            run_id: state.run_id,
            agent: state.agent.clone(),
            tool: call.tool.clone(),
            call_id: call.call_id,
            irreversible,
            args_digest: args_digest.clone(),
        });
        let approver = proof.as_ref().map(|p| p.approver.clone());
        let context = CallContext {
            run_id: state.run_id,
            step: call.step,
            call_id: call.call_id,
            agent: state.agent.clone(),
            user: state.user.clone(),
            approval: proof,
            idempotency_key: Some(call.call_id.to_string()),
        };
        let result = match self.mint(&context, &call.tool) {
            Some(grant) => {
                state.pending[index].grant_jti = Some(grant.claims.jti.clone());
                self.dispatcher
                    .dispatch_with_grant(&context, &call.tool, &call.arguments, &grant.token)
                    .await
            }
            // Unknown tool or a grant that cannot be minted: the dispatcher
            // reports the typed error.
            None => {
                self.dispatcher
                    .dispatch(&context, &call.tool, &call.arguments)
                    .await
            }
        };
        if irreversible {
            self.events.publish(SecurityEvent::IrreversibleExecuted {
                run_id: state.run_id,
                agent: state.agent.clone(),
                user: state.user.id.clone(),
                tool: call.tool.clone(),
                call_id: call.call_id,
                args_digest,
                approver,
                succeeded: result.is_ok(),
            });
        }
        match result {
            Ok(value) => {
                let text = match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let text = match self.dispatcher.spec(&call.tool) {
                    Some(spec) => {
                        state.guard.taint.record_call(spec);
                        self.tool_output(state, spec, text)
                    }
                    None => self.redact(state, "tool_result", text),
                };
                state.messages.push(tool_message(&call, text, false));
                state.pending[index].status = CallStatus::Executed;
            }
            Err(error) => {
                if matches!(
                    error,
                    ToolError::Grant { .. } | ToolError::ApprovalRequired { .. }
                ) {
                    self.refuse(state, index, error);
                } else {
                    let text = self.redact(state, "tool_error", error.model_message());
                    state.messages.push(tool_message(&call, text.clone(), true));
                    state.pending[index].status = CallStatus::Failed { error: text };
                }
            }
        }
    }
}

impl<A: Agent> AgentRuntime<A> {
    /// Mints the call's scoped grant here rather than in the dispatcher, so
    /// the run records the grant's id.
    fn mint(&self, context: &CallContext, tool: &str) -> Option<crate::permission::Grant> {
        let spec = self.dispatcher.spec(tool)?;
        self.dispatcher
            .grants()
            .mint(&crate::permission::GrantRequest {
                user: &context.user,
                agent: &context.agent,
                run: context.run_id,
                call: context.call_id,
                step: context.step,
                spec,
            })
            .ok()
    }
}

fn budget_halt(cap: &str, spent: f64, limit: f64) -> HaltReason {
    HaltReason::Budget {
        cap: cap.to_owned(),
        spent,
        limit,
    }
}
