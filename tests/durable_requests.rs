//! Idempotent start and submit (issue 14, item 3): a run created is never
//! reported as an error because a worker claimed it first, a client's
//! request id creates one run however often it is retried, and a start
//! killed half-way leaves no second run next to its retry. Against SQLite
//! and, with `DATABASE_URL`, PostgreSQL.

mod durable_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agentsec::BoxFuture;
use agentsec::engine::{EngineError, RunOutcome, StoreCheckpoints, Worker};
use agentsec::hitl::ApprovalDecision;
use agentsec::identity::{CallId, RunId};
use agentsec::model::{ModelError, ModelProvider, ModelRequest, ModelResponse, Usage};
use agentsec::prelude::*;
use agentsec::store::*;
use durable_support::*;
use serde_json::json;
use uuid::Uuid;

fn lookup() -> PlanModel {
    PlanModel::new([("lookup_balance", json!({"account": "checking"}))])
}

/// A store where a worker claims every runnable run the moment one is
/// created (the race `submit` and `start` lost in the harness).
struct EagerClaim {
    inner: Arc<dyn RunStore>,
    claimed: AtomicU64,
}

impl RunStore for EagerClaim {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn create_run<'a>(&'a self, run: &'a NewRun) -> StoreFuture<'a, RunRecord> {
        Box::pin(async move {
            let created = self.inner.create_run(run).await?;
            // The worst moment for the creator: a worker claims whatever is
            // runnable right after the run exists.
            let claimed = self
                .inner
                .claim_runnable("eager-worker", Duration::from_secs(60), 100)
                .await?;
            self.claimed
                .fetch_add(claimed.len() as u64, Ordering::SeqCst);
            Ok(created)
        })
    }
    fn get_run(&self, id: RunId) -> StoreFuture<'_, RunRecord> {
        self.inner.get_run(id)
    }
    fn update_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, RunRecord> {
        self.inner.update_run(run)
    }
    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> StoreFuture<'a, Vec<RunRecord>> {
        self.inner.list_runs(filter)
    }
    fn append_step<'a>(
        &'a self,
        run_id: RunId,
        kind: &'a str,
        data: &'a serde_json::Value,
    ) -> StoreFuture<'a, StepRecord> {
        self.inner.append_step(run_id, kind, data)
    }
    fn list_steps(&self, run_id: RunId) -> StoreFuture<'_, Vec<StepRecord>> {
        self.inner.list_steps(run_id)
    }
    fn insert_approval<'a>(&'a self, approval: &'a NewApproval) -> StoreFuture<'a, ApprovalRecord> {
        self.inner.insert_approval(approval)
    }
    fn get_approval(&self, id: Uuid) -> StoreFuture<'_, ApprovalRecord> {
        self.inner.get_approval(id)
    }
    fn list_pending_approvals<'a>(
        &'a self,
        agent: Option<&'a str>,
        user_id: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<ApprovalRecord>> {
        self.inner.list_pending_approvals(agent, user_id)
    }
    fn decide_approval<'a>(
        &'a self,
        id: Uuid,
        decision: &'a ApprovalDecision,
    ) -> StoreFuture<'a, ApprovalRecord> {
        self.inner.decide_approval(id, decision)
    }
    fn record_intent<'a>(&'a self, intent: &'a NewIntent) -> StoreFuture<'a, IntentRecord> {
        self.inner.record_intent(intent)
    }
    fn record_intent_result<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        result: &'a serde_json::Value,
    ) -> StoreFuture<'a, IntentRecord> {
        self.inner.record_intent_result(run_id, call_id, result)
    }
    fn get_intent(&self, run_id: RunId, call_id: CallId) -> StoreFuture<'_, Option<IntentRecord>> {
        self.inner.get_intent(run_id, call_id)
    }
    fn unfinished_intents(&self, run_id: RunId) -> StoreFuture<'_, Vec<IntentRecord>> {
        self.inner.unfinished_intents(run_id)
    }
    fn add_usage<'a>(
        &'a self,
        run_id: RunId,
        agent: &'a str,
        delta: &'a Usage,
    ) -> StoreFuture<'a, ()> {
        self.inner.add_usage(run_id, agent, delta)
    }
    fn run_usage(&self, run_id: RunId) -> StoreFuture<'_, Usage> {
        self.inner.run_usage(run_id)
    }
    fn agent_usage<'a>(&'a self, agent: &'a str) -> StoreFuture<'a, Usage> {
        self.inner.agent_usage(agent)
    }
    fn insert_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
        self.inner.insert_agent_key(key)
    }
    fn get_agent_key<'a>(&'a self, key_id: &'a str) -> StoreFuture<'a, Option<AgentKeyRecord>> {
        self.inner.get_agent_key(key_id)
    }
    fn list_agent_keys<'a>(
        &'a self,
        agent: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<AgentKeyRecord>> {
        self.inner.list_agent_keys(agent)
    }
    fn update_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
        self.inner.update_agent_key(key)
    }
    fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> StoreFuture<'a, AuditEntry> {
        self.inner.append_audit(entry)
    }
    fn list_audit(&self, after_seq: i64, limit: u32) -> StoreFuture<'_, Vec<AuditEntry>> {
        self.inner.list_audit(after_seq, limit)
    }
    fn verify_audit(&self) -> StoreFuture<'_, AuditVerification> {
        self.inner.verify_audit()
    }
    fn purge_before(&self, cutoff: UnixMillis) -> StoreFuture<'_, PurgeReport> {
        self.inner.purge_before(cutoff)
    }
    fn claim_runnable<'a>(
        &'a self,
        worker: &'a str,
        lease: Duration,
        limit: u32,
    ) -> StoreFuture<'a, Vec<RunRecord>> {
        self.inner.claim_runnable(worker, lease, limit)
    }
    fn renew_lease<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord> {
        self.inner.renew_lease(run_id, worker, lease)
    }
    fn release_lease<'a>(&'a self, run_id: RunId, worker: &'a str) -> StoreFuture<'a, ()> {
        self.inner.release_lease(run_id, worker)
    }
    fn try_acquire_run<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord> {
        self.inner.try_acquire_run(run_id, worker, lease)
    }
}

async fn a_worker_claiming_at_creation_is_no_error(backend: Backend) {
    let inner = backend.open().await;
    let effects = backend.effects();
    let eager = Arc::new(EagerClaim {
        inner: inner.clone(),
        claimed: AtomicU64::new(0),
    });
    let store: Arc<dyn RunStore> = eager.clone();
    let api = StoreCheckpoints::new(store.clone()).with_owner("api");
    let runtime = runtime(&api, &effects, lookup()).await;
    // `submit`: the run exists and a worker has it; that is success.
    let submitted = runtime.submit(alice(), "Balance?").await.unwrap();
    assert_eq!(
        eager.claimed.load(Ordering::SeqCst),
        1,
        "the worker took it"
    );
    let stored = inner.get_run(submitted.run_id).await.unwrap();
    assert_eq!(stored.lease_owner.as_deref(), Some("eager-worker"));
    // `start`: the run is created under the caller's lease, so the worker
    // finds nothing to claim and the caller drives it to the end.
    let started = runtime.start(alice(), "Balance?").await.unwrap();
    assert_eq!(
        started.outcome,
        RunOutcome::Completed {
            answer: "done".into()
        }
    );
    assert_eq!(
        eager.claimed.load(Ordering::SeqCst),
        1,
        "nothing more was claimable"
    );
    let runs = inner.list_runs(&RunFilter::new()).await.unwrap();
    assert_eq!(runs.len(), 2, "one run per call, no duplicate");
    backend.cleanup().await;
}

async fn submits_racing_workers_all_succeed_once(backend: Backend) {
    let store = backend.open().await;
    let effects = backend.effects();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for i in 0..3 {
        let checkpoints = StoreCheckpoints::new(store.clone())
            .with_owner(format!("worker-{i}"))
            .with_lease(Duration::from_secs(5));
        let runtime = Arc::new(runtime(&checkpoints, &effects, lookup()).await);
        let worker = Worker::new(&checkpoints)
            .agent(runtime)
            .batch(4)
            .poll_interval(Duration::from_millis(1));
        let mut stopped = stopped.clone();
        workers.push(tokio::spawn(async move {
            worker
                .run_until(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        }));
    }
    // Four clients, each submitting ten runs with a request id and
    // retrying every submission once (a client that timed out).
    let mut clients = Vec::new();
    for c in 0..4 {
        let checkpoints = StoreCheckpoints::new(store.clone()).with_owner(format!("api-{c}"));
        let api = runtime(&checkpoints, &effects, lookup()).await;
        clients.push(tokio::spawn(async move {
            let mut runs = Vec::new();
            for r in 0..10 {
                let key = format!("client-{c}-request-{r}");
                let first = api
                    .submit_with_key(alice(), "Balance?", &key)
                    .await
                    .unwrap();
                let retry = api
                    .submit_with_key(alice(), "Balance?", &key)
                    .await
                    .unwrap();
                assert_eq!(first.run_id, retry.run_id, "{key}: the retry found the run");
                runs.push(first.run_id);
            }
            runs
        }));
    }
    let mut runs: Vec<RunId> = Vec::new();
    for client in clients {
        runs.extend(client.await.unwrap());
    }
    let mut finished = false;
    for _ in 0..1_000 {
        let mut done = 0;
        for run in &runs {
            if store.get_run(*run).await.unwrap().status == RunStatus::Completed {
                done += 1;
            }
        }
        if done == runs.len() {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    assert!(finished, "every submitted run completed");
    let all = store
        .list_runs(&RunFilter::new().limit(1_000))
        .await
        .unwrap();
    assert_eq!(all.len(), 40, "one run per request id");
    let lookups = SideEffects::of(&effects, "lookup_balance");
    assert_eq!(lookups.len(), 40, "each run looked the balance up once");
    backend.cleanup().await;
}

async fn a_request_id_makes_one_run(backend: Backend) {
    let store = backend.open().await;
    let effects = backend.effects();
    let checkpoints = StoreCheckpoints::new(store.clone()).with_owner("api");
    let runtime = runtime(&checkpoints, &effects, lookup()).await;
    let first = runtime
        .start_with_key(alice(), "Balance?", "req-1")
        .await
        .unwrap();
    let again = runtime
        .start_with_key(alice(), "Balance?", "req-1")
        .await
        .unwrap();
    assert_eq!(first.run_id, again.run_id);
    assert_eq!(first.outcome, again.outcome);
    assert_eq!(
        SideEffects::of(&effects, "lookup_balance").len(),
        1,
        "the retry did not run the agent again"
    );
    // The same id with another input is refused, not answered with the run.
    let reused = runtime
        .start_with_key(alice(), "Pay mallory", "req-1")
        .await;
    assert!(
        matches!(reused, Err(EngineError::RequestReused { run_id }) if run_id == first.run_id),
        "{reused:?}"
    );
    // Another user's (or tenant's) request id never finds alice's run.
    let other = UserIdentity::new("alice").with_tenant("globex");
    let theirs = runtime
        .submit_with_key(other, "Balance?", "req-1")
        .await
        .unwrap();
    assert_ne!(theirs.run_id, first.run_id);
    let bobs = runtime
        .submit_with_key(bob(), "Balance?", "req-1")
        .await
        .unwrap();
    assert_ne!(bobs.run_id, first.run_id);
    assert_ne!(bobs.run_id, theirs.run_id);
    // A submitted run is found by its request id too.
    let again = runtime
        .submit_with_key(bob(), "Balance?", "req-1")
        .await
        .unwrap();
    assert_eq!(again.run_id, bobs.run_id);
    assert_eq!(store.list_runs(&RunFilter::new()).await.unwrap().len(), 3);
    backend.cleanup().await;
}

/// A model that never answers: the process "dies" while waiting for it.
struct Hang;

impl ModelProvider for Hang {
    fn name(&self) -> &str {
        "hang"
    }

    fn complete<'a>(
        &'a self,
        _request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        Box::pin(std::future::pending())
    }
}

async fn a_start_killed_midway_leaves_no_orphan(backend: Backend) {
    let store = backend.open().await;
    let effects = backend.effects();
    // The first process creates the run under a short lease and is killed
    // while the model thinks (its task is dropped: no more writes).
    let dying = StoreCheckpoints::new(store.clone())
        .with_owner("dying")
        .with_lease(Duration::from_millis(300));
    let doomed = agentsec::engine::AgentRuntime::<PaymentsAgent>::builder()
        .model(Hang)
        .state(SideEffects::new(&effects))
        .checkpoints(dying)
        .build()
        .await
        .unwrap();
    let start = tokio::spawn(async move {
        let _ = doomed.start_with_key(alice(), "Balance?", "req-7").await;
    });
    for _ in 0..200 {
        if !store.list_runs(&RunFilter::new()).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.abort();
    let _ = start.await;
    let orphan = store.list_runs(&RunFilter::new()).await.unwrap();
    assert_eq!(orphan.len(), 1, "the killed start created its run");
    assert_eq!(
        orphan[0].lease_owner.as_deref(),
        Some("dying"),
        "created leased"
    );
    // The client retries with the same request id in another process: it
    // gets that run (taken over once the dead lease ran out), not a second.
    let retrying = StoreCheckpoints::new(store.clone()).with_owner("retry");
    let runtime = runtime(&retrying, &effects, lookup()).await;
    let report = tokio::time::timeout(
        Duration::from_secs(20),
        runtime.start_with_key(alice(), "Balance?", "req-7"),
    )
    .await
    .expect("the retry finishes")
    .unwrap();
    assert_eq!(report.run_id, orphan[0].id);
    assert_eq!(
        report.outcome,
        RunOutcome::Completed {
            answer: "done".into()
        }
    );
    let runs = store.list_runs(&RunFilter::new()).await.unwrap();
    assert_eq!(runs.len(), 1, "no orphan next to the retry");
    assert_eq!(runs[0].status, RunStatus::Completed);
    backend.cleanup().await;
}

on_sqlite_and_postgres!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    a_worker_claiming_at_creation_is_no_error,
    submits_racing_workers_all_succeed_once,
    a_request_id_makes_one_run,
    a_start_killed_midway_leaves_no_orphan,
);
