//! Fencing: a driver paused past its lease (SIGSTOP, a long pause) does not
//! run the call another worker reconciled and ran meanwhile, and records no
//! result over the new holder's. The pause is simulated in process: the
//! paused driver's checkpoints block at the chosen point, and it renews no
//! lease while blocked (it drives through the engine's resume, which holds
//! the lease only through its saves), so the lease runs out as it would for
//! a stopped process. SQLite and, with `DATABASE_URL`, PostgreSQL.

mod durable_support;

use std::sync::Arc;
use std::time::Duration;

use agentsec::BoxFuture;
use agentsec::engine::{
    AgentRuntime, CallIntent, CheckpointError, Checkpoints, EngineError, IntentBegin,
    IntentOutcome, PendingCall, RecordedIntent, Resolution, RunOutcome, RunState, StoreCheckpoints,
};
use agentsec::hitl::ApprovalDecision;
use agentsec::model::{
    Message, ModelError, ModelProvider, ModelRequest, ModelResponse, ModelToolCall, StopReason,
    Usage,
};
use agentsec::prelude::*;
use agentsec::store::{Fence, RunStatus};
use agentsec::tool_api::ApprovalProof;
use durable_support::fixture::*;
use durable_support::*;
use serde_json::json;
use tokio::sync::Notify;

const LEASE: Duration = Duration::from_millis(300);

/// Where the paused driver stops.
#[derive(Clone, Copy, PartialEq)]
enum PausePoint {
    /// Right after the payment's intent is written, before the call starts.
    AfterIntent,
    /// After the payment ran, before its result is written.
    BeforeResult,
}

/// Checkpoints that stop once at `point` for the payment until released.
struct Paused {
    inner: StoreCheckpoints,
    point: PausePoint,
    payment: CallId,
    paused: Arc<Notify>,
    resume: Arc<Notify>,
}

impl Paused {
    async fn pause_at(&self, point: PausePoint, call_id: CallId) {
        if point == self.point && call_id == self.payment {
            self.paused.notify_one();
            self.resume.notified().await;
        }
    }
}

impl Checkpoints for Paused {
    fn save<'a>(&'a self, state: &'a RunState) -> BoxFuture<'a, Result<(), CheckpointError>> {
        self.inner.save(state)
    }

    fn load<'a>(
        &'a self,
        run_id: RunId,
    ) -> BoxFuture<'a, Result<Option<RunState>, CheckpointError>> {
        self.inner.load(run_id)
    }

    fn begin_intent<'a>(
        &'a self,
        intent: &'a CallIntent,
    ) -> BoxFuture<'a, Result<IntentBegin, CheckpointError>> {
        self.begin_intent_fenced(intent, None)
    }

    fn finish_intent<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        outcome: &'a IntentOutcome,
    ) -> BoxFuture<'a, Result<(), CheckpointError>> {
        self.finish_intent_fenced(run_id, call_id, outcome, None)
    }

    fn intent(
        &self,
        run_id: RunId,
        call_id: CallId,
    ) -> BoxFuture<'_, Result<Option<RecordedIntent>, CheckpointError>> {
        self.inner.intent(run_id, call_id)
    }

    fn verify_approval<'a>(
        &'a self,
        state: &'a RunState,
        call: &'a PendingCall,
    ) -> BoxFuture<'a, Result<ApprovalProof, CheckpointError>> {
        self.inner.verify_approval(state, call)
    }

    fn fence(&self, run_id: RunId) -> BoxFuture<'_, Result<Option<Fence>, CheckpointError>> {
        self.inner.fence(run_id)
    }

    fn check_fence<'a>(
        &'a self,
        run_id: RunId,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<(), CheckpointError>> {
        self.inner.check_fence(run_id, fence)
    }

    fn begin_intent_fenced<'a>(
        &'a self,
        intent: &'a CallIntent,
        fence: Option<&'a Fence>,
    ) -> BoxFuture<'a, Result<IntentBegin, CheckpointError>> {
        Box::pin(async move {
            let begun = self.inner.begin_intent_fenced(intent, fence).await?;
            self.pause_at(PausePoint::AfterIntent, intent.call_id).await;
            Ok(begun)
        })
    }

    fn finish_intent_fenced<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        outcome: &'a IntentOutcome,
        fence: Option<&'a Fence>,
    ) -> BoxFuture<'a, Result<(), CheckpointError>> {
        Box::pin(async move {
            self.pause_at(PausePoint::BeforeResult, call_id).await;
            self.inner
                .finish_intent_fenced(run_id, call_id, outcome, fence)
                .await
        })
    }
}

/// Proposes a payment and a transfer; proposes the payment again when it
/// was reconciled as not executed; otherwise answers "done".
#[derive(Clone)]
struct RetryingModel;

impl ModelProvider for RetryingModel {
    fn name(&self) -> &str {
        "retrying"
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        let results: Vec<(&str, &str, bool)> = request
            .messages
            .iter()
            .filter_map(|m| match m {
                Message::Tool {
                    name,
                    content,
                    is_error,
                    ..
                } => Some((name.as_str(), content.as_str(), *is_error)),
                _ => None,
            })
            .collect();
        let payment = json!({"payee": "acme", "amount_cents": 1200}).to_string();
        let tool_calls = if results.is_empty() {
            vec![
                ModelToolCall::new("call_0", "send_payment", &payment),
                ModelToolCall::new(
                    "call_1",
                    "book_transfer",
                    json!({"account": "savings", "amount_cents": 300}).to_string(),
                ),
            ]
        } else if results
            .iter()
            .any(|(n, c, e)| *n == "send_payment" && *e && c.contains("did not take effect"))
            && !results.iter().any(|(n, _, e)| *n == "send_payment" && !*e)
        {
            vec![ModelToolCall::new("call_retry", "send_payment", &payment)]
        } else {
            Vec::new()
        };
        let response = ModelResponse {
            content: tool_calls.is_empty().then(|| "done".to_owned()),
            tool_calls,
            usage: Usage::new(10, 5),
            stop: StopReason::EndTurn,
            model: "retrying".into(),
        };
        Box::pin(async move { Ok(response) })
    }
}

/// Process A, which will pause at `point`, drives the approved run through
/// the engine's resume; returns its task once it has paused.
async fn pause_a(
    f: &Fixture,
    run_id: RunId,
    pending: &[PendingCall],
    point: PausePoint,
) -> (
    tokio::task::JoinHandle<Result<agentsec::engine::RunReport, EngineError>>,
    Arc<Notify>,
) {
    let paused = Arc::new(Notify::new());
    let resume = Arc::new(Notify::new());
    let a = Paused {
        inner: StoreCheckpoints::new(f.store.clone())
            .with_owner("process-a")
            .with_lease(LEASE)
            .with_approval_key(signer()),
        point,
        payment: pending[0].call_id,
        paused: paused.clone(),
        resume: resume.clone(),
    };
    let runtime_a = AgentRuntime::<PaymentsAgent>::builder()
        .model(RetryingModel)
        .state(SideEffects::new(&f.effects))
        .checkpoints(a)
        .build()
        .await
        .unwrap();
    let decisions: Vec<ApprovalDecision> = pending
        .iter()
        .map(|c| ApprovalDecision::approve(c.call_id, bob()))
        .collect();
    let task = tokio::spawn(async move { runtime_a.resume(run_id, decisions).await });
    paused.notified().await;
    // Stopped: no renewals; the lease runs out.
    tokio::time::sleep(LEASE * 2).await;
    (task, resume)
}

async fn fixture(backend: Backend) -> (Fixture, AgentRuntime<PaymentsAgent>) {
    let f = Fixture::new(backend).await;
    let runtime_b = AgentRuntime::<PaymentsAgent>::builder()
        .model(RetryingModel)
        .state(SideEffects::new(&f.effects))
        .checkpoints(f.checkpoints.clone())
        .build()
        .await
        .unwrap();
    (f, runtime_b)
}

/// A pauses right after writing the payment's intent; B takes the run over,
/// finds the call in doubt, a person reconciles it as not executed, the
/// model proposes it again, it is approved and B pays; then A wakes up.
/// The payment is made once.
async fn a_driver_paused_after_its_intent_does_not_pay_after_a_takeover(backend: Backend) {
    let (f, runtime_b) = fixture(backend).await;
    let report = runtime_b
        .start(alice(), "Pay acme, top up savings")
        .await
        .unwrap();
    let RunOutcome::AwaitingApproval { pending } = report.outcome else {
        panic!("{:?}", report.outcome)
    };
    let run_id = report.run_id;
    approve_all(&f, &pending).await;
    let (a, resume_a) = pause_a(&f, run_id, &pending, PausePoint::AfterIntent).await;

    // B takes over: the payment is in doubt, with the key A would have used.
    let report = f.approvals.resume(&runtime_b, run_id).await.unwrap();
    let RunOutcome::NeedsReconciliation {
        call_id,
        idempotency_key,
        ..
    } = report.outcome
    else {
        panic!("{:?}", report.outcome)
    };
    assert_eq!(call_id, pending[0].call_id);
    // The operator looks the key up downstream: nothing happened.
    assert!(
        !SideEffects::read(&f.effects)
            .iter()
            .any(|e| e["key"] == idempotency_key)
    );
    let report = f
        .approvals
        .reconcile(&runtime_b, run_id, call_id, Resolution::NotExecuted, &bob())
        .await
        .unwrap();
    let RunOutcome::AwaitingApproval { pending: retry } = report.outcome else {
        panic!("{:?}", report.outcome)
    };
    approve_all(&f, &retry).await;
    let done = f.approvals.resume(&runtime_b, run_id).await.unwrap();
    assert_eq!(
        done.outcome,
        RunOutcome::Completed {
            answer: "done".into()
        }
    );
    assert_eq!(f.payments().len(), 1, "B paid once");

    // A wakes up: its lease was taken over; it does not start the call.
    resume_a.notify_one();
    let woke = a.await.unwrap();
    assert_eq!(f.payments().len(), 1, "paid once: {:?}", f.payments());
    assert!(
        matches!(
            woke,
            Err(EngineError::Checkpoint(CheckpointError::LeaseLost { .. }))
        ),
        "{woke:?}"
    );
    assert_eq!(f.payments()[0]["call"], retry[0].call_id.to_string());
    assert_eq!(f.status(run_id).await, RunStatus::Completed);
    f.done().await;
}

/// A pauses after the payment ran, before writing its result; B takes
/// over. The call is in doubt (not "not executed"); A's late result is not
/// written over B's run; the operator finds the payment downstream by its
/// idempotency key and reconciles it as executed. Paid once.
async fn a_driver_paused_before_its_result_records_nothing_after_a_takeover(backend: Backend) {
    let (f, runtime_b) = fixture(backend).await;
    let report = runtime_b
        .start(alice(), "Pay acme, top up savings")
        .await
        .unwrap();
    let RunOutcome::AwaitingApproval { pending } = report.outcome else {
        panic!("{:?}", report.outcome)
    };
    let run_id = report.run_id;
    approve_all(&f, &pending).await;
    let (a, resume_a) = pause_a(&f, run_id, &pending, PausePoint::BeforeResult).await;
    assert_eq!(f.payments().len(), 1, "A paid, then stopped");

    let report = f.approvals.resume(&runtime_b, run_id).await.unwrap();
    let RunOutcome::NeedsReconciliation {
        call_id,
        idempotency_key,
        ..
    } = report.outcome
    else {
        panic!("{:?}", report.outcome)
    };
    // A wakes up now: the new holder's run gets no result from it.
    resume_a.notify_one();
    let woke = a.await.unwrap();
    assert!(
        matches!(
            woke,
            Err(EngineError::Checkpoint(CheckpointError::LeaseLost { .. }))
        ),
        "{woke:?}"
    );
    assert!(
        f.checkpoints
            .intent(run_id, call_id)
            .await
            .unwrap()
            .unwrap()
            .outcome
            .is_none(),
        "still in doubt"
    );
    // Downstream, the key shows the payment happened.
    let found = SideEffects::read(&f.effects)
        .into_iter()
        .any(|e| e["key"] == idempotency_key);
    assert!(found);
    let done = f
        .approvals
        .reconcile(
            &runtime_b,
            run_id,
            call_id,
            Resolution::Executed {
                result: "paid 1200 to acme (found by its idempotency key)".into(),
            },
            &bob(),
        )
        .await
        .unwrap();
    assert_eq!(
        done.outcome,
        RunOutcome::Completed {
            answer: "done".into()
        }
    );
    assert_eq!(f.payments().len(), 1, "paid once: {:?}", f.payments());
    f.done().await;
}

/// Every taking of a lease raises the run's epoch; an old fence is refused.
async fn every_taking_of_a_lease_raises_the_epoch(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, _) = f.paused_run().await;
    f.store.try_acquire_run(run_id, "a", LEASE).await.unwrap();
    let fence_a = f.store.lease_fence(run_id, "a").await.unwrap();
    f.store.check_fence(run_id, &fence_a).await.unwrap();
    tokio::time::sleep(LEASE + Duration::from_millis(50)).await;
    f.store.try_acquire_run(run_id, "b", LEASE).await.unwrap();
    let fence_b = f.store.lease_fence(run_id, "b").await.unwrap();
    assert!(fence_b.epoch > fence_a.epoch, "{fence_a:?} {fence_b:?}");
    assert!(f.store.check_fence(run_id, &fence_a).await.is_err());
    f.store.release_lease(run_id, "b").await.unwrap();
    // The same owner taking the lease again is a new epoch too.
    f.store.try_acquire_run(run_id, "a", LEASE).await.unwrap();
    let again = f.store.lease_fence(run_id, "a").await.unwrap();
    assert!(again.epoch > fence_b.epoch);
    assert!(
        matches!(
            f.store.check_fence(run_id, &fence_a).await,
            Err(agentsec::store::StoreError::LeaseLost { .. })
        ),
        "a stale fence of the same owner is refused"
    );
    f.done().await;
}

on_sqlite_and_postgres!(
    a_driver_paused_after_its_intent_does_not_pay_after_a_takeover,
    a_driver_paused_before_its_result_records_nothing_after_a_takeover,
    every_taking_of_a_lease_raises_the_epoch,
);
