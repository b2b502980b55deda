//! The run as a value: every state the engine passes through serializes, so
//! a store can persist it and another process can resume it.

use serde::{Deserialize, Serialize};

use crate::budget::Spend;
use crate::call::{ApprovalRecord, CallDecision, CallOutcome};
use crate::guard::TaintTracker;
use crate::identity::{CallId, RunId, UserIdentity};
use crate::model::Message;
use crate::tool::ApprovalProof;

/// Where a run is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// The input is to be screened before the model sees it.
    Received,
    /// The next step is a model call.
    AwaitingModel,
    /// The model proposed tool calls; they are decided and run in order.
    ToolCallsProposed,
    /// At least one call waits for a person.
    AwaitingApproval,
    /// An approved call's intent was written but its result never was (the
    /// process died mid-call) and the tool is not idempotent: whether it
    /// happened is unknown, so a person must say before the run goes on.
    NeedsReconciliation {
        /// The call in doubt.
        call_id: CallId,
        /// Its tool.
        tool: String,
        /// The idempotency key the call ran (or was about to run) with, as
        /// the tool saw it in `ctx.idempotency_key()`: what to look up
        /// downstream to find out whether it took effect.
        #[serde(default)]
        idempotency_key: String,
    },
    /// The model answered.
    Completed {
        /// The answer.
        answer: String,
    },
    /// A limit stopped the run.
    Halted {
        /// Which limit.
        reason: HaltReason,
    },
    /// The run failed (the model provider failed, for instance).
    Failed {
        /// What failed, in words safe to show.
        error: String,
        /// The model provider failed in a way that may pass (unreachable,
        /// timed out, rate-limited, a 5xx): the run can be retried from its
        /// last checkpoint ([`AgentRuntime::retry`](super::AgentRuntime::retry)).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        transient: bool,
    },
}

impl Phase {
    /// Whether the run is over.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Phase::Completed { .. } | Phase::Halted { .. } | Phase::Failed { .. }
        )
    }

    /// A short name: `received`, `awaiting_model`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Received => "received",
            Phase::AwaitingModel => "awaiting_model",
            Phase::ToolCallsProposed => "tool_calls_proposed",
            Phase::AwaitingApproval => "awaiting_approval",
            Phase::NeedsReconciliation { .. } => "needs_reconciliation",
            Phase::Completed { .. } => "completed",
            Phase::Halted { .. } => "halted",
            Phase::Failed { .. } => "failed",
        }
    }
}

/// Why a run was halted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HaltReason {
    /// The agent's `max_iterations` was reached.
    MaxIterations {
        /// The limit.
        limit: u32,
    },
    /// A budget cap would have been passed.
    Budget {
        /// Which cap: `tokens`, `tool_calls` or `usd`.
        cap: String,
        /// What was spent.
        spent: f64,
        /// The cap.
        limit: f64,
    },
    /// The policy or a guard stopped the run.
    Policy {
        /// Why.
        reason: String,
    },
}

/// What became of one proposed tool call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CallStatus {
    /// Not yet decided.
    Proposed,
    /// Waiting for a person.
    AwaitingApproval {
        /// Why approval is needed.
        reason: String,
    },
    /// A person approved it; it runs next.
    Approved {
        /// The approval.
        proof: ApprovalProof,
    },
    /// A person rejected it.
    Rejected {
        /// Who.
        approver: String,
        /// Why.
        reason: String,
    },
    /// Nobody decided before the approval's deadline; it did not run.
    Expired,
    /// The policy denied it.
    Denied {
        /// Why.
        reason: String,
    },
    /// It ran and returned a result.
    Executed,
    /// It was refused or failed; the model was told why.
    Failed {
        /// The error, as the model saw it.
        error: String,
    },
}

impl CallStatus {
    /// Whether the call still needs something to happen.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            CallStatus::Proposed
                | CallStatus::AwaitingApproval { .. }
                | CallStatus::Approved { .. }
        )
    }
}

/// A tool call the model proposed, and the typed record of what became of
/// it: the run's current turn keeps them in [`RunState::pending`], finished
/// turns in [`RunState::calls`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingCall {
    /// agentsec's id of the call (in grants, approvals, traces).
    pub call_id: CallId,
    /// The provider's id of the call (tool results refer to it).
    pub model_call_id: String,
    /// The tool's name as the model wrote it.
    pub tool: String,
    /// The arguments: as the model wrote them until the call is decoded,
    /// then their canonical JSON (what an approver sees and what runs).
    pub arguments: String,
    /// The step the call is.
    pub step: u32,
    /// What became of it.
    pub status: CallStatus,
    /// What the call pipeline decided (policy, guards, outgoing checks),
    /// with the reasons: the record an investigation reads.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::legacy::decision"
    )]
    pub decision: Option<CallDecision>,
    /// The id (`jti`) of the scoped grant the call ran under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_jti: Option<String>,
    /// Who approved the call, when, and whether they edited it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRecord>,
    /// How the call ended, once it ran or was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CallOutcome>,
}

/// One run of an agent: everything needed to continue it, in any process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The run's id.
    pub run_id: RunId,
    /// The agent's name.
    pub agent: String,
    /// The version of the prompt the run started with.
    pub prompt_version: String,
    /// The user the run acts for.
    pub user: UserIdentity,
    /// The conversation so far (system prompt excluded).
    pub messages: Vec<Message>,
    /// Model turns taken.
    pub iterations: u32,
    /// Steps taken (model calls and tool calls).
    pub step: u32,
    /// What the run has spent.
    pub spend: Spend,
    /// Where the run is.
    pub phase: Phase,
    /// The calls of the current turn.
    pub pending: Vec<PendingCall>,
    /// The calls of the turns before, in order, with their records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<PendingCall>,
    /// Data-protection state: the spotlighting boundary and the taint.
    #[serde(default)]
    pub guard: RunGuard,
    /// How many times the state was saved; stores use it to refuse stale writes.
    pub version: u64,
    /// Calls whose arguments a person edited before approving them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<ArgumentEdit>,
}

/// A person changed a call's arguments before approving it. The call runs
/// with the new arguments (the approval binds them) and the model is told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArgumentEdit {
    /// The call.
    pub call_id: CallId,
    /// The arguments the model wrote.
    pub original_arguments: String,
    /// Who edited them.
    pub edited_by: String,
}

/// What a run remembers for data protection, so a resumed run keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunGuard {
    /// The run's random spotlighting boundary (see [`crate::guard::Spotlighter`]).
    pub boundary: String,
    /// What the run has taken in: untrusted content, private data.
    pub taint: TaintTracker,
    /// The names (never the values) of the secrets the run's tools read,
    /// so a run resumed in another process redacts them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets_read: Vec<String>,
    /// The run's redactor, while the run is in memory.
    #[serde(skip)]
    pub(crate) redactor: RunRedactor,
}

/// The redactor of a run in memory: not part of the saved state (it holds
/// secret values) and not part of a state's identity.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunRedactor(pub(crate) Option<crate::secrets::Redactor>);

impl PartialEq for RunRedactor {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl RunState {
    /// A new run of `agent` for `user` with `input`.
    pub fn new(agent: &str, prompt_version: &str, user: UserIdentity, input: String) -> Self {
        Self {
            run_id: RunId::new(),
            agent: agent.to_owned(),
            prompt_version: prompt_version.to_owned(),
            user,
            messages: vec![Message::user(input)],
            iterations: 0,
            step: 0,
            spend: Spend::default(),
            phase: Phase::Received,
            pending: Vec::new(),
            calls: Vec::new(),
            guard: RunGuard {
                boundary: crate::guard::Spotlighter::new().boundary().to_owned(),
                taint: TaintTracker::new(),
                ..RunGuard::default()
            },
            version: 0,
            edits: Vec::new(),
        }
    }

    /// The index of the call the engine decides or runs next: the first
    /// call of the turn still proposed or approved.
    pub fn next_open_call(&self) -> Option<usize> {
        self.pending
            .iter()
            .position(|c| matches!(c.status, CallStatus::Proposed | CallStatus::Approved { .. }))
    }

    /// Every call of the run so far, in order: earlier turns', then the
    /// current turn's.
    pub fn all_calls(&self) -> impl Iterator<Item = &PendingCall> {
        self.calls.iter().chain(&self.pending)
    }

    /// The calls waiting for a person.
    pub fn awaiting_approval(&self) -> impl Iterator<Item = &PendingCall> {
        self.pending
            .iter()
            .filter(|c| matches!(c.status, CallStatus::AwaitingApproval { .. }))
    }
}

/// How a run (or one stretch of it) ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RunOutcome {
    /// The model answered.
    Completed {
        /// The answer.
        answer: String,
    },
    /// The run waits for people to decide these calls.
    AwaitingApproval {
        /// The calls, each with what the approver needs to see.
        pending: Vec<PendingCall>,
    },
    /// A call is in doubt: its intent was written but no result, so it may
    /// or may not have taken effect (the process died or stalled while it
    /// ran). A person looks its idempotency key up downstream and reconciles.
    NeedsReconciliation {
        /// The call in doubt.
        call_id: CallId,
        /// Its tool.
        tool: String,
        /// The idempotency key the tool saw (`ctx.idempotency_key()`).
        idempotency_key: String,
    },
    /// A limit stopped the run.
    Halted {
        /// Which.
        reason: HaltReason,
    },
    /// The run failed.
    Failed {
        /// Why.
        error: String,
    },
}

impl RunOutcome {
    /// The outcome a finished or paused state stands for.
    pub fn of(state: &RunState) -> Option<Self> {
        match &state.phase {
            Phase::Completed { answer } => Some(RunOutcome::Completed {
                answer: answer.clone(),
            }),
            Phase::Halted { reason } => Some(RunOutcome::Halted {
                reason: reason.clone(),
            }),
            Phase::Failed { error, .. } => Some(RunOutcome::Failed {
                error: error.clone(),
            }),
            Phase::AwaitingApproval => Some(RunOutcome::AwaitingApproval {
                pending: state.awaiting_approval().cloned().collect(),
            }),
            Phase::NeedsReconciliation {
                call_id,
                tool,
                idempotency_key,
            } => Some(RunOutcome::NeedsReconciliation {
                call_id: *call_id,
                tool: tool.clone(),
                idempotency_key: idempotency_key.clone(),
            }),
            _ => None,
        }
    }
}
