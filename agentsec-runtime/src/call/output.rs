//! Protect the output: what a tool returns is redacted before anyone sees
//! it, and the output of an `untrusted` tool is screened and spotlighted as
//! data.

use serde_json::Value;

use super::CallScope;
use crate::guard::{Spotlighter, Verdict};
use crate::identity::RunId;
use crate::secrets::Redactor;
use crate::secrets::redact::RedactionLabel;
use crate::tool::{Dispatcher, ToolSpec};
use crate::trace::SecurityEvent;

impl Dispatcher {
    /// A tool's result as the model sees it: redacted, and for `untrusted`
    /// tools screened and spotlighted (withheld when screening blocks it).
    pub fn protect_text(&self, scope: &CallScope<'_>, spec: &ToolSpec, value: Value) -> String {
        let text = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let text = self.redact_with(
            self.redactor_for(scope),
            Some(scope.call.run_id),
            "tool_result",
            text,
        );
        if !spec.untrusted {
            return text;
        }
        let spotlighter = match scope.boundary {
            Some(boundary) => Spotlighter::with_boundary(boundary),
            None => Spotlighter::new(),
        };
        match self.screen(scope.call.run_id, &scope.call.agent, spec.name, &text) {
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

    /// A tool's result as [`dispatch`](Self::dispatch) returns it: the JSON
    /// value with secrets redacted, or for an `untrusted` tool the
    /// spotlighted text (see [`protect_text`](Self::protect_text)).
    pub(crate) fn protect_value(
        &self,
        scope: &CallScope<'_>,
        spec: &ToolSpec,
        value: Value,
    ) -> Value {
        if spec.untrusted {
            return Value::String(self.protect_text(scope, spec, value));
        }
        let redactor = self.redactor_for(scope);
        let mut redacted = value.clone();
        if redactor.redact_json(&mut redacted) {
            // Rare: name what was found (the names, never the values).
            let found = redactor.find(&value.to_string());
            self.publish_redacted(Some(scope.call.run_id), "tool_result", names_of(&found));
        }
        redacted
    }

    /// Redacts secrets and credential shapes from `text` leaving through
    /// `sink` with `redactor`, publishing which secrets (by name) it found.
    pub(crate) fn redact_with(
        &self,
        redactor: &Redactor,
        run_id: Option<RunId>,
        sink: &str,
        text: String,
    ) -> String {
        let found = redactor.find(&text);
        if found.is_empty() {
            return text;
        }
        self.publish_redacted(run_id, sink, names_of(&found));
        redactor.redact_str(&text).into_owned()
    }

    /// Screens untrusted text; publishes what fired. `Err` with the rule ids
    /// when the text must not reach the model.
    pub(crate) fn screen(
        &self,
        run_id: RunId,
        agent: &str,
        source: &str,
        text: &str,
    ) -> Result<(), Vec<String>> {
        let screening = self.input_guard.screen(text);
        let rules: Vec<String> = screening.rules.iter().map(|r| r.id.to_owned()).collect();
        match screening.verdict {
            Verdict::Allow => Ok(()),
            Verdict::Flag => {
                self.events.publish(SecurityEvent::InputFlagged {
                    run_id,
                    agent: agent.to_owned(),
                    source: source.to_owned(),
                    rules,
                });
                Ok(())
            }
            Verdict::Block => {
                self.events.publish(SecurityEvent::InputBlocked {
                    run_id,
                    agent: agent.to_owned(),
                    source: source.to_owned(),
                    rules: rules.clone(),
                });
                Err(rules)
            }
        }
    }

    /// One `secret_redacted` event per secret name (never a value).
    pub(crate) fn publish_redacted(
        &self,
        run_id: Option<RunId>,
        sink: &str,
        mut names: Vec<String>,
    ) {
        names.sort();
        names.dedup();
        for secret in names {
            self.events.publish(SecurityEvent::SecretRedacted {
                run_id,
                secret,
                sink: sink.to_owned(),
            });
        }
    }
}

fn names_of(found: &[crate::secrets::redact::Redaction]) -> Vec<String> {
    found
        .iter()
        .map(|r| match &r.label {
            RedactionLabel::Secret(name) => name.to_string(),
            RedactionLabel::Credential(_) => "credential".to_owned(),
        })
        .collect()
}
