//! One corrupt row affects only its own run (issue 14, item 6): listing runs
//! and pending approvals skip it (with a warning naming the run), and
//! workers quarantine it (status `corrupt`, a `run_quarantined` security
//! event) instead of failing on it forever. Against SQLite and, with
//! `DATABASE_URL`, PostgreSQL.

mod durable_support;

use std::str::FromStr;

use agentsec::engine::{RunOutcome, StoreCheckpoints, Worker};
use agentsec::hitl::{Approvals, DecisionSigner};
use agentsec::identity::RunId;
use agentsec::store::{RunFilter, RunStatus};
use agentsec::trace::SecurityEvent;
use durable_support::*;
use serde_json::json;
use std::sync::Arc;

/// Runs raw SQL against the backend's database (the "hand edit").
async fn exec(backend: &Backend, sql: &str, run_id: RunId) -> Option<String> {
    let id = run_id.as_uuid();
    if let Some(path) = backend.spec.strip_prefix("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite:{path}"))
            .await
            .unwrap();
        let out: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(id.hyphenated().to_string())
            .fetch_optional(&pool)
            .await
            .unwrap();
        pool.close().await;
        return out;
    }
    let schema = backend.spec.strip_prefix("postgres:").unwrap();
    let url = std::env::var("DATABASE_URL").unwrap();
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema)]);
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let out: Option<String> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.replace("$1", "$1::uuid")))
            .bind(id.hyphenated().to_string())
            .fetch_optional(&pool)
            .await
            .unwrap();
    pool.close().await;
    out
}

/// A state that is JSON but no run state (what any store can hold).
async fn scramble_state(backend: &Backend, run_id: RunId) {
    let sql = if backend.spec.starts_with("sqlite:") {
        "UPDATE runs SET state = '{\"truncated\": true}' WHERE id = $1 RETURNING status"
    } else {
        "UPDATE runs SET state = '{\"truncated\": true}'::jsonb WHERE id = $1 RETURNING status"
    };
    exec(backend, sql, run_id).await;
}

async fn status(backend: &Backend, run_id: RunId) -> String {
    exec(backend, "SELECT status FROM runs WHERE id = $1", run_id)
        .await
        .unwrap()
}

fn approvals(checkpoints: &StoreCheckpoints) -> Approvals {
    Approvals::new(
        checkpoints,
        DecisionSigner::new(SIGNING_KEY.to_vec()).unwrap(),
    )
}

async fn a_corrupt_run_hides_no_other(backend: Backend) {
    let store = backend.open().await;
    let effects = backend.effects();
    let checkpoints = StoreCheckpoints::new(store.clone());
    let runtime = runtime(&checkpoints, &effects, PlanModel::payment_and_transfer()).await;
    let broken = runtime.start(alice(), "Pay").await.unwrap();
    let fine = runtime.start(alice(), "Pay").await.unwrap();
    assert!(matches!(fine.outcome, RunOutcome::AwaitingApproval { .. }));
    scramble_state(&backend, broken.run_id).await;
    if backend.spec.starts_with("sqlite:") {
        // And one whose state is not even JSON any more (truncated).
        let third = runtime.start(alice(), "Pay").await.unwrap();
        exec(
            &backend,
            "UPDATE runs SET state = substr(state, 1, 25) WHERE id = $1 RETURNING status",
            third.run_id,
        )
        .await;
        let listed = store.list_runs(&RunFilter::new()).await.unwrap();
        assert!(listed.iter().all(|r| r.id != third.run_id), "skipped");
    }
    let listed = store.list_runs(&RunFilter::new()).await.unwrap();
    assert!(listed.iter().any(|r| r.id == fine.run_id));
    let pending = approvals(&checkpoints).pending(None, None).await.unwrap();
    assert_eq!(pending.len(), 2, "the fine run's two calls, nothing else");
    assert!(pending.iter().all(|p| p.run_id == fine.run_id));
    backend.cleanup().await;
}

async fn workers_quarantine_a_corrupt_run(backend: Backend) {
    let store = backend.open().await;
    let effects = backend.effects();
    let lookup = || PlanModel::new([("lookup_balance", json!({"account": "checking"}))]);
    let api = StoreCheckpoints::new(store.clone()).with_owner("api");
    let submitter = runtime(&api, &effects, lookup()).await;
    let broken = submitter.submit(alice(), "Balance?").await.unwrap().run_id;
    let fine = submitter.submit(alice(), "Balance?").await.unwrap().run_id;
    scramble_state(&backend, broken).await;
    let mut truncated = None;
    if backend.spec.starts_with("sqlite:") {
        let run = submitter.submit(alice(), "Balance?").await.unwrap().run_id;
        exec(
            &backend,
            "UPDATE runs SET state = substr(state, 1, 25) WHERE id = $1 RETURNING status",
            run,
        )
        .await;
        truncated = Some(run);
    }

    let checkpoints = StoreCheckpoints::new(store.clone()).with_owner("worker-1");
    let runtime = Arc::new(runtime(&checkpoints, &effects, lookup()).await);
    let mut events = runtime.dispatcher().events().subscribe();
    let worker = Worker::new(&checkpoints).agent(runtime.clone()).batch(10);
    worker
        .run_once()
        .await
        .expect("a corrupt row does not fail the claim");
    assert_eq!(
        store.get_run(fine).await.unwrap().status,
        RunStatus::Completed,
        "the other run was driven"
    );
    assert_eq!(status(&backend, broken).await, "corrupt");
    if let Some(run) = truncated {
        assert_eq!(status(&backend, run).await, "corrupt");
    }
    let mut quarantined = Vec::new();
    while let Ok(envelope) = events.try_recv() {
        if let SecurityEvent::RunQuarantined { run_id, .. } = envelope.event {
            quarantined.push(run_id);
        }
    }
    assert_eq!(quarantined, vec![broken], "a security event names the run");
    // Nothing is left for any worker to fail on again.
    assert!(worker.run_once().await.unwrap().is_empty());
    backend.cleanup().await;
}

on_sqlite_and_postgres!(
    a_corrupt_run_hides_no_other,
    workers_quarantine_a_corrupt_run
);
