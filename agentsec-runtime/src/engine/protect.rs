//! Data protection inside the run loop: screening untrusted text,
//! spotlighting it, redacting secrets, checking what leaves the run, and
//! the rule of two.

use super::{Agent, AgentRuntime, HaltReason, Phase, RunState};
use crate::guard::{Spotlighter, UNTRUSTED_USER_INPUT, Verdict};
use crate::model::Message;
use crate::secrets::OutputFinding;
use crate::secrets::redact::RedactionLabel;
use crate::tool::ToolSpec;
use crate::trace::SecurityEvent;

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
        match self.screen(state, UNTRUSTED_USER_INPUT, &content) {
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

    /// Screens untrusted text; publishes what fired. `Err` with the rule ids
    /// when the text must not reach the model.
    fn screen(&self, state: &RunState, source: &str, text: &str) -> Result<(), Vec<String>> {
        let screening = self.input_guard.screen(text);
        let rules: Vec<String> = screening.rules.iter().map(|r| r.id.to_owned()).collect();
        match screening.verdict {
            Verdict::Allow => Ok(()),
            Verdict::Flag => {
                self.events.publish(SecurityEvent::InputFlagged {
                    run_id: state.run_id,
                    agent: state.agent.clone(),
                    source: source.to_owned(),
                    rules,
                });
                Ok(())
            }
            Verdict::Block => {
                self.events.publish(SecurityEvent::InputBlocked {
                    run_id: state.run_id,
                    agent: state.agent.clone(),
                    source: source.to_owned(),
                    rules: rules.clone(),
                });
                Err(rules)
            }
        }
    }

    /// Redacts secrets and credential shapes from `text` leaving through `sink`.
    pub(super) fn redact(&self, state: &RunState, sink: &str, text: String) -> String {
        let found = self.redactor.find(&text);
        if found.is_empty() {
            return text;
        }
        let mut names: Vec<String> = found
            .iter()
            .map(|r| match &r.label {
                RedactionLabel::Secret(name) => name.to_string(),
                RedactionLabel::Credential(_) => "credential".to_owned(),
            })
            .collect();
        names.sort();
        names.dedup();
        self.publish_redacted(state, sink, names);
        self.redactor.redact_str(&text).into_owned()
    }

    /// What a tool's result becomes before the model sees it: redacted, and
    /// for `untrusted` tools screened and spotlighted.
    pub(super) fn tool_output(&self, state: &RunState, spec: &ToolSpec, text: String) -> String {
        let text = self.redact(state, "tool_result", text);
        if !spec.untrusted {
            return text;
        }
        let spotlighter = Spotlighter::with_boundary(&state.guard.boundary);
        match self.screen(state, spec.name, &text) {
            Ok(()) => spotlighter.spotlight(spec.name, &text),
            Err(rules) => spotlighter.spotlight(
                spec.name,
                &format!(
                    "[withheld: the content matched screening rules {} and was not shown]",
                    rules.join(", ")
                ),
            ),
        }
    }

    /// Checks the final answer: secrets redacted, exfiltration links removed.
    pub(super) fn check_answer(&self, state: &RunState, answer: &str) -> String {
        let check = self.output.check(answer);
        self.publish_findings(state, "final_answer", &check.findings);
        check.text
    }

    /// Checks an outgoing message (an egress call's arguments). `Err` with a
    /// reason for the model when it carries a secret or an exfiltration link.
    pub(super) fn check_outgoing(
        &self,
        state: &RunState,
        spec: &ToolSpec,
        arguments: &str,
    ) -> Result<(), String> {
        if !spec.has_egress() {
            return Ok(());
        }
        let check = self.output.check(arguments);
        if check.findings.is_empty() {
            return Ok(());
        }
        self.publish_findings(state, spec.name, &check.findings);
        Err(format!(
            "`{}` sends data outside and its arguments carry a secret or a link to a host outside the allowlist",
            spec.name
        ))
    }

    /// Why a call that does not declare egress still needs approval: the run
    /// took in untrusted content and the call's arguments carry a link with
    /// data to a host outside the allowlist (a fetch tool is a way out too:
    /// whatever the model writes into the URL leaves with the request).
    pub(super) fn tainted_link(
        &self,
        state: &RunState,
        spec: &ToolSpec,
        arguments: &str,
    ) -> Option<String> {
        if spec.has_egress() || !state.guard.taint.is_tainted() {
            return None;
        }
        let hosts: Vec<String> = self
            .output
            .check(&with_schemes(arguments))
            .findings
            .into_iter()
            .filter_map(|f| match f {
                OutputFinding::ExfiltrationLink { host, .. } => {
                    Some(host.unwrap_or_else(|| "an unparseable URL".into()))
                }
                _ => None,
            })
            .collect();
        if hosts.is_empty() {
            return None;
        }
        let reason = format!(
            "this run has read untrusted content and `{}` would send data in a URL to {}; a person must approve it",
            spec.name,
            hosts.join(", ")
        );
        self.events.publish(SecurityEvent::TaintEscalation {
            run_id: state.run_id,
            agent: state.agent.clone(),
            tool: spec.name.to_owned(),
            reason: reason.clone(),
        });
        Some(reason)
    }

    fn publish_findings(&self, state: &RunState, sink: &str, findings: &[OutputFinding]) {
        let mut names = Vec::new();
        for finding in findings {
            match finding {
                OutputFinding::Secret { name, .. } => names.push(name.clone()),
                OutputFinding::Credential { .. } => names.push("credential".to_owned()),
                OutputFinding::ExfiltrationLink { host, .. } => {
                    self.events.publish(SecurityEvent::ExfiltrationBlocked {
                        run_id: state.run_id,
                        agent: state.agent.clone(),
                        sink: sink.to_owned(),
                        host: host.clone(),
                    })
                }
            }
        }
        if !names.is_empty() {
            names.sort();
            names.dedup();
            self.publish_redacted(state, sink, names);
        }
    }

    /// One `secret_redacted` event per secret name (never a value).
    fn publish_redacted(&self, state: &RunState, sink: &str, names: Vec<String>) {
        for secret in names {
            self.events.publish(SecurityEvent::SecretRedacted {
                run_id: Some(state.run_id),
                secret,
                sink: sink.to_owned(),
            });
        }
    }
}

/// The argument text with every string value that looks like a URL written
/// without a scheme (`www.example.com/p?d=...`, as tools that "open a page"
/// accept) also given one, so the link check sees it as a URL.
fn with_schemes(arguments: &str) -> String {
    fn strings<'v>(value: &'v serde_json::Value, out: &mut Vec<&'v str>) {
        match value {
            serde_json::Value::String(s) => out.push(s),
            serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(arguments) else {
        return arguments.to_owned();
    };
    let mut found = Vec::new();
    strings(&value, &mut found);
    let mut text = arguments.to_owned();
    for s in found {
        let s = s.trim();
        let host = s.split(['/', '?', '#']).next().unwrap_or("");
        if !s.contains("://")
            && host.contains('.')
            && !host.contains(char::is_whitespace)
            && host.len() > 3
        {
            text.push_str(" https://");
            text.push_str(s);
        }
    }
    text
}
