//! The child process of the crash tests (`tests/durable_crash.rs`).
//!
//! - `drive <store> <effects> <kill_at>`: starts a payments run, approves
//!   both calls as bob and resumes it, raising SIGKILL on itself at durable
//!   write boundary number `kill_at` (counting "before" and "after" every
//!   store write). Prints `boundaries <n>` when it got through alive.
//! - `recover <store> <effects>`: finishes whatever the dead process left,
//!   like an operator and a worker would, and prints the run as JSON.
//! - `start <store> <effects>`: starts a run and exits once it waits for
//!   approval, printing the run id.
//! - `approve <store> <effects> <run_id>`: approves the run's calls as bob,
//!   resumes it and prints the run as JSON.
//! - `stall <store> <effects>`: like `drive`, but instead of dying it stops
//!   itself with SIGSTOP right after the payment's intent is written
//!   (printing `stopped` first); once continued (SIGCONT) it goes on and
//!   prints `woke ok` or `woke err <error>`.
//!
//! `<store>` is `sqlite:<path>` or `postgres:<schema>` (`DATABASE_URL`).

#[path = "../durable_support/mod.rs"]
mod durable_support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agentsec::engine::{Phase, Resolution, RunState, StoreCheckpoints, Worker};
use agentsec::hitl::{ApprovalDecision, Approvals, DecisionSigner, HitlError};
use agentsec::identity::{CallId, RunId};
use agentsec::model::{Message, Usage};
use agentsec::store::*;
use durable_support::*;
use serde_json::json;
use uuid::Uuid;

const LEASE: Duration = Duration::from_millis(300);

/// A store that kills its own process at one write boundary.
struct KillSwitch {
    inner: Arc<dyn RunStore>,
    passed: AtomicU64,
    kill_at: u64,
    /// SIGSTOP after the first intent is written (the `stall` mode).
    stop_after_intent: std::sync::atomic::AtomicBool,
}

impl KillSwitch {
    /// Stops this process (SIGSTOP) the first time it is called in `stall`
    /// mode, as an operator's `kill -STOP` or a frozen VM would.
    fn stop_once(&self) {
        if self.stop_after_intent.swap(false, Ordering::SeqCst) {
            use std::io::Write;
            println!("stopped");
            let _ = std::io::stdout().flush();
            let pid = std::process::id().to_string();
            let _ = std::process::Command::new("kill")
                .args(["-STOP", &pid])
                .status();
        }
    }

    fn boundary(&self) {
        let n = self.passed.fetch_add(1, Ordering::SeqCst);
        if n == self.kill_at {
            // SIGKILL: no destructor, no flush, no unwinding; exactly a crash.
            let pid = std::process::id().to_string();
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid])
                .status();
            // `kill` returns once the signal is sent; wait to be reaped.
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

macro_rules! counted {
    ($self:ident, $call:expr) => {
        Box::pin(async move {
            $self.boundary();
            let out = $call.await;
            $self.boundary();
            out
        })
    };
}

impl RunStore for KillSwitch {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn create_run<'a>(&'a self, run: &'a NewRun) -> StoreFuture<'a, RunRecord> {
        counted!(self, self.inner.create_run(run))
    }
    fn get_run(&self, id: RunId) -> StoreFuture<'_, RunRecord> {
        self.inner.get_run(id)
    }
    fn update_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, RunRecord> {
        counted!(self, self.inner.update_run(run))
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
        counted!(self, self.inner.append_step(run_id, kind, data))
    }
    fn list_steps(&self, run_id: RunId) -> StoreFuture<'_, Vec<StepRecord>> {
        self.inner.list_steps(run_id)
    }
    fn insert_approval<'a>(&'a self, approval: &'a NewApproval) -> StoreFuture<'a, ApprovalRecord> {
        counted!(self, self.inner.insert_approval(approval))
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
        counted!(self, self.inner.decide_approval(id, decision))
    }
    fn record_intent<'a>(&'a self, intent: &'a NewIntent) -> StoreFuture<'a, IntentRecord> {
        Box::pin(async move {
            self.boundary();
            let out = self.inner.record_intent(intent).await;
            self.boundary();
            if out.is_ok() {
                self.stop_once();
            }
            out
        })
    }
    fn record_intent_fenced<'a>(
        &'a self,
        intent: &'a NewIntent,
        fence: &'a Fence,
    ) -> StoreFuture<'a, IntentRecord> {
        Box::pin(async move {
            self.boundary();
            let out = self.inner.record_intent_fenced(intent, fence).await;
            self.boundary();
            if out.is_ok() {
                self.stop_once();
            }
            out
        })
    }
    fn record_intent_result_fenced<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        result: &'a serde_json::Value,
        fence: &'a Fence,
    ) -> StoreFuture<'a, IntentRecord> {
        counted!(
            self,
            self.inner
                .record_intent_result_fenced(run_id, call_id, result, fence)
        )
    }
    // Reads: not boundaries.
    fn lease_fence<'a>(&'a self, run_id: RunId, worker: &'a str) -> StoreFuture<'a, Fence> {
        self.inner.lease_fence(run_id, worker)
    }
    fn check_fence<'a>(&'a self, run_id: RunId, fence: &'a Fence) -> StoreFuture<'a, ()> {
        self.inner.check_fence(run_id, fence)
    }
    fn record_intent_result<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        result: &'a serde_json::Value,
    ) -> StoreFuture<'a, IntentRecord> {
        counted!(
            self,
            self.inner.record_intent_result(run_id, call_id, result)
        )
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
        counted!(self, self.inner.add_usage(run_id, agent, delta))
    }
    fn run_usage(&self, run_id: RunId) -> StoreFuture<'_, Usage> {
        self.inner.run_usage(run_id)
    }
    fn agent_usage<'a>(&'a self, agent: &'a str) -> StoreFuture<'a, Usage> {
        self.inner.agent_usage(agent)
    }
    fn insert_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
        counted!(self, self.inner.insert_agent_key(key))
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
        counted!(self, self.inner.update_agent_key(key))
    }
    fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> StoreFuture<'a, AuditEntry> {
        counted!(self, self.inner.append_audit(entry))
    }
    fn list_audit(&self, after_seq: i64, limit: u32) -> StoreFuture<'_, Vec<AuditEntry>> {
        self.inner.list_audit(after_seq, limit)
    }
    fn verify_audit(&self) -> StoreFuture<'_, AuditVerification> {
        self.inner.verify_audit()
    }
    fn purge_before(&self, cutoff: UnixMillis) -> StoreFuture<'_, PurgeReport> {
        counted!(self, self.inner.purge_before(cutoff))
    }
    fn claim_runnable<'a>(
        &'a self,
        worker: &'a str,
        lease: Duration,
        limit: u32,
    ) -> StoreFuture<'a, Vec<RunRecord>> {
        counted!(self, self.inner.claim_runnable(worker, lease, limit))
    }
    // Renewals run on a timer in the background: not counted, so the
    // boundaries are the same in every run of the child.
    fn renew_lease<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord> {
        self.inner.renew_lease(run_id, worker, lease)
    }
    fn release_lease<'a>(&'a self, run_id: RunId, worker: &'a str) -> StoreFuture<'a, ()> {
        counted!(self, self.inner.release_lease(run_id, worker))
    }
    fn try_acquire_run<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord> {
        counted!(self, self.inner.try_acquire_run(run_id, worker, lease))
    }
}

fn approvals(checkpoints: &StoreCheckpoints) -> Approvals {
    Approvals::new(
        checkpoints,
        DecisionSigner::new(SIGNING_KEY.to_vec()).expect("key"),
    )
}

fn checkpoints(store: Arc<dyn RunStore>, owner: &str) -> StoreCheckpoints {
    StoreCheckpoints::new(store)
        .with_owner(format!("{owner}-{}", std::process::id()))
        .with_lease(LEASE)
        .with_approval_key(DecisionSigner::new(SIGNING_KEY.to_vec()).expect("key"))
}

/// Approves every pending call of `run_id` as bob and resumes the run.
async fn approve_and_resume(
    approvals: &Approvals,
    runtime: &agentsec::engine::AgentRuntime<PaymentsAgent>,
    run_id: RunId,
) -> Result<(), HitlError> {
    for pending in approvals.pending(Some("payments"), Some("alice")).await? {
        if pending.run_id == run_id {
            match approvals.approve(pending.id, &bob()).await {
                Ok(_) | Err(HitlError::AlreadyDecided { .. }) => {}
                Err(other) => return Err(other),
            }
        }
    }
    approvals.resume(runtime, run_id).await.map(|_| ())
}

fn summary(state: Option<&RunState>, status: &str) -> serde_json::Value {
    let Some(state) = state else {
        return json!({ "status": status });
    };
    let answer = match &state.phase {
        Phase::Completed { answer } => Some(answer.clone()),
        _ => None,
    };
    let results: Vec<_> = state
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::Tool {
                name,
                content,
                is_error,
                ..
            } => Some(json!({ "tool": name, "content": content, "is_error": is_error })),
            _ => None,
        })
        .collect();
    json!({
        "status": status,
        "run_id": state.run_id.to_string(),
        "answer": answer,
        "results": results,
        "tokens": state.spend.tokens(),
        "tool_calls": state.spend.tool_calls,
    })
}

async fn drive(store: Arc<dyn RunStore>, effects: &Path, kill_at: u64) {
    let switch = Arc::new(KillSwitch {
        inner: store,
        passed: AtomicU64::new(0),
        kill_at,
        stop_after_intent: false.into(),
    });
    let checkpoints = checkpoints(switch.clone(), "drive");
    let runtime = runtime(&checkpoints, effects, PlanModel::payment_and_transfer()).await;
    let report = runtime
        .start(alice(), "Pay acme and top up savings")
        .await
        .expect("start");
    let approvals = approvals(&checkpoints);
    approve_and_resume(&approvals, &runtime, report.run_id)
        .await
        .expect("approve and resume");
    println!("boundaries {}", switch.passed.load(Ordering::SeqCst));
}

async fn stall(store: Arc<dyn RunStore>, effects: &Path) {
    let switch = Arc::new(KillSwitch {
        inner: store,
        passed: AtomicU64::new(0),
        kill_at: u64::MAX,
        stop_after_intent: true.into(),
    });
    let checkpoints = checkpoints(switch.clone(), "stall");
    let runtime = runtime(&checkpoints, effects, PlanModel::payment_and_transfer()).await;
    let report = runtime
        .start(alice(), "Pay acme and top up savings")
        .await
        .expect("start");
    let approvals = approvals(&checkpoints);
    match approve_and_resume(&approvals, &runtime, report.run_id).await {
        Ok(()) => println!("woke ok"),
        Err(error) => println!("woke err {error}"),
    }
}

async fn recover(store: Arc<dyn RunStore>, effects: &Path) {
    let checkpoints = checkpoints(store.clone(), "recover");
    let runtime = Arc::new(runtime(&checkpoints, effects, PlanModel::payment_and_transfer()).await);
    let approvals = approvals(&checkpoints);
    let worker = Worker::new(&checkpoints).agent(runtime.clone());
    for _ in 0..400 {
        let runs = store.list_runs(&RunFilter::new()).await.expect("list runs");
        let Some(run) = runs.first() else {
            println!("{}", summary(None, "none"));
            return;
        };
        let busy = match run.status {
            RunStatus::Completed | RunStatus::Failed | RunStatus::Halted => {
                let state = runtime.state(run.id).await.expect("state");
                println!("{}", summary(Some(&state), run.status.as_str()));
                return;
            }
            RunStatus::Running => worker.run_once().await.expect("worker").is_empty(),
            RunStatus::AwaitingApproval => {
                matches!(
                    approve_and_resume(&approvals, &runtime, run.id).await,
                    Err(HitlError::Busy { .. })
                )
            }
            RunStatus::Corrupt => panic!("run {} was quarantined as corrupt", run.id),
            RunStatus::NeedsReconciliation => {
                let state = runtime.state(run.id).await.expect("state");
                let Phase::NeedsReconciliation {
                    call_id,
                    tool,
                    idempotency_key,
                } = state.phase
                else {
                    panic!("status and phase disagree");
                };
                // The operator asks the outside world whether the call with
                // this idempotency key happened.
                let happened = SideEffects::of(effects, &tool)
                    .iter()
                    .any(|e| e["key"] == idempotency_key);
                let resolution = if happened {
                    Resolution::Executed {
                        result: "confirmed in the bank's records".into(),
                    }
                } else {
                    Resolution::NotExecuted
                };
                matches!(
                    approvals
                        .reconcile(&*runtime, run.id, call_id, resolution, &bob())
                        .await,
                    Err(HitlError::Busy { .. })
                )
            }
        };
        if busy {
            // The dead process's lease has not run out yet.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("the run did not finish");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let store = open_store(arg(2)).await;
    let effects = Path::new(arg(3));
    match arg(1) {
        "drive" => drive(store, effects, arg(4).parse().expect("kill_at")).await,
        "recover" => recover(store, effects).await,
        "stall" => stall(store, effects).await,
        "start" => {
            let checkpoints = checkpoints(store, "start");
            let runtime = runtime(&checkpoints, effects, PlanModel::payment_and_transfer()).await;
            let report = runtime.start(alice(), "Pay acme").await.expect("start");
            println!("{}", report.run_id.as_uuid());
        }
        "approve" => {
            let checkpoints = checkpoints(store, "approve");
            let runtime = runtime(&checkpoints, effects, PlanModel::payment_and_transfer()).await;
            let run_id = RunId::from(arg(4).parse::<Uuid>().expect("run id"));
            approve_and_resume(&approvals(&checkpoints), &runtime, run_id)
                .await
                .expect("approve and resume");
            let state = runtime.state(run_id).await.expect("state");
            println!("{}", summary(Some(&state), "done"));
        }
        other => panic!("unknown mode `{other}`"),
    }
}
