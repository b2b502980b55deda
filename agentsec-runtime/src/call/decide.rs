//! Decide: the policy, the run's taint and the outgoing checks, in one
//! place, producing one typed [`CallDecision`].

use serde::{Deserialize, Serialize};

use super::{ProvenanceReport, ValidatedCall, ValueSources};
use crate::guard::TaintTracker;
use crate::policy::{Decision, PolicyRequest};
use crate::secrets::Redactor;
use crate::tool::{CallContext, Dispatcher, SinkPolicy, ToolError};
use crate::trace::SecurityEvent;

/// The run around a call: who and where it is, and what the run has taken
/// in so far. A call dispatched on its own has no run history.
#[derive(Clone, Copy, Debug)]
pub struct CallScope<'a> {
    /// The call's identity: run, step, call id, agent, user, approval.
    pub call: &'a CallContext,
    /// What the run has read (untrusted content, private data); `None` for
    /// a call outside a run.
    pub taint: Option<&'a TaintTracker>,
    /// The run's spotlighting boundary; `None` draws a fresh one.
    pub boundary: Option<&'a str>,
    /// The run's redactor (see [`Redactor::scoped`]); `None` uses the
    /// runtime's.
    pub redactor: Option<&'a Redactor>,
    /// The texts that entered the run (user, trusted and untrusted tool
    /// outputs), to trace the call's arguments to; `None` for a call
    /// outside a run (then no provenance is recorded).
    pub sources: Option<&'a ValueSources<'a>>,
}

impl<'a> CallScope<'a> {
    /// The scope of a call made outside any run.
    pub fn new(call: &'a CallContext) -> Self {
        Self {
            call,
            taint: None,
            boundary: None,
            redactor: None,
            sources: None,
        }
    }
}

/// Why a person must approve a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApprovalReason {
    /// The tool is `#[irreversible]`.
    Irreversible {
        /// What cannot be undone, with the tool's declared reason.
        reason: String,
    },
    /// The policy asked for a person.
    Policy {
        /// What the policy said.
        reason: String,
    },
    /// The rule of two: the run read untrusted content and private data, and
    /// the call changes something.
    RuleOfTwo {
        /// Why.
        reason: String,
    },
    /// The run read untrusted content and the call's arguments carry a link
    /// with data to a host outside the allowlist.
    DataInLink {
        /// Which hosts.
        reason: String,
    },
    /// A sink argument carries a value that only untrusted content supplied,
    /// and the agent or tool chose to ask a person rather than deny
    /// ([`SinkPolicy::Ask`]).
    Provenance {
        /// Which arguments, from which sources.
        reason: String,
    },
}

impl ApprovalReason {
    /// The words an approver reads.
    pub fn text(&self) -> &str {
        match self {
            ApprovalReason::Irreversible { reason }
            | ApprovalReason::Policy { reason }
            | ApprovalReason::RuleOfTwo { reason }
            | ApprovalReason::DataInLink { reason }
            | ApprovalReason::Provenance { reason } => reason,
        }
    }
}

/// What the pipeline decided about a call, recorded with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum CallDecision {
    /// The call runs without a person.
    Allowed,
    /// The call runs once a person approves it.
    NeedsApproval {
        /// Every reason that applies, most fundamental first.
        reasons: Vec<ApprovalReason>,
        /// Where each argument came from and the untrusted sources the run
        /// had read (`None` for a call outside a run, or a record written
        /// before provenance existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provenance: Option<ProvenanceReport>,
    },
    /// The policy refused the call.
    DeniedByPolicy {
        /// The policy that refused (its type name).
        policy: String,
        /// Its reason (shown to the model).
        reason: String,
    },
    /// The call would send a secret, or a link with data to a host outside
    /// the allowlist, outside the system.
    RefusedOutgoing {
        /// Why.
        reason: String,
    },
    /// The call never reached the policy: an unknown tool, or arguments that
    /// did not decode.
    Invalid {
        /// The error, as the model saw it.
        error: String,
    },
}

impl CallDecision {
    /// Whether the call may run (at once, or once approved).
    pub fn permits_running(&self) -> bool {
        matches!(
            self,
            CallDecision::Allowed | CallDecision::NeedsApproval { .. }
        )
    }

    /// Whether a person must approve the call before it runs.
    pub fn needs_approval(&self) -> bool {
        matches!(self, CallDecision::NeedsApproval { .. })
    }

    /// What an approver reads: the reasons joined (`` `refund` cannot be
    /// undone: moves money; ...``), then, when the call was traced, where
    /// each argument came from and the untrusted sources the run had read.
    pub fn approval_text(&self) -> Option<String> {
        match self {
            CallDecision::NeedsApproval {
                reasons,
                provenance,
            } => {
                let mut text = reasons
                    .iter()
                    .map(ApprovalReason::text)
                    .collect::<Vec<_>>()
                    .join("; ");
                if let Some(report) = provenance {
                    text.push_str(&report.approver_text());
                }
                Some(text)
            }
            _ => None,
        }
    }

    /// The provenance recorded with a call that needs approval.
    pub fn provenance(&self) -> Option<&ProvenanceReport> {
        match self {
            CallDecision::NeedsApproval { provenance, .. } => provenance.as_ref(),
            _ => None,
        }
    }

    /// The error a refused call ends with, `None` when it may run.
    pub fn refusal(&self, tool: &str) -> Option<ToolError> {
        match self {
            CallDecision::Allowed | CallDecision::NeedsApproval { .. } => None,
            CallDecision::DeniedByPolicy { reason, .. } => Some(ToolError::Denied {
                tool: tool.to_owned(),
                reason: reason.clone(),
            }),
            CallDecision::RefusedOutgoing { reason } => Some(ToolError::Denied {
                tool: tool.to_owned(),
                reason: reason.clone(),
            }),
            CallDecision::Invalid { error } => Some(ToolError::Denied {
                tool: tool.to_owned(),
                reason: error.clone(),
            }),
        }
    }
}

/// The policy name recorded when a call is denied because a sink argument
/// carries a value only untrusted content supplied.
pub const PROVENANCE_POLICY: &str = "agentsec::provenance";

impl Dispatcher {
    /// Decides a decoded call: the policy first (a denial ends it), then
    /// the outgoing checks of an egress call (a secret or a link with data
    /// to an unlisted host refuses it), then every reason a person must
    /// approve it — the tool is irreversible, the policy asks, the rule of
    /// two, a link carrying data after untrusted content. Publishes what it
    /// decided as security events.
    pub async fn decide(&self, scope: &CallScope<'_>, call: &ValidatedCall) -> CallDecision {
        let spec = call.spec();
        let context = scope.call;
        let request = PolicyRequest {
            user: &context.user,
            agent: &context.agent,
            agent_permissions: self.permissions.as_ref(),
            tool: spec,
            arguments: call.arguments(),
        };
        let mut reasons = Vec::new();
        match self.policy.decide_boxed(&request).await {
            Decision::Deny { reason } => {
                self.events.publish(SecurityEvent::PermissionDenied {
                    run_id: context.run_id,
                    agent: context.agent.clone(),
                    user: context.user.id.clone(),
                    tool: spec.name.to_owned(),
                    call_id: context.call_id,
                    reason: reason.clone(),
                });
                return CallDecision::DeniedByPolicy {
                    policy: self.policy.policy_name().to_owned(),
                    reason,
                };
            }
            Decision::RequireApproval { reason } => {
                reasons.push(ApprovalReason::Policy { reason });
            }
            Decision::Allow => {}
        }
        if let Err(reason) = self.check_outgoing(scope, spec, call.arguments()) {
            return CallDecision::RefusedOutgoing { reason };
        }
        let provenance = scope.sources.map(|s| s.trace(spec, call.arguments()));
        if let Some(warning) = provenance
            .as_ref()
            .and_then(|report| report.sink_warning(spec.name))
        {
            self.publish_escalation(context, spec.name, &warning);
            let ask = spec.sinks.on_untrusted == SinkPolicy::Ask
                || self.untrusted_sinks == SinkPolicy::Ask;
            if !ask {
                self.events.publish(SecurityEvent::PermissionDenied {
                    run_id: context.run_id,
                    agent: context.agent.clone(),
                    user: context.user.id.clone(),
                    tool: spec.name.to_owned(),
                    call_id: context.call_id,
                    reason: warning.clone(),
                });
                return CallDecision::DeniedByPolicy {
                    policy: PROVENANCE_POLICY.to_owned(),
                    reason: warning,
                };
            }
            reasons.push(ApprovalReason::Provenance { reason: warning });
        }
        if let Some(irreversible) = spec.irreversible {
            let reason = match irreversible.reason {
                Some(why) => format!("`{}` cannot be undone: {why}", spec.name),
                None => format!("`{}` cannot be undone", spec.name),
            };
            // A policy that asks because the tool is irreversible (as
            // `DefaultPolicy` does, in these words) is not repeated.
            reasons.retain(|r| r.text() != reason);
            reasons.insert(0, ApprovalReason::Irreversible { reason });
        }
        if let Some(reason) = scope.taint.and_then(|t| t.requires_approval(spec)) {
            self.publish_escalation(context, spec.name, &reason);
            reasons.push(ApprovalReason::RuleOfTwo { reason });
        } else if let Some(taint) = scope.taint.filter(|t| t.is_tainted())
            && spec.is_irreversible()
        {
            // An irreversible call after untrusted content: a person is asked
            // anyway, and the escalation is published for whoever watches.
            let sources: Vec<&str> = taint
                .ingested_untrusted
                .iter()
                .map(String::as_str)
                .collect();
            let reason = format!(
                "this run has read untrusted content (from {}); `{}` cannot be undone",
                sources.join(", "),
                spec.name
            );
            self.publish_escalation(context, spec.name, &reason);
        }
        if let Some(reason) = self.data_in_link(scope, spec, call.arguments()) {
            self.publish_escalation(context, spec.name, &reason);
            reasons.push(ApprovalReason::DataInLink { reason });
        }
        if reasons.is_empty() {
            return CallDecision::Allowed;
        }
        let decision = CallDecision::NeedsApproval {
            reasons,
            provenance,
        };
        let text = decision.approval_text().unwrap_or_default();
        self.events.publish(SecurityEvent::ApprovalRequested {
            run_id: context.run_id,
            agent: context.agent.clone(),
            user: context.user.id.clone(),
            tool: spec.name.to_owned(),
            call_id: context.call_id,
            reason: text,
        });
        decision
    }

    /// The redactor of `scope`: the run's, or the runtime's.
    pub(crate) fn redactor_for<'s>(&'s self, scope: &CallScope<'s>) -> &'s Redactor {
        scope.redactor.unwrap_or(&self.redactor)
    }

    fn publish_escalation(&self, context: &CallContext, tool: &str, reason: &str) {
        self.events.publish(SecurityEvent::TaintEscalation {
            run_id: context.run_id,
            agent: context.agent.clone(),
            tool: tool.to_owned(),
            reason: reason.to_owned(),
        });
    }
}
