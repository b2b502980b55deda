//! Decisions and states altered behind the service's back: forged,
//! unsigned, replayed onto another call, signed with another key, left
//! standing after the call's arguments changed; a state altered to act for
//! another user. None of them moves a run. SQLite and, with
//! `DATABASE_URL`, PostgreSQL.

mod durable_support;

use agentsec::engine::{EngineError, PendingCall, RunState};
use agentsec::hitl::ApprovalDecision;
use agentsec::hitl::{Approvals, DecisionSigner, HitlError};
use agentsec::prelude::*;
use agentsec::store::RunStatus;
use durable_support::fixture::*;
use durable_support::*;
use serde_json::json;

/// Decides an approval behind the service's back, as someone with write
/// access to the database could.
async fn forge(f: &Fixture, call: &PendingCall, signature: Option<String>, by: &str) {
    let decision = ApprovalDecision {
        signature,
        ..ApprovalDecision::approve(call.call_id, UserIdentity::new(by))
    };
    f.store
        .decide_approval(call.call_id.as_uuid(), &decision)
        .await
        .unwrap();
}

async fn assert_refused_untouched(f: &Fixture, approvals: &Approvals, run_id: RunId) {
    let version = f.store.get_run(run_id).await.unwrap().version;
    assert!(matches!(
        approvals.resume(&f.runtime, run_id).await,
        Err(HitlError::BadSignature { .. })
    ));
    assert_eq!(
        f.store.get_run(run_id).await.unwrap().version,
        version,
        "nothing applied"
    );
    assert_eq!(f.status(run_id).await, RunStatus::AwaitingApproval);
    assert!(f.payments().is_empty() && f.transfers().is_empty());
}

async fn forged_replayed_rekeyed_and_altered_decisions_are_refused(backend: Backend) {
    let f = Fixture::new(backend).await;

    // A decision written without the key, or without any signature.
    let (run, pending) = f.paused_run().await;
    forge(
        &f,
        &pending[0],
        Some(format!("hmac-sha256:v1:{}", "00".repeat(32))),
        "mallory",
    )
    .await;
    assert_refused_untouched(&f, &f.approvals, run).await;
    let (run, pending) = f.paused_run().await;
    forge(&f, &pending[0], None, "bob").await;
    assert_refused_untouched(&f, &f.approvals, run).await;

    // A genuine signature replayed onto another call.
    let (run, pending) = f.paused_run().await;
    let genuine = f
        .approvals
        .approve(pending[0].call_id.as_uuid(), &bob())
        .await
        .unwrap();
    forge(&f, &pending[1], genuine.signature, "bob").await;
    assert_refused_untouched(&f, &f.approvals, run).await;

    // Decisions signed with another key.
    let (run, pending) = f.paused_run().await;
    let other = Approvals::new(&f.checkpoints, DecisionSigner::new(vec![9; 32]).unwrap());
    for call in &pending {
        other.approve(call.call_id.as_uuid(), &bob()).await.unwrap();
    }
    assert_refused_untouched(&f, &f.approvals, run).await;

    // Genuine approvals, then the stored call's arguments altered.
    let (run, pending) = f.paused_run().await;
    approve_all(&f, &pending).await;
    let mut record = f.store.get_run(run).await.unwrap();
    let mut state: RunState = serde_json::from_value(record.state.clone()).unwrap();
    state.pending[0].arguments = json!({"payee": "mallory", "amount_cents": 999_999}).to_string();
    record.state = serde_json::to_value(&state).unwrap();
    f.store.update_run(&record).await.unwrap();
    assert_refused_untouched(&f, &f.approvals, run).await;
    f.done().await;
}

async fn a_state_altered_to_act_for_another_user_is_refused(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, _) = f.paused_run().await;
    let mut record = f.store.get_run(run_id).await.unwrap();
    let mut state: RunState = serde_json::from_value(record.state.clone()).unwrap();
    state.user = UserIdentity::new("mallory").with_tenant("acme");
    record.state = serde_json::to_value(&state).unwrap();
    f.store.update_run(&record).await.unwrap();
    assert!(matches!(
        f.runtime.state(run_id).await,
        Err(EngineError::Checkpoint(_))
    ));
    f.done().await;
}

on_sqlite_and_postgres!(
    forged_replayed_rekeyed_and_altered_decisions_are_refused,
    a_state_altered_to_act_for_another_user_is_refused,
);
