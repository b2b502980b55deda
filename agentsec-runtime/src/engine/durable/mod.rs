//! The engine's checkpoints in a durable [`RunStore`].

mod checkpoints;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::{CallStatus, CheckpointError, Phase, RunState};
use crate::hitl::{ApprovalPolicy, DecisionSigner};
use crate::identity::{CallId, RunId};
use crate::store::{NewApproval, NewRun, RunRecord, RunStatus, RunStore, StoreError, UnixMillis};
use crate::tool::args_digest;

/// How long a worker's lease on a run lasts unless renewed.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// How long a request for approval stays open.
pub const DEFAULT_APPROVAL_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// [`Checkpoints`](super::Checkpoints) over a [`RunStore`]: every engine transition is committed
/// to the store before the next begins.
///
/// - The run row is created on the first save; later saves are
///   compare-and-swap on the version, so of two writers that read the same
///   state only one can advance it ([`CheckpointError::Conflict`]).
/// - The run's status follows its [`Phase`] (`running`, `awaiting_approval`,
///   `needs_reconciliation`, `completed`, `halted`, `failed`).
/// - A step record is appended per transition.
/// - Every call waiting for a person gets its own approval row (its id is
///   the call id's UUID), bound to the tool and the arguments' digest, with
///   a deadline.
/// - The writer holds the run's lease while the run is running (taking it
///   when free, renewing it on every save) and gives it up when the run
///   pauses or ends; a save by a writer whose lease another worker took is
///   refused ([`CheckpointError::LeaseLost`]).
/// - Intents and their results are the store's intents.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_runtime::engine::{Checkpoints, RunState, StoreCheckpoints};
/// use agentsec_runtime::identity::UserIdentity;
/// use agentsec_runtime::store::{RunStatus, RunStore, SqliteStore};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store: Arc<dyn RunStore> = Arc::new(SqliteStore::open_in_memory().await.unwrap());
/// let checkpoints = StoreCheckpoints::new(store.clone()).with_owner("worker-1");
/// let mut state = RunState::new("support", "v1", UserIdentity::new("alice"), "hi".into());
/// state.version = 1;
/// checkpoints.save(&state).await.unwrap();
/// assert_eq!(store.get_run(state.run_id).await.unwrap().status, RunStatus::Running);
/// // A second writer that read version 1 too cannot also write version 2.
/// state.version = 2;
/// checkpoints.save(&state).await.unwrap();
/// assert!(checkpoints.save(&state).await.is_err());
/// # });
/// ```
#[derive(Clone)]
pub struct StoreCheckpoints {
    store: Arc<dyn RunStore>,
    owner: String,
    lease: Duration,
    approval_ttl: Duration,
    approvals: verify::ApprovalCheck,
}

impl StoreCheckpoints {
    /// Checkpoints in `store`, leased under a fresh owner id for this
    /// process.
    pub fn new(store: Arc<dyn RunStore>) -> Self {
        Self {
            store,
            owner: format!(
                "agentsec-{}-{}",
                std::process::id(),
                Uuid::new_v4().simple()
            ),
            lease: DEFAULT_LEASE,
            approval_ttl: DEFAULT_APPROVAL_TTL,
            approvals: verify::ApprovalCheck {
                key: None,
                policy: ApprovalPolicy::default(),
            },
        }
    }

    /// The key people's decisions are signed with (the one given to
    /// [`Approvals`](crate::hitl::Approvals)). Before any approved call
    /// runs — first time, after a resume, in whichever worker — its signed
    /// decision is loaded from the store and verified with this key against
    /// the call's tool, id, run and canonical arguments; a state that says
    /// "approved" without one stops the run. Without a key, approved calls
    /// do not run.
    pub fn with_approval_key(mut self, key: DecisionSigner) -> Self {
        self.approvals.key = Some(Arc::new(key));
        self
    }

    /// The approval policy the approver signed into a decision must satisfy
    /// when the call runs (default: [`ApprovalPolicy::default`]: the run's
    /// tenant). Give it the policy [`Approvals`](crate::hitl::Approvals) uses.
    pub fn with_approval_policy(mut self, policy: ApprovalPolicy) -> Self {
        self.approvals.policy = policy;
        self
    }

    /// The owner id leases are taken under (one per process or worker).
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// How long a lease lasts unless renewed (default: 60 s).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a request for approval stays open (default: 24 h).
    pub fn with_approval_ttl(mut self, ttl: Duration) -> Self {
        self.approval_ttl = ttl;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn RunStore> {
        &self.store
    }

    /// The owner id leases are taken under.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The lease duration.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// The store status a phase is kept under.
    pub fn status_of(phase: &Phase) -> RunStatus {
        match phase {
            Phase::Received | Phase::AwaitingModel | Phase::ToolCallsProposed => RunStatus::Running,
            Phase::AwaitingApproval => RunStatus::AwaitingApproval,
            Phase::NeedsReconciliation { .. } => RunStatus::NeedsReconciliation,
            Phase::Completed { .. } => RunStatus::Completed,
            Phase::Halted { .. } => RunStatus::Halted,
            Phase::Failed { .. } => RunStatus::Failed,
        }
    }

    /// Takes the run's lease if it is free, or renews it if this owner
    /// holds it.
    async fn hold_lease(&self, run_id: RunId) -> Result<(), CheckpointError> {
        match self
            .store
            .renew_lease(run_id, &self.owner, self.lease)
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::LeaseLost { .. }) => self
                .store
                .try_acquire_run(run_id, &self.owner, self.lease)
                .await
                .map(|_| ())
                .map_err(store_error),
            Err(other) => Err(store_error(other)),
        }
    }

    /// One approval row per call waiting for a person.
    async fn request_approvals(&self, state: &RunState) -> Result<(), CheckpointError> {
        for call in state.awaiting_approval() {
            let approval = NewApproval {
                id: approval_id(call.call_id),
                run_id: state.run_id,
                call_id: call.call_id,
                tool: call.tool.clone(),
                args_sha256: args_digest(&call.arguments),
                requested_by: state.user.id.clone(),
                expires_at: UnixMillis::now().saturating_add(self.approval_ttl),
            };
            match self.store.insert_approval(&approval).await {
                Ok(_) | Err(StoreError::Duplicate { .. }) => {}
                Err(other) => return Err(store_error(other)),
            }
        }
        Ok(())
    }

    /// Creates the run (see [`Checkpoints::create`](super::Checkpoints::create)):
    /// one insert with its request key and, when `drive`, this owner's lease.
    async fn create_run(
        &self,
        state: &RunState,
        request_key: Option<&str>,
        drive: bool,
    ) -> Result<RunState, CheckpointError> {
        let value = serde_json::to_value(state)
            .map_err(|e| CheckpointError::Backend(format!("cannot encode run state: {e}")))?;
        let mut run = NewRun::new(&state.agent, &state.user.id, value);
        run.id = state.run_id;
        run.tenant.clone_from(&state.user.tenant);
        run.status = Self::status_of(&state.phase);
        run.request_key = request_key.map(str::to_owned);
        run.lease = drive.then(|| {
            (
                self.owner.clone(),
                UnixMillis::now().saturating_add(self.lease),
            )
        });
        let record = self.store.create_run(&run).await.map_err(|e| match e {
            StoreError::Duplicate { .. } => CheckpointError::Conflict {
                run_id: state.run_id,
                stored: 1,
                attempted: state.version,
            },
            other => store_error(other),
        })?;
        if record.id == state.run_id {
            return Ok(state.clone());
        }
        // The request created its run before: that run is the answer.
        decode_state(record)
    }

    async fn save_state(&self, state: &RunState) -> Result<(), CheckpointError> {
        let value = serde_json::to_value(state)
            .map_err(|e| CheckpointError::Backend(format!("cannot encode run state: {e}")))?;
        let status = Self::status_of(&state.phase);
        if state.version <= 1 {
            self.create_run(state, None, true).await?;
        } else {
            self.hold_lease(state.run_id).await?;
            // Approval rows first: a crash after them leaves rows the next
            // save finds again, never a paused run with none.
            self.request_approvals(state).await?;
            let previous = i64::try_from(state.version - 1)
                .map_err(|_| CheckpointError::Backend("run version out of range".into()))?;
            let record = RunRecord {
                id: state.run_id,
                agent: state.agent.clone(),
                user_id: state.user.id.clone(),
                tenant: state.user.tenant.clone(),
                status,
                state: value,
                version: previous,
                created_at: UnixMillis(0),
                updated_at: UnixMillis(0),
                lease_owner: None,
                lease_until: None,
            };
            // Rows written for a state that then loses the race are orphans:
            // no stored state has their call, so approving them does
            // nothing, and `Approvals::pending` leaves them out. (Withdrawing
            // them here could withdraw the winner's: both may share a call.)
            if let Err(error) = self.store.update_run(&record).await {
                // This writer's state is stale: it stops driving the run, so
                // it must not keep the lease from the writer that is ahead.
                let _ = self.store.release_lease(state.run_id, &self.owner).await;
                return Err(match error {
                    StoreError::Conflict { actual, .. } => CheckpointError::Conflict {
                        run_id: state.run_id,
                        stored: u64::try_from(actual).unwrap_or(0),
                        attempted: state.version,
                    },
                    other => store_error(other),
                });
            }
        }
        let step = step_record(state);
        self.store
            .append_step(state.run_id, state.phase.name(), &step)
            .await
            .map_err(store_error)?;
        if status != RunStatus::Running {
            // Paused or over: the next driver (a resume, a worker) takes it.
            match self.store.release_lease(state.run_id, &self.owner).await {
                Ok(()) | Err(StoreError::LeaseLost { .. }) => {}
                Err(other) => return Err(store_error(other)),
            }
        }
        Ok(())
    }

    async fn load_state(&self, run_id: RunId) -> Result<Option<RunState>, CheckpointError> {
        match self.store.get_run(run_id).await {
            Ok(record) => decode_state(record).map(Some),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(other) => Err(store_error(other)),
        }
    }
}

/// The engine's state in a run row, checked against the row's identity.
fn decode_state(record: RunRecord) -> Result<RunState, CheckpointError> {
    let run_id = record.id;
    let mut state: RunState =
        serde_json::from_value(record.state).map_err(|e| CheckpointError::Corrupt {
            run_id,
            message: format!("the state does not decode: {e}"),
        })?;
    // The row's identity columns are written once, at creation: a state
    // claiming another run, agent or user was altered.
    if state.run_id != record.id || state.agent != record.agent || state.user.id != record.user_id {
        return Err(CheckpointError::Corrupt {
            run_id,
            message: "the stored state does not match the run's identity".into(),
        });
    }
    // The store's version is the one compare-and-swap checks.
    state.version = u64::try_from(record.version)
        .map_err(|_| CheckpointError::Backend(format!("run {run_id}: bad version")))?;
    Ok(state)
}

/// The id of the approval row of a call: the call id's UUID, so writing it
/// twice (a retried save) finds the first.
pub(crate) fn approval_id(call_id: CallId) -> Uuid {
    call_id.as_uuid()
}

fn step_record(state: &RunState) -> serde_json::Value {
    let calls: Vec<serde_json::Value> = state
        .pending
        .iter()
        .map(|c| {
            let approver = match &c.status {
                CallStatus::Approved { proof } => Some(proof.approver.as_str()),
                CallStatus::Rejected { approver, .. } => Some(approver.as_str()),
                _ => c.approval.as_ref().map(|a| a.approver.as_str()),
            };
            json!({
                "call_id": c.call_id,
                "model_call_id": c.model_call_id,
                "step": c.step,
                "tool": c.tool,
                "arguments": c.arguments,
                "status": status_name(&c.status),
                "decision": c.decision,
                "approver": approver,
                "approval": c.approval,
                "outcome": c.outcome,
                "grant_jti": c.grant_jti,
            })
        })
        .collect();
    json!({
        "version": state.version,
        "phase": state.phase,
        "step": state.step,
        "iterations": state.iterations,
        "spend": state.spend,
        "calls": calls,
    })
}

fn status_name(status: &CallStatus) -> &'static str {
    match status {
        CallStatus::Proposed => "proposed",
        CallStatus::AwaitingApproval { .. } => "awaiting_approval",
        CallStatus::Approved { .. } => "approved",
        CallStatus::Rejected { .. } => "rejected",
        CallStatus::Expired => "expired",
        CallStatus::Denied { .. } => "denied",
        CallStatus::Executed => "executed",
        CallStatus::Failed { .. } => "failed",
    }
}

/// A store error as the engine sees it.
pub(crate) fn store_error(error: StoreError) -> CheckpointError {
    match error {
        StoreError::Conflict {
            run_id,
            expected,
            actual,
        } => CheckpointError::Conflict {
            run_id,
            stored: u64::try_from(actual).unwrap_or(0),
            attempted: u64::try_from(expected.saturating_add(1)).unwrap_or(0),
        },
        StoreError::Busy { run_id } | StoreError::LeaseLost { run_id, .. } => {
            CheckpointError::LeaseLost { run_id }
        }
        StoreError::Corrupt {
            table: "runs",
            ref key,
            ..
        } => match key.parse::<Uuid>() {
            Ok(id) => CheckpointError::Corrupt {
                run_id: RunId::from(id),
                message: error.to_string(),
            },
            Err(_) => CheckpointError::Backend(error.to_string()),
        },
        other => CheckpointError::Backend(other.to_string()),
    }
}
