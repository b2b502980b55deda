use std::time::Duration;

use uuid::Uuid;

use super::{
    AgentKeyRecord, ApprovalRecord, AuditEntry, AuditVerification, Fence, IntentRecord,
    NewApproval, NewAuditEntry, NewIntent, NewRun, PurgeReport, RunFilter, RunRecord, StepRecord,
    StoreError, UnixMillis,
};
use crate::BoxFuture;
use crate::hitl::ApprovalDecision;
use crate::identity::{CallId, RunId};
use crate::model::Usage;

/// A boxed future returned by [`RunStore`] methods.
pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// Durable storage for runs, steps, approvals, intents, usage, agent keys
/// and the audit chain.
///
/// Object safe (`Arc<dyn RunStore>`); every method has committed its changes
/// when its future resolves. The engine's run state is opaque JSON: the store
/// never needs the engine's types.
///
/// ```
/// use agentsec_runtime::store::{MemoryStore, NewRun, RunStatus, RunStore, StoreError};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let run = store.create_run(&NewRun::new("support", "user-1", serde_json::json!({"step": 0}))).await?;
/// let mut next = run.clone();
/// next.status = RunStatus::AwaitingApproval;
/// let saved = store.update_run(&next).await?;
/// assert_eq!(saved.version, run.version + 1);
/// // Writing from the stale copy again is refused.
/// assert!(matches!(store.update_run(&next).await, Err(StoreError::Conflict { .. })));
/// # Ok::<(), StoreError>(())
/// # }).unwrap();
/// ```
pub trait RunStore: Send + Sync {
    /// A short name for the backend (`memory`, `sqlite`, `postgres`).
    fn kind(&self) -> &'static str;

    // --- runs -------------------------------------------------------------

    /// Creates a run at version 1, under `run.lease` when given (in the same
    /// write). An existing id is [`Duplicate`](StoreError::Duplicate). A
    /// `run.request_key` already used creates nothing and returns the run
    /// created with it (whose id is not `run.id`).
    fn create_run<'a>(&'a self, run: &'a NewRun) -> StoreFuture<'a, RunRecord>;

    /// The run, or [`NotFound`](StoreError::NotFound).
    fn get_run(&self, id: RunId) -> StoreFuture<'_, RunRecord>;

    /// Writes `run.status` and `run.state` if the stored version still equals
    /// `run.version` (compare-and-swap), and returns the record at the next
    /// version. A stale version is [`Conflict`](StoreError::Conflict).
    /// Identity fields and the lease are not changed by an update.
    fn update_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, RunRecord>;

    /// Runs matching `filter`, newest first.
    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> StoreFuture<'a, Vec<RunRecord>>;

    // --- steps ------------------------------------------------------------

    /// Appends a step; the store assigns the next `seq` of the run.
    fn append_step<'a>(
        &'a self,
        run_id: RunId,
        kind: &'a str,
        data: &'a serde_json::Value,
    ) -> StoreFuture<'a, StepRecord>;

    /// The run's steps in order.
    fn list_steps(&self, run_id: RunId) -> StoreFuture<'_, Vec<StepRecord>>;

    // --- approvals --------------------------------------------------------

    /// Records a pending approval.
    fn insert_approval<'a>(&'a self, approval: &'a NewApproval) -> StoreFuture<'a, ApprovalRecord>;

    /// The approval, or [`NotFound`](StoreError::NotFound).
    fn get_approval(&self, id: Uuid) -> StoreFuture<'_, ApprovalRecord>;

    /// Pending, unexpired approvals of runs of `agent` and/or acting for `user_id`.
    fn list_pending_approvals<'a>(
        &'a self,
        agent: Option<&'a str>,
        user_id: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<ApprovalRecord>>;

    /// Decides a pending approval in one conditional write: of several
    /// racing deciders exactly one wins, the others get
    /// [`NotPending`](StoreError::NotPending). A pending approval past its
    /// deadline is marked expired and refused the same way.
    fn decide_approval<'a>(
        &'a self,
        id: Uuid,
        decision: &'a ApprovalDecision,
    ) -> StoreFuture<'a, ApprovalRecord>;

    // --- intents (exactly-once irreversible calls) ----------------------

    /// Writes the intent to make a call, before the call runs. A second
    /// intent for the same (run, call) is
    /// [`DuplicateIntent`](StoreError::DuplicateIntent).
    fn record_intent<'a>(&'a self, intent: &'a NewIntent) -> StoreFuture<'a, IntentRecord>;

    /// Writes the call's result once; a second result is
    /// [`IntentFinished`](StoreError::IntentFinished).
    fn record_intent_result<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        result: &'a serde_json::Value,
    ) -> StoreFuture<'a, IntentRecord>;

    /// The intent for a call, if one was written.
    fn get_intent(&self, run_id: RunId, call_id: CallId) -> StoreFuture<'_, Option<IntentRecord>>;

    /// The run's intents that have no result: calls that may or may not have
    /// happened, to retry (idempotent tools) or reconcile.
    fn unfinished_intents(&self, run_id: RunId) -> StoreFuture<'_, Vec<IntentRecord>>;

    // --- usage ------------------------------------------------------------

    /// Adds `delta` to the run's and the agent's counters in one transaction.
    /// Negative deltas are [`Invalid`](StoreError::Invalid).
    fn add_usage<'a>(
        &'a self,
        run_id: RunId,
        agent: &'a str,
        delta: &'a Usage,
    ) -> StoreFuture<'a, ()>;

    /// The run's counters (zero when nothing was recorded).
    fn run_usage(&self, run_id: RunId) -> StoreFuture<'_, Usage>;

    /// The agent's counters over all its runs (zero when nothing was recorded).
    fn agent_usage<'a>(&'a self, agent: &'a str) -> StoreFuture<'a, Usage>;

    // --- agent keys -------------------------------------------------------

    /// Stores a new key; an existing key id is [`Duplicate`](StoreError::Duplicate).
    fn insert_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()>;

    /// The key with this id, if any.
    fn get_agent_key<'a>(&'a self, key_id: &'a str) -> StoreFuture<'a, Option<AgentKeyRecord>>;

    /// Keys of `agent` (all keys when `None`), by key id.
    fn list_agent_keys<'a>(
        &'a self,
        agent: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<AgentKeyRecord>>;

    /// Replaces the key's mutable fields (hash, expiry, revocation, overlap,
    /// successor, networks) if its stored version still equals
    /// `key.version` (the version it was read at); the stored copy then gets
    /// `version + 1`. Otherwise [`KeyConflict`](StoreError::KeyConflict):
    /// the compare-and-swap happens in the database, so two processes cannot
    /// both win. The agent, environment and creation time are fixed at
    /// insert and not changed.
    fn update_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()>;

    // --- audit ------------------------------------------------------------

    /// Appends to the audit chain. Appends are serialized (also across
    /// processes sharing the database) so the chain never forks.
    fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> StoreFuture<'a, AuditEntry>;

    /// Entries with `seq > after_seq`, in order, at most `limit`.
    fn list_audit(&self, after_seq: i64, limit: u32) -> StoreFuture<'_, Vec<AuditEntry>>;

    /// Walks the whole chain and reports the first altered, missing or
    /// reordered entry.
    fn verify_audit(&self) -> StoreFuture<'_, AuditVerification>;

    // --- retention --------------------------------------------------------

    /// Removes finished runs (completed, failed, halted) last updated before
    /// `cutoff`, with their steps, approvals, intents and usage. Never
    /// touches the audit log, nor runs still in progress.
    fn purge_before(&self, cutoff: UnixMillis) -> StoreFuture<'_, PurgeReport>;

    // --- leases (several workers) ----------------------------------------

    /// Claims up to `limit` runs in status `running` whose lease is free or
    /// expired, leasing them to `worker` for `lease`. No run is handed to two
    /// workers at once.
    fn claim_runnable<'a>(
        &'a self,
        worker: &'a str,
        lease: Duration,
        limit: u32,
    ) -> StoreFuture<'a, Vec<RunRecord>>;

    /// Extends `worker`'s lease on the run; [`LeaseLost`](StoreError::LeaseLost)
    /// when another worker took it over.
    fn renew_lease<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord>;

    /// Gives the lease up; [`LeaseLost`](StoreError::LeaseLost) when `worker`
    /// does not hold it.
    fn release_lease<'a>(&'a self, run_id: RunId, worker: &'a str) -> StoreFuture<'a, ()>;

    // --- fencing (a writer paused past its lease) ------------------------

    /// The fence of `worker`'s live lease on the run: its owner id and the
    /// run's lease epoch, which every taking of the lease (claim, takeover,
    /// acquire) raised. [`LeaseLost`](StoreError::LeaseLost) when `worker`
    /// holds no live lease.
    ///
    /// The default (a store without fencing) returns epoch 0 for anyone.
    fn lease_fence<'a>(&'a self, run_id: RunId, worker: &'a str) -> StoreFuture<'a, Fence> {
        let _ = run_id;
        Box::pin(std::future::ready(Ok(Fence::new(worker, 0))))
    }

    /// Checks that `fence` is still the run's lease: same owner, same epoch,
    /// not expired; [`LeaseLost`](StoreError::LeaseLost) otherwise.
    fn check_fence<'a>(&'a self, run_id: RunId, fence: &'a Fence) -> StoreFuture<'a, ()> {
        let _ = (run_id, fence);
        Box::pin(std::future::ready(Ok(())))
    }

    /// [`record_intent`](Self::record_intent) in one transaction with a
    /// [`check_fence`](Self::check_fence): a writer whose lease was taken
    /// over writes nothing ([`LeaseLost`](StoreError::LeaseLost)).
    fn record_intent_fenced<'a>(
        &'a self,
        intent: &'a NewIntent,
        fence: &'a Fence,
    ) -> StoreFuture<'a, IntentRecord> {
        let _ = fence;
        self.record_intent(intent)
    }

    /// [`record_intent_result`](Self::record_intent_result) in one
    /// transaction with a [`check_fence`](Self::check_fence).
    fn record_intent_result_fenced<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        result: &'a serde_json::Value,
        fence: &'a Fence,
    ) -> StoreFuture<'a, IntentRecord> {
        let _ = fence;
        self.record_intent_result(run_id, call_id, result)
    }

    /// Leases one run (any status) for single-flight resume. While a live
    /// lease exists — anyone's, `worker`'s own included — the run is
    /// [`Busy`](StoreError::Busy). Taking the lease raises the run's epoch
    /// (see [`Fence`]), as [`claim_runnable`](Self::claim_runnable) does.
    fn try_acquire_run<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord>;
}
