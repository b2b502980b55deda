use std::sync::{Arc, Mutex};

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
    /// Untrusted text matched screening rules that flag; it went on, marked.
    InputFlagged {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// Where the text came from: `user_input` or a tool's name.
        source: String,
        /// The rules that fired.
        rules: Vec<String>,
    },
    /// Untrusted text matched screening rules that block; the model never saw it.
    InputBlocked {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// Where the text came from: `user_input` or a tool's name.
        source: String,
        /// The rules that fired.
        rules: Vec<String>,
    },
    /// The run holds private data and untrusted content, so a state-changing
    /// call needs approval whatever its declaration (the rule of two).
    TaintEscalation {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// The tool.
        tool: String,
        /// The call.
        call_id: CallId,
        /// Why.
        reason: String,
    },
    /// Secret values or credential-shaped strings were removed from something
    /// leaving the run. Names only: never a value.
    SecretRedacted {
        /// The run.
        run_id: RunId,
        /// The agent.
        agent: String,
        /// Where: `tool_result`, `final_answer`, `tool_arguments`, ...
        sink: String,
        /// The secrets' names (`credential` for unnamed credential shapes).
        names: Vec<String>,
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
            SecurityEvent::SecretRedacted { .. } => "secret_redacted",
            SecurityEvent::ExfiltrationBlocked { .. } => "exfiltration_blocked",
        }
    }
}

/// Receives security events. Implementations must be quick: they are called
/// inline by the engine (hand slow work to a channel or a task).
pub trait EventSink: Send + Sync + 'static {
    /// Handles one event.
    fn publish(&self, event: &SecurityEvent);
}

/// Keeps every event in memory: for tests and for inspecting a run.
///
/// ```
/// use agentsec_runtime::trace::{CollectingSink, EventBus};
/// let sink = CollectingSink::default();
/// let bus = EventBus::default().with(sink.clone());
/// assert!(sink.events().is_empty());
/// # let _ = bus;
/// ```
#[derive(Clone, Default)]
pub struct CollectingSink {
    events: Arc<Mutex<Vec<SecurityEvent>>>,
}

impl CollectingSink {
    /// The events received so far.
    pub fn events(&self) -> Vec<SecurityEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl EventSink for CollectingSink {
    fn publish(&self, event: &SecurityEvent) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
    }
}

/// Fans events out to every registered sink, and to the log.
#[derive(Clone, Default)]
pub struct EventBus {
    sinks: Vec<Arc<dyn EventSink>>,
}

impl EventBus {
    /// Adds a sink.
    pub fn with(mut self, sink: impl EventSink) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Adds a shared sink.
    pub fn with_shared(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Publishes `event` to every sink and logs it at `WARN`.
    pub fn publish(&self, event: SecurityEvent) {
        tracing::warn!(target: "agentsec::security", kind = event.kind(), event = ?event, "security event");
        for sink in &self.sinks {
            sink.publish(&event);
        }
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}
