use serde::{Deserialize, Serialize};

use super::{RunStatus, UnixMillis};
use crate::identity::RunId;

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
    /// The key of the client request that creates the run (unique among
    /// runs; the engine scopes it to the agent, tenant and user). Creating a
    /// run with a key already used creates nothing and returns the run made
    /// with it the first time: a retried request finds its run.
    pub request_key: Option<String>,
    /// The lease the run is created under (owner and expiry), taken in the
    /// same write as the run: no worker can claim a run its creator is about
    /// to drive. `None`: the run is free for any worker to claim.
    pub lease: Option<(String, UnixMillis)>,
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
            request_key: None,
            lease: None,
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
    /// [`RunStore::update_run`](crate::store::RunStore::update_run) only succeeds
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

/// What [`RunStore::purge_before`](crate::store::RunStore::purge_before) removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeReport {
    /// Finished runs removed (with their approvals, intents and usage).
    pub runs: u64,
    /// Steps removed.
    pub steps: u64,
}
