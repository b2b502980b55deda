//! What may leave: secrets and links carrying data in the arguments of a
//! call that sends something outside, or that could (a fetch URL after the
//! run read untrusted content).

use serde_json::Value;

use super::CallScope;
use crate::identity::RunId;
use crate::secrets::OutputFinding;
use crate::tool::{Dispatcher, ToolSpec};
use crate::trace::SecurityEvent;

impl Dispatcher {
    /// Checks an outgoing message (an egress call's arguments). `Err` with a
    /// reason for the model when it carries a secret or an exfiltration link.
    pub(super) fn check_outgoing(
        &self,
        scope: &CallScope<'_>,
        spec: &ToolSpec,
        arguments: &Value,
    ) -> Result<(), String> {
        if !spec.has_egress() {
            return Ok(());
        }
        let check = self
            .output
            .with_redactor(self.redactor_for(scope).clone())
            .check(&arguments.to_string());
        if check.findings.is_empty() {
            return Ok(());
        }
        self.publish_findings(
            scope.call.run_id,
            &scope.call.agent,
            spec.name,
            &check.findings,
        );
        Err(format!(
            "`{}` sends data outside and its arguments carry a secret or a link to a host outside the allowlist",
            spec.name
        ))
    }

    /// Why a call that does not declare egress still needs approval: the run
    /// took in untrusted content and the call's arguments carry a link with
    /// data to a host outside the allowlist (a fetch tool is a way out too:
    /// whatever the model writes into the URL leaves with the request).
    pub(super) fn data_in_link(
        &self,
        scope: &CallScope<'_>,
        spec: &ToolSpec,
        arguments: &Value,
    ) -> Option<String> {
        if spec.has_egress() || !scope.taint.is_some_and(|t| t.is_tainted()) {
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
        Some(format!(
            "this run has read untrusted content and `{}` would send data in a URL to {}; a person must approve it",
            spec.name,
            hosts.join(", ")
        ))
    }

    /// Publishes what an output check found: one `exfiltration_blocked` per
    /// link, one `secret_redacted` per secret name (never a value).
    pub(crate) fn publish_findings(
        &self,
        run_id: RunId,
        agent: &str,
        sink: &str,
        findings: &[OutputFinding],
    ) {
        let mut names = Vec::new();
        for finding in findings {
            match finding {
                OutputFinding::Secret { name, .. } => names.push(name.clone()),
                OutputFinding::Credential { .. } => names.push("credential".to_owned()),
                OutputFinding::ExfiltrationLink { host, .. } => {
                    self.events.publish(SecurityEvent::ExfiltrationBlocked {
                        run_id,
                        agent: agent.to_owned(),
                        sink: sink.to_owned(),
                        host: host.clone(),
                    })
                }
            }
        }
        self.publish_redacted(Some(run_id), sink, names);
    }
}

/// The argument text with every string value that looks like a URL written
/// without a scheme (`www.example.com/p?d=...`, as tools that "open a page"
/// accept) also given one, so the link check sees it as a URL.
fn with_schemes(arguments: &Value) -> String {
    fn strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
        match value {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            Value::Object(map) => map.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    strings(arguments, &mut found);
    let mut text = arguments.to_string();
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
