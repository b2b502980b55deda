//! The security events themselves.

use serde::{Deserialize, Serialize};

use crate::identity::{CallId, RunId};

/// Something security-relevant that happened in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecurityEvent {
    /// The policy denied a tool call.
    PermissionDenied {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// The user.
        user: String,
        /// The tool.
        tool: String,
        /// The call.
        call_id: CallId,
        /// Why.
        reason: String,
    },
    /// A tool call was refused before running: unknown tool, bad arguments,
    /// a grant that did not verify.
    ToolRefused {
        /// The run.
        run_id: RunId,
        /// The tool as the model named it.
        tool: String,
        /// The call.
        call_id: CallId,
        /// Why.
        error: String,
    },
    /// A call waits for a person.
    ApprovalRequested {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// The user the run acts for.
        user: String,
        /// The tool.
        tool: String,
        /// The call.
        call_id: CallId,
        /// Why approval is needed.
        reason: String,
    },
    /// A person approved a call.
    ApprovalGranted {
        /// The run.
        run_id: RunId,
        /// The call.
        call_id: CallId,
        /// The tool.
        tool: String,
        /// Who approved.
        approver: String,
    },
    /// A person rejected a call.
    ApprovalRejected {
        /// The run.
        run_id: RunId,
        /// The call.
        call_id: CallId,
        /// The tool.
        tool: String,
        /// Who rejected.
        approver: String,
        /// Why.
        reason: String,
    },
    /// A budget cap passed 80 %.
    BudgetWarning {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// Which cap.
        cap: String,
        /// Spent so far.
        spent: f64,
        /// The cap.
        limit: f64,
    },
    /// A link able to carry data to a host outside the allowlist was removed
    /// from the answer, or an outgoing message carrying one was refused.
    ExfiltrationBlocked {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// Where: `final_answer` or the egress tool's name.
        sink: String,
        /// The link's host, when it parsed.
        host: Option<String>,
    },
    /// A run was halted by a limit.
    RunHalted {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// Which limit, in words.
        reason: String,
    },
    /// Input screening flagged text but let it through (spotlighted).
    InputFlagged {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// Where the text came from (`user`, or `tool:<name>`).
        source: String,
        /// The ids of the screening rules that matched.
        rules: Vec<String>,
    },
    /// Input screening blocked text before the model saw it.
    InputBlocked {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// Where the text came from (`user`, or `tool:<name>`).
        source: String,
        /// The ids of the screening rules that matched.
        rules: Vec<String>,
    },
    /// The run became tainted by untrusted content and a call needed more
    /// scrutiny (approval, or refusal) because of it.
    TaintEscalation {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// The tool whose call was escalated.
        tool: String,
        /// Why.
        reason: String,
    },
    /// A budget cap was reached; the run stops spending.
    BudgetExceeded {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// Which cap.
        cap: String,
        /// Spent so far.
        spent: f64,
        /// The cap.
        limit: f64,
    },
    /// An agent invocation key was refused. Carries the key's id when it
    /// could be parsed, never the key itself.
    KeyRejected {
        /// The key's public id, if the presented key had a recognisable one.
        key_id: Option<String>,
        /// The agent the key was presented for, if known.
        agent: Option<String>,
        /// Why (expired, revoked, wrong environment, address not allowed, ...).
        reason: String,
    },
    /// A secret's value was scrubbed from something leaving the run. Names the
    /// secret, never its value.
    SecretRedacted {
        /// The run, if the redaction happened inside one.
        run_id: Option<RunId>,
        /// The secret's name in the secret store (or the credential pattern's name).
        secret: String,
        /// Where the value was about to go (`trace`, `log`, `model_request`, `tool_output`, ...).
        sink: String,
    },
    /// An anomaly rule fired (see [`AnomalyDetector`](super::AnomalyDetector)).
    Anomaly {
        /// The run, when the anomaly concerns one.
        run_id: Option<RunId>,
        /// The agent, when the anomaly concerns one.
        agent: Option<String>,
        /// The rule's id (`repeated_denials`, `tool_call_rate`, `repeated_irreversible`).
        rule: String,
        /// What was seen, in words.
        description: String,
    },
    /// A tool call passed the policy (and its approval, if any) and is about
    /// to execute. Feeds the rate and repeated-call anomaly rules.
    ToolCalled {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// The tool.
        tool: String,
        /// The call.
        call_id: CallId,
        /// Whether the tool is `#[irreversible]`.
        irreversible: bool,
        /// [`args_digest`](super::args_digest) of the call's arguments.
        args_digest: String,
    },
    /// A run's state said a call was approved, but no signed decision
    /// verified for it (the state or the decision was altered in the
    /// store): the call did not run and the run was stopped.
    ApprovalIntegrity {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// The tool.
        tool: String,
        /// The call.
        call_id: CallId,
        /// What did not verify.
        reason: String,
    },
    /// An irreversible call ran (its result is recorded). Goes to the audit log.
    IrreversibleExecuted {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// The user the run acts for.
        user: String,
        /// The tool.
        tool: String,
        /// The call.
        call_id: CallId,
        /// [`args_digest`](super::args_digest) of the arguments that ran.
        args_digest: String,
        /// Who approved it, when a person did.
        approver: Option<String>,
        /// Whether the tool reported success.
        succeeded: bool,
    },
    /// A run's stored state (or a call's stored result) does not decode: the
    /// run was quarantined (status `corrupt`) instead of being retried by
    /// every worker. An operator inspects it; the store may have been
    /// tampered with.
    RunQuarantined {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// What did not decode.
        reason: String,
    },
}

impl SecurityEvent {
    /// The event's kind, as in its serialized `event` field.
    pub fn kind(&self) -> &'static str {
        match self {
            SecurityEvent::PermissionDenied { .. } => "permission_denied",
            SecurityEvent::ToolRefused { .. } => "tool_refused",
            SecurityEvent::ApprovalRequested { .. } => "approval_requested",
            SecurityEvent::ApprovalGranted { .. } => "approval_granted",
            SecurityEvent::ApprovalRejected { .. } => "approval_rejected",
            SecurityEvent::BudgetWarning { .. } => "budget_warning",
            SecurityEvent::RunHalted { .. } => "run_halted",
            SecurityEvent::InputFlagged { .. } => "input_flagged",
            SecurityEvent::InputBlocked { .. } => "input_blocked",
            SecurityEvent::TaintEscalation { .. } => "taint_escalation",
            SecurityEvent::BudgetExceeded { .. } => "budget_exceeded",
            SecurityEvent::KeyRejected { .. } => "key_rejected",
            SecurityEvent::SecretRedacted { .. } => "secret_redacted",
            SecurityEvent::Anomaly { .. } => "anomaly",
            SecurityEvent::ToolCalled { .. } => "tool_called",
            SecurityEvent::IrreversibleExecuted { .. } => "irreversible_executed",
            SecurityEvent::ApprovalIntegrity { .. } => "approval_integrity",
            SecurityEvent::ExfiltrationBlocked { .. } => "exfiltration_blocked",
            SecurityEvent::RunQuarantined { .. } => "run_quarantined",
        }
    }
}

impl SecurityEvent {
    /// The run the event concerns, when it concerns one.
    pub fn run_id(&self) -> Option<RunId> {
        match self {
            SecurityEvent::PermissionDenied { run_id, .. }
            | SecurityEvent::ToolRefused { run_id, .. }
            | SecurityEvent::ApprovalRequested { run_id, .. }
            | SecurityEvent::ApprovalGranted { run_id, .. }
            | SecurityEvent::ApprovalRejected { run_id, .. }
            | SecurityEvent::BudgetWarning { run_id, .. }
            | SecurityEvent::RunHalted { run_id, .. }
            | SecurityEvent::InputFlagged { run_id, .. }
            | SecurityEvent::InputBlocked { run_id, .. }
            | SecurityEvent::TaintEscalation { run_id, .. }
            | SecurityEvent::BudgetExceeded { run_id, .. }
            | SecurityEvent::ToolCalled { run_id, .. }
            | SecurityEvent::IrreversibleExecuted { run_id, .. }
            | SecurityEvent::ApprovalIntegrity { run_id, .. }
            | SecurityEvent::ExfiltrationBlocked { run_id, .. }
            | SecurityEvent::RunQuarantined { run_id, .. } => Some(*run_id),
            SecurityEvent::SecretRedacted { run_id, .. }
            | SecurityEvent::Anomaly { run_id, .. } => *run_id,
            SecurityEvent::KeyRejected { .. } => None,
        }
    }

    /// The agent the event concerns, when the event names it.
    pub fn agent(&self) -> Option<&str> {
        match self {
            SecurityEvent::PermissionDenied { agent, .. }
            | SecurityEvent::ApprovalRequested { agent, .. }
            | SecurityEvent::BudgetWarning { agent, .. }
            | SecurityEvent::RunHalted { agent, .. }
            | SecurityEvent::InputFlagged { agent, .. }
            | SecurityEvent::InputBlocked { agent, .. }
            | SecurityEvent::TaintEscalation { agent, .. }
            | SecurityEvent::BudgetExceeded { agent, .. }
            | SecurityEvent::ToolCalled { agent, .. }
            | SecurityEvent::IrreversibleExecuted { agent, .. }
            | SecurityEvent::ApprovalIntegrity { agent, .. }
            | SecurityEvent::ExfiltrationBlocked { agent, .. }
            | SecurityEvent::RunQuarantined { agent, .. } => Some(agent),
            SecurityEvent::KeyRejected { agent, .. } | SecurityEvent::Anomaly { agent, .. } => {
                agent.as_deref()
            }
            SecurityEvent::ToolRefused { .. }
            | SecurityEvent::ApprovalGranted { .. }
            | SecurityEvent::ApprovalRejected { .. }
            | SecurityEvent::SecretRedacted { .. } => None,
        }
    }
}
