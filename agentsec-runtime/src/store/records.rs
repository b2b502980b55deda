//! The records the store keeps. Every record is plain data (serde), so the
//! engine, the CLI and the HTTP layer can share them without knowing which
//! database is underneath.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::{CallId, RunId};

/// A point in time: milliseconds since the Unix epoch (UTC).
///
/// Plain integers keep the schema portable between SQLite and PostgreSQL and
/// keep the dependency list short.
///
/// ```
/// use agentsec_runtime::store::UnixMillis;
/// use std::time::Duration;
/// let now = UnixMillis::now();
/// assert!(now.saturating_add(Duration::from_secs(1)) > now);
/// assert_eq!(UnixMillis(1_500).saturating_add(Duration::from_millis(500)), UnixMillis(2_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// The current time from the system clock.
    pub fn now() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self(millis)
    }

    /// This time plus `duration`, saturating instead of overflowing.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(millis))
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A stored status string that names no known status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`")]
pub struct UnknownStatus(pub String);

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The string stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownStatus(other.to_owned())),
                }
            }
        }
    };
}

string_enum!(
    /// Where a run is in its life.
    ///
    /// ```
    /// use agentsec_runtime::store::RunStatus;
    /// assert_eq!("awaiting_approval".parse::<RunStatus>().unwrap(), RunStatus::AwaitingApproval);
    /// assert!(RunStatus::Completed.is_terminal());
    /// assert!("exploded".parse::<RunStatus>().is_err());
    /// ```
    RunStatus {
        /// Being executed (or waiting for a worker to claim it).
        Running => "running",
        /// Paused until a person decides a pending approval.
        AwaitingApproval => "awaiting_approval",
        /// An irreversible call has an intent but no result, and the tool is
        /// not idempotent: a person must reconcile before the run goes on.
        NeedsReconciliation => "needs_reconciliation",
        /// Finished successfully.
        Completed => "completed",
        /// Finished with an error.
        Failed => "failed",
        /// Stopped by a limit or a policy (iterations, budget, guard).
        Halted => "halted",
    }
);

impl RunStatus {
    /// Whether the run is finished: completed, failed or halted.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Halted)
    }
}

string_enum!(
    /// Where an approval request is.
    ApprovalStatus {
        /// Waiting for a person.
        Pending => "pending",
        /// Approved: the call may run (once).
        Approved => "approved",
        /// Rejected: the call must not run.
        Rejected => "rejected",
        /// Nobody decided before the deadline.
        Expired => "expired",
    }
);

/// A run to create. The store assigns the version and the timestamps.
///
/// ```
/// use agentsec_runtime::store::{NewRun, RunStatus};
/// let run = NewRun::new("support", "user-42", serde_json::json!({"step": 0}));
/// assert_eq!(run.status, RunStatus::Running);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    /// The run's id.
    pub id: RunId,
    /// The agent definition's name.
    pub agent: String,
    /// The user the run acts for.
    pub user_id: String,
    /// The user's tenant, when multi-tenant.
    pub tenant: Option<String>,
    /// The initial status.
    pub status: RunStatus,
    /// The engine's state, opaque to the store.
    pub state: serde_json::Value,
}

impl NewRun {
    /// A running run with a fresh id and no tenant.
    pub fn new(
        agent: impl Into<String>,
        user_id: impl Into<String>,
        state: serde_json::Value,
    ) -> Self {
        Self {
            id: RunId::new(),
            agent: agent.into(),
            user_id: user_id.into(),
            tenant: None,
            status: RunStatus::Running,
            state,
        }
    }
}

/// A stored run: one execution of an agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id.
    pub id: RunId,
    /// The agent definition's name.
    pub agent: String,
    /// The user the run acts for.
    pub user_id: String,
    /// The user's tenant, when multi-tenant.
    pub tenant: Option<String>,
    /// Where the run is.
    pub status: RunStatus,
    /// The engine's state, opaque to the store.
    pub state: serde_json::Value,
    /// Optimistic-concurrency version: 1 on creation, +1 on every update.
    /// [`RunStore::update_run`](super::RunStore::update_run) only succeeds
    /// when this still matches the stored version.
    pub version: i64,
    /// When the run was created.
    pub created_at: UnixMillis,
    /// When the run was last updated.
    pub updated_at: UnixMillis,
    /// The worker holding the run's lease, if any (read-only: leases change
    /// only through the lease methods).
    pub lease_owner: Option<String>,
    /// Until when the lease holds (read-only).
    pub lease_until: Option<UnixMillis>,
}

/// Which runs to list.
///
/// ```
/// use agentsec_runtime::store::{RunFilter, RunStatus};
/// let filter = RunFilter::new().status(RunStatus::AwaitingApproval).agent("support").limit(20);
/// assert_eq!(filter.limit, 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs in this status.
    pub status: Option<RunStatus>,
    /// Only runs of this agent.
    pub agent: Option<String>,
    /// Only runs acting for this user.
    pub user_id: Option<String>,
    /// At most this many runs (newest first).
    pub limit: u32,
}

impl Default for RunFilter {
    fn default() -> Self {
        Self {
            status: None,
            agent: None,
            user_id: None,
            limit: 100,
        }
    }
}

impl RunFilter {
    /// All runs, newest first, at most 100.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only runs in `status`.
    pub fn status(mut self, status: RunStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only runs of `agent`.
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }

    /// Only runs acting for `user_id`.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// At most `limit` runs.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }
}

/// One persisted step of a run (append-only; `seq` is assigned by the store,
/// 1, 2, 3, ... per run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The run.
    pub run_id: RunId,
    /// Position in the run, from 1.
    pub seq: i64,
    /// What kind of step (`model_request`, `tool_call`, ...).
    pub kind: String,
    /// The step's data.
    pub data: serde_json::Value,
    /// When it was recorded.
    pub at: UnixMillis,
}

/// A request for a person to approve one irreversible call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApproval {
    /// The approval's id.
    pub id: Uuid,
    /// The run that wants to make the call.
    pub run_id: RunId,
    /// The call.
    pub call_id: CallId,
    /// The tool's name.
    pub tool: String,
    /// SHA-256 (hex) of the call's arguments: the approval is bound to them.
    pub args_sha256: String,
    /// Who asked (the agent and user, as the engine names them).
    pub requested_by: String,
    /// After this the approval can no longer be decided.
    pub expires_at: UnixMillis,
}

/// A stored approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// The approval's id.
    pub id: Uuid,
    /// The run.
    pub run_id: RunId,
    /// The call.
    pub call_id: CallId,
    /// The tool's name.
    pub tool: String,
    /// SHA-256 (hex) of the arguments the approval is bound to.
    pub args_sha256: String,
    /// Pending, approved, rejected or expired.
    pub status: ApprovalStatus,
    /// Who asked.
    pub requested_by: String,
    /// When it was asked.
    pub requested_at: UnixMillis,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Why (free text from the approver).
    pub reason: Option<String>,
    /// Arguments edited by the approver (JSON text, re-validated by the engine).
    pub edited_args: Option<String>,
    /// The deadline.
    pub expires_at: UnixMillis,
    /// When it was decided.
    pub decided_at: Option<UnixMillis>,
    /// The approver's signature over the decision, when the caller signs.
    pub signature: Option<String>,
}

/// A person's decision on a pending approval.
///
/// ```
/// use agentsec_runtime::store::ApprovalDecision;
/// let yes = ApprovalDecision::approve("alice");
/// let no = ApprovalDecision::reject("bob", "wrong amount");
/// assert!(yes.approved && !no.approved);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// Approved (`true`) or rejected (`false`).
    pub approved: bool,
    /// Who decided.
    pub decided_by: String,
    /// Why.
    pub reason: Option<String>,
    /// Edited arguments (JSON text), for edit-and-approve.
    pub edited_args: Option<String>,
    /// A signature over the decision.
    pub signature: Option<String>,
}

impl ApprovalDecision {
    /// An approval by `decided_by`.
    pub fn approve(decided_by: impl Into<String>) -> Self {
        Self {
            approved: true,
            decided_by: decided_by.into(),
            reason: None,
            edited_args: None,
            signature: None,
        }
    }

    /// A rejection by `decided_by` for `reason`.
    pub fn reject(decided_by: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            approved: false,
            decided_by: decided_by.into(),
            reason: Some(reason.into()),
            edited_args: None,
            signature: None,
        }
    }

    pub(crate) fn status(&self) -> ApprovalStatus {
        if self.approved {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Rejected
        }
    }
}

/// The intent to make an irreversible call, written before the call runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIntent {
    /// The run.
    pub run_id: RunId,
    /// The call (one intent per call, ever).
    pub call_id: CallId,
    /// The key passed to idempotent tools on retry.
    pub idempotency_key: String,
    /// The approval that allowed the call.
    pub approval_id: Option<Uuid>,
}

/// A stored intent and, once the call returned, its result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentRecord {
    /// The run.
    pub run_id: RunId,
    /// The call.
    pub call_id: CallId,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The approval that allowed the call.
    pub approval_id: Option<Uuid>,
    /// When the intent was written.
    pub started_at: UnixMillis,
    /// The call's result, once known.
    pub result: Option<serde_json::Value>,
    /// When the result was written.
    pub finished_at: Option<UnixMillis>,
}

/// Usage counters, per run and per agent. Also used as the delta to add.
///
/// ```
/// use agentsec_runtime::store::Usage;
/// let total = Usage { tokens_in: 10, ..Usage::default() }.plus(&Usage { tool_calls: 1, ..Usage::default() });
/// assert_eq!((total.tokens_in, total.tool_calls), (10, 1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub tokens_in: i64,
    /// Completion tokens.
    pub tokens_out: i64,
    /// Tool calls made.
    pub tool_calls: i64,
    /// Cost in millionths of a US dollar.
    pub cost_micro_usd: i64,
}

impl Usage {
    /// The sum of two usages (saturating).
    pub fn plus(&self, other: &Usage) -> Usage {
        Usage {
            tokens_in: self.tokens_in.saturating_add(other.tokens_in),
            tokens_out: self.tokens_out.saturating_add(other.tokens_out),
            tool_calls: self.tool_calls.saturating_add(other.tool_calls),
            cost_micro_usd: self.cost_micro_usd.saturating_add(other.cost_micro_usd),
        }
    }

    /// Refuses negative deltas: usage only grows, so a caller cannot win
    /// budget back by adding a negative amount.
    pub(crate) fn check_delta(&self) -> Result<(), super::StoreError> {
        if self.tokens_in < 0
            || self.tokens_out < 0
            || self.tool_calls < 0
            || self.cost_micro_usd < 0
        {
            return Err(super::StoreError::Invalid(format!(
                "negative usage delta: {self:?}"
            )));
        }
        Ok(())
    }
}

/// A stored agent invocation key (the key itself is never stored, only its hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentKeyRecord {
    /// The key's public id.
    pub key_id: String,
    /// The agent the key invokes.
    pub agent: String,
    /// The environment the key is bound to.
    pub environment: String,
    /// The key's hash.
    pub hash: String,
    /// When it was issued.
    pub created_at: UnixMillis,
    /// When it stops working.
    pub expires_at: Option<UnixMillis>,
    /// When it was revoked.
    pub revoked_at: Option<UnixMillis>,
    /// When it was rotated.
    pub rotated_at: Option<UnixMillis>,
    /// After a rotation, the old key keeps working until then.
    pub overlap_until: Option<UnixMillis>,
    /// The allowed source networks (JSON array of CIDR strings; `[]` = any).
    pub cidrs: serde_json::Value,
}

/// What [`RunStore::purge_before`](super::RunStore::purge_before) removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeReport {
    /// Finished runs removed (with their approvals, intents and usage).
    pub runs: u64,
    /// Steps removed.
    pub steps: u64,
}
