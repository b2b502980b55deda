//! A call in doubt (the process died while it ran): the non-idempotent
//! tool waits for a person to reconcile, the idempotent one is retried with
//! its key, and a reconciled result reaches the model. SQLite and, with
//! `DATABASE_URL`, PostgreSQL.

mod durable_support;

use agentsec::engine::{
    CallIntent, Checkpoints, EngineError, PendingCall, Phase, Resolution, RunOutcome,
};
use agentsec::hitl::HitlError;
use agentsec::prelude::*;
use agentsec::store::RunStatus;
use durable_support::fixture::*;
use durable_support::*;

/// Writes the calls' intents as a worker would have just before dying
/// mid-call.
async fn die_mid_call(f: &Fixture, run_id: RunId, pending: &[PendingCall]) {
    for call in pending {
        f.checkpoints
            .begin_intent(&CallIntent {
                run_id,
                call_id: call.call_id,
                tool: call.tool.clone(),
                idempotency_key: call.call_id.to_string(),
                approved: true,
            })
            .await
            .unwrap();
    }
}

async fn a_call_in_doubt_waits_for_reconciliation(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    approve_all(&f, &pending).await;
    die_mid_call(&f, run_id, &pending).await;

    // The payment is not idempotent: it may have happened; the run stops.
    let report = f.approvals.resume(&f.runtime, run_id).await.unwrap();
    let payment = pending[0].call_id;
    assert_eq!(
        report.outcome,
        RunOutcome::NeedsReconciliation {
            call_id: payment,
            tool: "send_payment".into(),
            idempotency_key: payment.to_string(),
        }
    );
    assert_eq!(f.status(run_id).await, RunStatus::NeedsReconciliation);
    assert!(f.payments().is_empty(), "not run again");
    // Resuming again changes nothing until a person says what happened.
    let again = f.approvals.resume(&f.runtime, run_id).await.unwrap();
    assert!(matches!(
        again.state.phase,
        Phase::NeedsReconciliation { .. }
    ));
    assert!(matches!(
        f.approvals
            .reconcile(
                &f.runtime,
                run_id,
                pending[1].call_id,
                Resolution::NotExecuted,
                &bob()
            )
            .await,
        Err(HitlError::Engine(EngineError::NotReconciling { .. }))
    ));

    let done = f
        .approvals
        .reconcile(&f.runtime, run_id, payment, Resolution::NotExecuted, &bob())
        .await
        .unwrap();
    assert_eq!(
        done.outcome,
        RunOutcome::Completed {
            answer: "done".into()
        }
    );
    let (text, is_error) = tool_result(&done.state, "send_payment");
    assert!(is_error && text.contains("did not take effect"), "{text}");
    assert!(f.payments().is_empty());
    // The transfer is idempotent: retried with the key of its intent.
    let transfers = f.transfers();
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0]["key"], pending[1].call_id.to_string());
    f.done().await;
}

async fn a_reconciled_result_is_given_to_the_model(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    approve_all(&f, &pending).await;
    die_mid_call(&f, run_id, &pending[..1]).await;
    f.approvals.resume(&f.runtime, run_id).await.unwrap();
    let resolution = Resolution::Executed {
        result: "paid 1200 to acme (by hand)".into(),
    };
    let done = f
        .approvals
        .reconcile(&f.runtime, run_id, pending[0].call_id, resolution, &bob())
        .await
        .unwrap();
    assert_eq!(
        tool_result(&done.state, "send_payment"),
        ("paid 1200 to acme (by hand)".into(), false)
    );
    assert!(f.payments().is_empty(), "the engine did not pay again");
    assert_eq!(f.transfers().len(), 1);
    f.done().await;
}

on_sqlite_and_postgres!(
    a_call_in_doubt_waits_for_reconciliation,
    a_reconciled_result_is_given_to_the_model,
);
