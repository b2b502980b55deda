mod approvals;
mod ledger;
mod runs;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use uuid::Uuid;

use super::audit::{ChainVerifier, GENESIS_HASH, chain_next};
use super::{
    AgentKeyRecord, ApprovalRecord, ApprovalStatus, AuditEntry, AuditVerification, IntentRecord,
    NewApproval, NewAuditEntry, NewIntent, NewRun, PurgeReport, RunFilter, RunRecord, RunStatus,
    RunStore, StepRecord, StoreError, StoreFuture, UnixMillis,
};
use crate::hitl::ApprovalDecision;
use crate::identity::{CallId, RunId};
use crate::model::Usage;

/// A store held in memory: for tests, examples and the scripted demo.
///
/// Same behaviour as the database stores (the conformance tests run against
/// all of them), nothing survives the process.
///
/// ```
/// use agentsec_runtime::store::{MemoryStore, NewAuditEntry, RunStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let entry = NewAuditEntry { kind: "key_issued".into(), actor: "admin".into(), run_id: None, data: serde_json::json!({}) };
/// store.append_audit(&entry).await.unwrap();
/// assert!(store.verify_audit().await.unwrap().is_intact());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    runs: HashMap<RunId, RunRecord>,
    steps: HashMap<RunId, Vec<StepRecord>>,
    approvals: HashMap<Uuid, ApprovalRecord>,
    intents: BTreeMap<(RunId, CallId), IntentRecord>,
    idempotency_keys: HashSet<String>,
    request_keys: HashMap<String, RunId>,
    run_usage: HashMap<RunId, Usage>,
    agent_usage: HashMap<String, Usage>,
    keys: BTreeMap<String, AgentKeyRecord>,
    audit: Vec<AuditEntry>,
    /// Each run's lease epoch (see [`Fence`](crate::store::Fence)).
    lease_epochs: HashMap<RunId, i64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied write:
        // every method validates before it mutates.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> StoreFuture<'_, T> {
        let result = f(&mut self.lock());
        Box::pin(std::future::ready(result))
    }
}

fn lease_is_free(run: &RunRecord, now: UnixMillis) -> bool {
    run.lease_until.is_none_or(|until| until <= now)
}

impl Inner {
    fn run_mut(&mut self, id: RunId) -> Result<&mut RunRecord, StoreError> {
        self.runs
            .get_mut(&id)
            .ok_or_else(|| StoreError::not_found("run", id))
    }
}

impl RunStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn create_run<'a>(&'a self, run: &'a NewRun) -> StoreFuture<'a, RunRecord> {
        self.run(move |inner| inner.create_run(run))
    }

    fn get_run(&self, id: RunId) -> StoreFuture<'_, RunRecord> {
        self.run(move |inner| inner.get_run(id))
    }

    fn update_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, RunRecord> {
        self.run(move |inner| inner.update_run(run))
    }

    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> StoreFuture<'a, Vec<RunRecord>> {
        self.run(move |inner| inner.list_runs(filter))
    }

    fn append_step<'a>(
        &'a self,
        run_id: RunId,
        kind: &'a str,
        data: &'a serde_json::Value,
    ) -> StoreFuture<'a, StepRecord> {
        self.run(move |inner| inner.append_step(run_id, kind, data))
    }

    fn list_steps(&self, run_id: RunId) -> StoreFuture<'_, Vec<StepRecord>> {
        self.run(move |inner| inner.list_steps(run_id))
    }

    fn insert_approval<'a>(&'a self, approval: &'a NewApproval) -> StoreFuture<'a, ApprovalRecord> {
        self.run(move |inner| inner.insert_approval(approval))
    }

    fn get_approval(&self, id: Uuid) -> StoreFuture<'_, ApprovalRecord> {
        self.run(move |inner| inner.get_approval(id))
    }

    fn list_pending_approvals<'a>(
        &'a self,
        agent: Option<&'a str>,
        user_id: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<ApprovalRecord>> {
        self.run(move |inner| inner.list_pending_approvals(agent, user_id))
    }

    fn decide_approval<'a>(
        &'a self,
        id: Uuid,
        decision: &'a ApprovalDecision,
    ) -> StoreFuture<'a, ApprovalRecord> {
        self.run(move |inner| inner.decide_approval(id, decision))
    }

    fn record_intent<'a>(&'a self, intent: &'a NewIntent) -> StoreFuture<'a, IntentRecord> {
        self.run(move |inner| inner.record_intent(intent))
    }

    fn record_intent_result<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        result: &'a serde_json::Value,
    ) -> StoreFuture<'a, IntentRecord> {
        self.run(move |inner| inner.record_intent_result(run_id, call_id, result))
    }

    fn get_intent(&self, run_id: RunId, call_id: CallId) -> StoreFuture<'_, Option<IntentRecord>> {
        self.run(move |inner| inner.get_intent(run_id, call_id))
    }

    fn unfinished_intents(&self, run_id: RunId) -> StoreFuture<'_, Vec<IntentRecord>> {
        self.run(move |inner| inner.unfinished_intents(run_id))
    }

    fn add_usage<'a>(
        &'a self,
        run_id: RunId,
        agent: &'a str,
        delta: &'a Usage,
    ) -> StoreFuture<'a, ()> {
        self.run(move |inner| inner.add_usage(run_id, agent, delta))
    }

    fn run_usage(&self, run_id: RunId) -> StoreFuture<'_, Usage> {
        self.run(move |inner| inner.run_usage(run_id))
    }

    fn agent_usage<'a>(&'a self, agent: &'a str) -> StoreFuture<'a, Usage> {
        self.run(move |inner| inner.agent_usage(agent))
    }

    fn insert_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
        self.run(move |inner| inner.insert_agent_key(key))
    }

    fn get_agent_key<'a>(&'a self, key_id: &'a str) -> StoreFuture<'a, Option<AgentKeyRecord>> {
        self.run(move |inner| inner.get_agent_key(key_id))
    }

    fn list_agent_keys<'a>(
        &'a self,
        agent: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<AgentKeyRecord>> {
        self.run(move |inner| inner.list_agent_keys(agent))
    }

    fn update_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
        self.run(move |inner| inner.update_agent_key(key))
    }

    fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> StoreFuture<'a, AuditEntry> {
        self.run(move |inner| inner.append_audit(entry))
    }

    fn list_audit(&self, after_seq: i64, limit: u32) -> StoreFuture<'_, Vec<AuditEntry>> {
        self.run(move |inner| inner.list_audit(after_seq, limit))
    }

    fn verify_audit(&self) -> StoreFuture<'_, AuditVerification> {
        self.run(move |inner| inner.verify_audit())
    }

    fn purge_before(&self, cutoff: UnixMillis) -> StoreFuture<'_, PurgeReport> {
        self.run(move |inner| inner.purge_before(cutoff))
    }

    fn claim_runnable<'a>(
        &'a self,
        worker: &'a str,
        lease: Duration,
        limit: u32,
    ) -> StoreFuture<'a, Vec<RunRecord>> {
        self.run(move |inner| inner.claim_runnable(worker, lease, limit))
    }

    fn renew_lease<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord> {
        self.run(move |inner| inner.renew_lease(run_id, worker, lease))
    }

    fn release_lease<'a>(&'a self, run_id: RunId, worker: &'a str) -> StoreFuture<'a, ()> {
        self.run(move |inner| inner.release_lease(run_id, worker))
    }

    fn lease_fence<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
    ) -> StoreFuture<'a, crate::store::Fence> {
        self.run(move |inner| inner.lease_fence(run_id, worker))
    }

    fn check_fence<'a>(
        &'a self,
        run_id: RunId,
        fence: &'a crate::store::Fence,
    ) -> StoreFuture<'a, ()> {
        self.run(move |inner| inner.check_fence(run_id, fence))
    }

    fn record_intent_fenced<'a>(
        &'a self,
        intent: &'a NewIntent,
        fence: &'a crate::store::Fence,
    ) -> StoreFuture<'a, IntentRecord> {
        self.run(move |inner| {
            inner.check_fence(intent.run_id, fence)?;
            inner.record_intent(intent)
        })
    }

    fn record_intent_result_fenced<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        result: &'a serde_json::Value,
        fence: &'a crate::store::Fence,
    ) -> StoreFuture<'a, IntentRecord> {
        self.run(move |inner| {
            inner.check_fence(run_id, fence)?;
            inner.record_intent_result(run_id, call_id, result)
        })
    }

    fn try_acquire_run<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord> {
        self.run(move |inner| inner.try_acquire_run(run_id, worker, lease))
    }
}
