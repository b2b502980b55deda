//! Concurrency over the durable stores: racing approvers (one wins),
//! racing resumes from several "processes" (one drives), drivers racing
//! past the leases (the intent still lets the action run once), and
//! several workers sharing runs, a dead worker's runs taken over when its
//! lease runs out. Against SQLite and, with `DATABASE_URL`, PostgreSQL.

mod durable_support;

use std::sync::Arc;
use std::time::Duration;

use agentsec::engine::{
    AgentRuntime, CallStatus, Phase, RunOutcome, RunState, StoreCheckpoints, Worker,
};
use agentsec::hitl::{Approvals, DecisionSigner, HitlError};
use agentsec::prelude::*;
use agentsec::store::{RunStatus, RunStore};
use agentsec::tool_api::ApprovalProof;
use durable_support::*;
use serde_json::json;

const TASKS: usize = 6;

fn approvals(checkpoints: &StoreCheckpoints) -> Approvals {
    Approvals::new(
        checkpoints,
        DecisionSigner::new(SIGNING_KEY.to_vec()).unwrap(),
    )
}

/// A "process": its own checkpoints (own lease owner), runtime and approvals.
struct Process {
    runtime: AgentRuntime<PaymentsAgent>,
    approvals: Approvals,
}

async fn process(store: &Arc<dyn RunStore>, name: &str, effects: &std::path::Path) -> Process {
    let checkpoints = StoreCheckpoints::new(store.clone())
        .with_owner(name)
        .with_approval_key(DecisionSigner::new(SIGNING_KEY.to_vec()).unwrap());
    Process {
        runtime: runtime(&checkpoints, effects, PlanModel::payment_and_transfer()).await,
        approvals: approvals(&checkpoints),
    }
}

async fn paused_run(p: &Process) -> (RunId, Vec<agentsec::engine::PendingCall>) {
    let report = p.runtime.start(alice(), "Pay").await.unwrap();
    match report.outcome {
        RunOutcome::AwaitingApproval { pending } => (report.run_id, pending),
        other => panic!("{other:?}"),
    }
}

async fn racing_approvers_one_wins(backend: Backend) {
    let store = backend.open().await;
    let effects = backend.effects();
    let first = process(&store, "p0", &effects).await;
    let (_, pending) = paused_run(&first).await;
    let approval = pending[0].call_id.as_uuid();
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let p = Arc::new(process(&store, &format!("p{i}"), &effects).await);
        tasks.push(tokio::spawn(async move {
            let approver = UserIdentity::new(format!("approver-{i}")).with_tenant("acme");
            p.approvals.approve(approval, &approver).await
        }));
    }
    let mut won = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(record) => won.push(record),
            Err(HitlError::AlreadyDecided { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one approver wins");
    let stored = store.get_approval(approval).await.unwrap();
    assert_eq!(stored.decided_by, won[0].decided_by);
    backend.cleanup().await;
}

async fn racing_resumes_one_drives(backend: Backend) {
    let store = backend.open().await;
    let effects = backend.effects();
    let first = process(&store, "p0", &effects).await;
    let (run_id, pending) = paused_run(&first).await;
    for call in &pending {
        first
            .approvals
            .approve(call.call_id.as_uuid(), &bob())
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let p = Arc::new(process(&store, &format!("p{i}"), &effects).await);
        tasks.push(tokio::spawn(async move {
            p.approvals.resume(&p.runtime, run_id).await
        }));
    }
    let (mut completed, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(report) => {
                assert_eq!(
                    report.outcome,
                    RunOutcome::Completed {
                        answer: "done".into()
                    }
                );
                completed += 1;
            }
            // Still being driven, or already done: typed, and nothing done.
            Err(HitlError::Busy { .. } | HitlError::Finished { .. }) => refused += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!((completed, refused), (1, TASKS - 1));
    assert_eq!(SideEffects::of(&effects, "send_payment").len(), 1);
    assert_eq!(SideEffects::of(&effects, "book_transfer").len(), 1);
    assert_eq!(
        store.get_run(run_id).await.unwrap().status,
        RunStatus::Completed
    );
    backend.cleanup().await;
}

async fn drivers_racing_past_the_leases_still_pay_once(backend: Backend) {
    let store = backend.open().await;
    let effects = backend.effects();
    let first = process(&store, "p0", &effects).await;
    let (run_id, pending) = paused_run(&first).await;
    for call in &pending {
        first
            .approvals
            .approve(call.call_id.as_uuid(), &bob())
            .await
            .unwrap();
    }
    // The approved calls are stored ready to run (as if a resume saved them
    // and died), and every driver skips single flight: only the intents
    // stand between them and paying twice.
    let mut record = store.get_run(run_id).await.unwrap();
    let mut state: RunState = serde_json::from_value(record.state.clone()).unwrap();
    for call in &mut state.pending {
        let proof = ApprovalProof::new(&call.tool, call.call_id, &call.arguments, "bob");
        call.status = CallStatus::Approved { proof };
    }
    state.phase = Phase::ToolCallsProposed;
    record.state = serde_json::to_value(&state).unwrap();
    record.status = RunStatus::Running;
    store.update_run(&record).await.unwrap();

    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let p = Arc::new(process(&store, &format!("p{i}"), &effects).await);
        tasks.push(tokio::spawn(
            async move { p.runtime.continue_run(run_id).await },
        ));
    }
    for task in tasks {
        // Losers stop on a conflict or a lost lease; that is the point.
        let _ = task.await.unwrap();
    }
    // Settle: whoever lost may have left the run waiting on a call another
    // driver finished; continuing finds the recorded result.
    let settle = process(&store, "settle", &effects).await;
    for _ in 0..10 {
        let state = settle.runtime.state(run_id).await.unwrap();
        if state.phase.is_finished() {
            break;
        }
        let _ = settle.runtime.continue_run(run_id).await;
    }
    let state = settle.runtime.state(run_id).await.unwrap();
    assert_eq!(
        state.phase,
        Phase::Completed {
            answer: "done".into()
        }
    );
    assert_eq!(
        SideEffects::of(&effects, "send_payment").len(),
        1,
        "paid exactly once"
    );
    let keys: std::collections::BTreeSet<_> = SideEffects::of(&effects, "book_transfer")
        .iter()
        .map(|e| e["key"].to_string())
        .collect();
    assert_eq!(keys.len(), 1, "the transfer was booked under one key");
    backend.cleanup().await;
}

async fn workers_share_runs_and_take_over_a_dead_workers(backend: Backend) {
    let store = backend.open().await;
    let effects = backend.effects();
    let lookup = || PlanModel::new([("lookup_balance", json!({"account": "checking"}))]);
    let submitter = StoreCheckpoints::new(store.clone()).with_owner("api");
    let api = runtime(&submitter, &effects, lookup()).await;
    let mut runs = Vec::new();
    for _ in 0..6 {
        runs.push(api.submit(alice(), "Balance?").await.unwrap().run_id);
    }
    // A worker that claims one run and dies: it never renews its lease.
    let dead = store
        .claim_runnable("dead-worker", Duration::from_millis(300), 1)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for i in 0..3 {
        let checkpoints = StoreCheckpoints::new(store.clone())
            .with_owner(format!("worker-{i}"))
            .with_lease(Duration::from_secs(5));
        let runtime = Arc::new(runtime(&checkpoints, &effects, lookup()).await);
        let worker = Worker::new(&checkpoints)
            .agent(runtime)
            .batch(2)
            .poll_interval(Duration::from_millis(20));
        let mut stopped = stopped.clone();
        workers.push(tokio::spawn(async move {
            worker
                .run_until(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        }));
    }
    let mut finished = false;
    for _ in 0..500 {
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
    assert!(finished, "every run completed, the dead worker's too");
    // Leases kept workers off each other's runs: each ran its tool once.
    let lookups = SideEffects::of(&effects, "lookup_balance");
    for run in &runs {
        let n = lookups
            .iter()
            .filter(|e| e["run"] == run.to_string())
            .count();
        assert_eq!(n, 1, "run {run}");
    }
    backend.cleanup().await;
}

on_sqlite_and_postgres!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    racing_approvers_one_wins,
    racing_resumes_one_drives,
    drivers_racing_past_the_leases_still_pay_once,
    workers_share_runs_and_take_over_a_dead_workers,
);
