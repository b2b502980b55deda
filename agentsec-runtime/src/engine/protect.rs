//! Data protection of the run itself: screening and spotlighting the user's
//! input when it is untrusted, redacting what the model says, and checking
//! the final answer. What a tool call takes in and gives back is protected
//! by the call pipeline ([`crate::call`]).

use super::state::RunRedactor;
use super::{Agent, AgentRuntime, HaltReason, Phase, RunState};
use crate::guard::{Spotlighter, UNTRUSTED_USER_INPUT};
use crate::model::Message;
use crate::secrets::Redactor;

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
        self.dispatcher
            .redact_with(self.run_redactor(state), Some(state.run_id), sink, text)
    }

    /// The run's redactor (the runtime's until the run is attached).
    pub(super) fn run_redactor<'s>(&'s self, state: &'s RunState) -> &'s Redactor {
        state
            .guard
            .redactor
            .0
            .as_ref()
            .unwrap_or(self.dispatcher.redactor())
    }

    /// Gives a run in memory its own redactor: the runtime's secrets, and
    /// the secrets the run read before (read again from the store by name:
    /// a run resumed in another process redacts them as before).
    pub(super) async fn attach_redactor(&self, state: &mut RunState) {
        if state.guard.redactor.0.is_some() {
            return;
        }
        let redactor = self.dispatcher.redactor().scoped();
        for name in &state.guard.secrets_read {
            match self.dispatcher.secret_store().get(name).await {
                Ok(Some(secret)) => {
                    let _ = redactor.register_secret(name, &secret);
                }
                Ok(None) => tracing::warn!(
                    secret = %name,
                    "a secret the run read before is no longer in the store"
                ),
                Err(error) => tracing::warn!(
                    secret = %name,
                    %error,
                    "a secret the run read before could not be read again"
                ),
            }
        }
        state.guard.redactor = RunRedactor(Some(redactor));
    }

    /// Records the names of the secrets the run's tools read since the last
    /// save (values stay in memory only).
    pub(super) fn note_secrets_read(&self, state: &mut RunState) {
        let Some(redactor) = &state.guard.redactor.0 else {
            return;
        };
        let runtime = self.dispatcher.redactor().secret_names();
        for name in redactor.secret_names() {
            if !runtime.contains(&name) && !state.guard.secrets_read.iter().any(|n| **n == *name) {
                state.guard.secrets_read.push(name.to_string());
            }
        }
    }

    /// Checks the final answer: secrets redacted, exfiltration links removed.
    pub(super) fn check_answer(&self, state: &RunState, answer: &str) -> String {
        let check = self
            .dispatcher
            .output
            .with_redactor(self.run_redactor(state).clone())
            .check(answer);
        self.dispatcher.publish_findings(
            state.run_id,
            &state.agent,
            "final_answer",
            &check.findings,
        );
        check.text
    }
}
