//! Data protection of the run itself: screening and spotlighting the user's
//! input when it is untrusted, redacting what the model says, and checking
//! the final answer. What a tool call takes in and gives back is protected
//! by the call pipeline ([`crate::call`]).

use super::{Agent, AgentRuntime, HaltReason, Phase, RunState};
use crate::guard::{Spotlighter, UNTRUSTED_USER_INPUT};
use crate::model::Message;

impl<A: Agent> AgentRuntime<A> {
    /// Whether the agent takes in untrusted content at all (then the model
    /// is told how spotlighted data is marked).
    pub(super) fn handles_untrusted(&self) -> bool {
        A::SPEC.untrusted_input || A::SPEC.tools.iter().any(|t| t.untrusted)
    }

    /// The system prompt, with the spotlighting notice when needed.
    pub(super) fn system_prompt(&self, state: &RunState) -> String {
        if self.handles_untrusted() {
            let notice = Spotlighter::with_boundary(&state.guard.boundary).system_notice();
            format!("{}\n\n{notice}", A::SPEC.prompt)
        } else {
            A::SPEC.prompt.to_owned()
        }
    }

    /// The `received → input screened` transition: the input of an agent
    /// declared `untrusted_input` is screened, and spotlighted as data.
    pub(super) fn screen_input(&self, state: &mut RunState) {
        if !A::SPEC.untrusted_input {
            state.phase = Phase::AwaitingModel;
            return;
        }
        state
            .guard
            .taint
            .record_untrusted_input(UNTRUSTED_USER_INPUT);
        let Some(Message::User { content }) = state.messages.last().cloned() else {
            state.phase = Phase::AwaitingModel;
            return;
        };
        let screened =
            self.dispatcher
                .screen(state.run_id, &state.agent, UNTRUSTED_USER_INPUT, &content);
        match screened {
            Err(rules) => self.halt(
                state,
                HaltReason::Policy {
                    reason: format!(
                        "the input was blocked by screening rules: {}",
                        rules.join(", ")
                    ),
                },
            ),
            Ok(()) => {
                let marked = Spotlighter::with_boundary(&state.guard.boundary)
                    .spotlight(UNTRUSTED_USER_INPUT, &content);
                if let Some(Message::User { content }) = state.messages.last_mut() {
                    *content = marked;
                }
                state.phase = Phase::AwaitingModel;
            }
        }
    }

    /// Redacts secrets and credential shapes from `text` leaving through `sink`.
    pub(super) fn redact(&self, state: &RunState, sink: &str, text: String) -> String {
        self.dispatcher.redact(Some(state.run_id), sink, text)
    }

    /// Checks the final answer: secrets redacted, exfiltration links removed.
    pub(super) fn check_answer(&self, state: &RunState, answer: &str) -> String {
        let check = self.dispatcher.output.check(answer);
        self.dispatcher.publish_findings(
            state.run_id,
            &state.agent,
            "final_answer",
            &check.findings,
        );
        check.text
    }
}
