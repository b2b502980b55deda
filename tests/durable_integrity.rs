//! Execution verifies the signed decision, not the run's state: a state
//! edited to say a call was approved — with nothing approved, with altered
//! arguments after genuine approvals, with a forged or replayed decision row
//! — runs nothing, whether a worker claims the run or a person resumes it.
//! SQLite and, with `DATABASE_URL`, PostgreSQL.

mod durable_support;

use std::sync::Arc;

use agentsec::engine::{
    AgentRuntime, CallStatus, EngineError, PendingCall, Phase, RunState, Worker,
};
use agentsec::hitl::{ApprovalDecision, HitlError};
use agentsec::prelude::*;
use agentsec::store::RunStatus;
use agentsec::tool_api::{ApprovalProof, canonical_json};
use agentsec::trace::{CollectingSink, EventBus, SecurityEvent};
use durable_support::fixture::*;
use durable_support::*;
use serde_json::json;

/// Mallory's payment, as canonical arguments.
fn mallory() -> String {
    canonical_json(&json!({"payee": "mallory", "amount_cents": 999_999}))
}

/// Edits the stored state as someone with write access to `runs` could:
/// `edit` changes the calls, the run is set to continue (`running`) and every
/// approved call gets a freshly computed (unsigned) proof of its arguments.
async fn tamper(f: &Fixture, run_id: RunId, edit: impl FnOnce(&mut Vec<PendingCall>)) {
    let mut record = f.store.get_run(run_id).await.unwrap();
    let mut state: RunState = serde_json::from_value(record.state.clone()).unwrap();
    edit(&mut state.pending);
    for call in &mut state.pending {
        if matches!(call.status, CallStatus::Approved { .. }) {
            let proof = ApprovalProof::new(&call.tool, call.call_id, &call.arguments, "bob");
            call.status = CallStatus::Approved { proof };
        }
    }
    state.phase = Phase::ToolCallsProposed;
    record.state = serde_json::to_value(&state).unwrap();
    record.status = RunStatus::Running;
    f.store.update_run(&record).await.unwrap();
}

fn approved() -> CallStatus {
    CallStatus::Approved {
        proof: ApprovalProof::new("", CallId::new(), "{}", ""),
    }
}

/// A worker claims the run; nothing may be paid, and the run is stopped
/// with an integrity error instead of being retried.
async fn worker_refuses(f: &Fixture, run_id: RunId) {
    let events = CollectingSink::default();
    let runtime = AgentRuntime::<PaymentsAgent>::builder()
        .model(PlanModel::payment_and_transfer())
        .state(SideEffects::new(&f.effects))
        .checkpoints(f.checkpoints.clone())
        .events(EventBus::default().with(events.clone()))
        .build()
        .await
        .unwrap();
    let worker = Worker::new(&f.checkpoints).agent(Arc::new(runtime));
    let reports = worker.run_once().await.unwrap();
    assert!(f.payments().is_empty(), "paid: {:?}", f.payments());
    assert!(f.transfers().is_empty(), "booked: {:?}", f.transfers());
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        matches!(
            reports[0].outcome,
            Err(EngineError::ApprovalIntegrity { .. })
        ),
        "{:?}",
        reports[0].outcome
    );
    assert_eq!(f.status(run_id).await, RunStatus::Failed);
    // A security event names the run and the call.
    let flagged: Vec<SecurityEvent> = events
        .events()
        .into_iter()
        .filter(|e| matches!(e, SecurityEvent::ApprovalIntegrity { run_id: r, .. } if *r == run_id))
        .collect();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    // Stopped: no worker picks it up again.
    assert!(worker.run_once().await.unwrap().is_empty());
    assert!(f.payments().is_empty());
}

/// (a) Nothing approved: the state marks the payment approved, to Mallory,
/// with a recomputed digest; a plain worker must not run it.
async fn a_state_marked_approved_without_a_decision_runs_nothing(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, _) = f.paused_run().await;
    tamper(&f, run_id, |calls| {
        calls[0].arguments = mallory();
        calls[0].status = approved();
    })
    .await;
    worker_refuses(&f, run_id).await;
    f.done().await;
}

/// (b) Both calls genuinely approved; then the payment's arguments are
/// changed and its digest recomputed. Resuming must not pay Mallory.
async fn altered_arguments_after_genuine_approvals_are_not_resumed(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    approve_all(&f, &pending).await;
    tamper(&f, run_id, |calls| {
        calls[0].arguments = mallory();
        for call in calls.iter_mut() {
            call.status = approved();
        }
    })
    .await;
    let result = f.approvals.resume(&f.runtime, run_id).await;
    assert!(
        matches!(
            result,
            Err(HitlError::Engine(EngineError::ApprovalIntegrity { .. }))
        ),
        "{result:?}"
    );
    assert!(f.payments().is_empty(), "paid: {:?}", f.payments());
    assert!(f.transfers().is_empty());
    assert_eq!(f.status(run_id).await, RunStatus::Failed);
    f.done().await;
}

/// A decision row written behind the service's back (unsigned, or signed
/// without the key), with the state marked approved to match: refused.
async fn a_forged_decision_row_with_a_matching_state_runs_nothing(backend: Backend) {
    let f = Fixture::new(backend).await;
    for signature in [None, Some(format!("hmac-sha256:v2:{}", "00".repeat(32)))] {
        let (run_id, pending) = f.paused_run().await;
        let decision = ApprovalDecision {
            signature,
            ..ApprovalDecision::approve(pending[0].call_id, bob())
        };
        f.store
            .decide_approval(pending[0].call_id.as_uuid(), &decision)
            .await
            .unwrap();
        tamper(&f, run_id, |calls| calls[0].status = approved()).await;
        worker_refuses(&f, run_id).await;
    }
    f.done().await;
}

/// A genuine signature of one call replayed onto the other call's row, and
/// the state marked approved: refused.
async fn a_replayed_signature_with_a_matching_state_runs_nothing(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    let genuine = f
        .approvals
        .approve(pending[1].call_id.as_uuid(), &bob())
        .await
        .unwrap();
    let replayed = ApprovalDecision {
        signature: genuine.signature,
        ..ApprovalDecision::approve(pending[0].call_id, bob())
    };
    f.store
        .decide_approval(pending[0].call_id.as_uuid(), &replayed)
        .await
        .unwrap();
    tamper(&f, run_id, |calls| {
        calls[0].status = approved();
    })
    .await;
    worker_refuses(&f, run_id).await;
    f.done().await;
}

/// Genuine approvals whose state is left alone still run, through a worker
/// too (the check does not refuse what was really approved).
async fn genuinely_approved_calls_still_run(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    approve_all(&f, &pending).await;
    let report = f.approvals.resume(&f.runtime, run_id).await.unwrap();
    assert_eq!(f.status(run_id).await, RunStatus::Completed, "{report:?}");
    assert_eq!(f.payments().len(), 1);
    assert_eq!(f.payments()[0]["args"]["payee"], "acme");
    assert_eq!(f.transfers().len(), 1);
    f.done().await;
}

on_sqlite_and_postgres!(
    a_state_marked_approved_without_a_decision_runs_nothing,
    altered_arguments_after_genuine_approvals_are_not_resumed,
    a_forged_decision_row_with_a_matching_state_runs_nothing,
    a_replayed_signature_with_a_matching_state_runs_nothing,
    genuinely_approved_calls_still_run,
);
