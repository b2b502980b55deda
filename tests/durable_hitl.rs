//! Human approval over the durable stores: one approval per parallel call,
//! listing per agent and user, approve / edit / reject / expire, signed and
//! bound decisions (forged, replayed, re-keyed and altered ones refused),
//! the approval policy (four eyes, roles, tenants), single-flight resume,
//! reconciliation of a call in doubt, and budgets carried over exactly.
//! Every test runs against SQLite and, with `DATABASE_URL`, PostgreSQL.

mod durable_support;

use std::sync::Arc;
use std::time::Duration;

use agentsec::engine::{
    AgentRuntime, CallIntent, Checkpoints, EngineError, LeaseGuard, PendingCall, Phase, Resolution,
    RunOutcome, RunState, StoreCheckpoints,
};
use agentsec::hitl::{ApprovalPolicy, Approvals, DecisionSigner, HitlError};
use agentsec::model::Message;
use agentsec::prelude::*;
use agentsec::store::{ApprovalDecision, ApprovalStatus, RunStatus, RunStore};
use durable_support::*;
use serde_json::json;

struct Fixture {
    backend: Backend,
    store: Arc<dyn RunStore>,
    checkpoints: StoreCheckpoints,
    runtime: AgentRuntime<PaymentsAgent>,
    approvals: Approvals,
    effects: std::path::PathBuf,
}

impl Fixture {
    async fn new(backend: Backend) -> Self {
        Self::with(backend, |c| c).await
    }

    async fn with(
        backend: Backend,
        configure: impl FnOnce(StoreCheckpoints) -> StoreCheckpoints,
    ) -> Self {
        let store = backend.open().await;
        let checkpoints = configure(StoreCheckpoints::new(store.clone()).with_owner("test"));
        let effects = backend.effects();
        let runtime = runtime(&checkpoints, &effects, PlanModel::payment_and_transfer()).await;
        let approvals = Approvals::new(&checkpoints, signer());
        Self {
            backend,
            store,
            checkpoints,
            runtime,
            approvals,
            effects,
        }
    }

    /// Starts a run that pauses on a payment and a transfer.
    async fn paused_run(&self) -> (RunId, Vec<PendingCall>) {
        let report = self
            .runtime
            .start(alice(), "Pay acme, top up savings")
            .await
            .unwrap();
        match report.outcome {
            RunOutcome::AwaitingApproval { pending } => (report.run_id, pending),
            other => panic!("{other:?}"),
        }
    }

    fn payments(&self) -> Vec<serde_json::Value> {
        SideEffects::of(&self.effects, "send_payment")
    }

    fn transfers(&self) -> Vec<serde_json::Value> {
        SideEffects::of(&self.effects, "book_transfer")
    }

    async fn status(&self, run_id: RunId) -> RunStatus {
        self.store.get_run(run_id).await.unwrap().status
    }

    async fn done(self) {
        self.backend.cleanup().await;
    }
}

fn signer() -> DecisionSigner {
    DecisionSigner::new(SIGNING_KEY.to_vec()).unwrap()
}

fn tool_result(state: &RunState, tool: &str) -> (String, bool) {
    state
        .messages
        .iter()
        .find_map(|m| match m {
            Message::Tool {
                name,
                content,
                is_error,
                ..
            } if name == tool => Some((content.clone(), *is_error)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no result for {tool}"))
}

async fn approve_all(f: &Fixture, pending: &[PendingCall]) {
    for call in pending {
        f.approvals
            .approve(call.call_id.as_uuid(), &bob())
            .await
            .unwrap();
    }
}

async fn parallel_calls_get_one_approval_each_and_list_by_agent_and_user(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    assert_eq!(pending.len(), 2, "both parallel calls are surfaced at once");
    assert_eq!(f.status(run_id).await, RunStatus::AwaitingApproval);

    let listed = f.approvals.pending(Some("payments"), None).await.unwrap();
    assert_eq!(listed.len(), 2);
    for call in &pending {
        let row = listed
            .iter()
            .find(|p| p.call_id == call.call_id)
            .expect("one row per call");
        assert_eq!(row.id, call.call_id.as_uuid());
        assert_eq!(row.tool, call.tool);
        assert_eq!(row.arguments, call.arguments);
        assert_eq!(row.user_id, "alice");
        assert!(row.reason.contains("moves money"), "{}", row.reason);
    }
    assert_eq!(
        f.approvals
            .pending(None, Some("alice"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        f.approvals
            .pending(None, Some("carol"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.approvals
            .pending(Some("other"), None)
            .await
            .unwrap()
            .is_empty()
    );

    // A step record per transition, ending in the pause.
    let steps = f.store.list_steps(run_id).await.unwrap();
    assert!(steps.len() >= 5, "{steps:?}");
    assert_eq!(steps.last().unwrap().kind, "awaiting_approval");
    assert!(steps.iter().any(|s| s.kind == "tool_calls_proposed"));
    assert!(f.payments().is_empty() && f.transfers().is_empty());
    f.done().await;
}

async fn approved_calls_run_once_and_spend_carries_over(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    let before = f.runtime.state(run_id).await.unwrap().spend;
    assert_eq!(before.tokens(), 15);
    approve_all(&f, &pending).await;
    let report = f.approvals.resume(&f.runtime, run_id).await.unwrap();
    assert_eq!(
        report.outcome,
        RunOutcome::Completed {
            answer: "done".into()
        }
    );
    assert_eq!(f.payments().len(), 1);
    assert_eq!(f.transfers().len(), 1);
    assert_eq!(f.payments()[0]["approver"], "bob");
    // Usage and budgets continue from the stored spend, exactly.
    assert_eq!(report.state.spend.tokens(), before.tokens() + 15);
    assert_eq!(report.state.spend.model_calls, 2);
    assert_eq!(report.state.spend.tool_calls, 2);
    assert_eq!(f.status(run_id).await, RunStatus::Completed);
    // The decisions are in the audit chain, which verifies.
    let audit = f.store.list_audit(0, 100).await.unwrap();
    let decided = audit
        .iter()
        .filter(|e| e.kind == "approval_decided" && e.actor == "bob")
        .count();
    assert_eq!(decided, 2);
    assert!(f.store.verify_audit().await.unwrap().is_intact());
    // A finished run cannot be resumed; nothing runs again.
    assert!(matches!(
        f.approvals.resume(&f.runtime, run_id).await,
        Err(HitlError::Finished {
            status: RunStatus::Completed,
            ..
        })
    ));
    assert_eq!(f.payments().len(), 1);
    f.done().await;
}

async fn the_policy_decides_who_may_approve(backend: Backend) {
    let f = Fixture::new(backend).await;
    let approvals = Approvals::new(&f.checkpoints, signer()).with_policy(
        ApprovalPolicy::default()
            .four_eyes()
            .require_role("approver"),
    );
    let (_run_id, pending) = f.paused_run().await;
    let payment = pending[0].call_id.as_uuid();
    let refused = [
        // Four eyes: the requesting user, even holding the role.
        alice().with_roles(["approver"]),
        // Without the role.
        UserIdentity::new("carol").with_tenant("acme"),
        // Another tenant's approver.
        UserIdentity::new("dave")
            .with_tenant("globex")
            .with_roles(["approver"]),
    ];
    for who in &refused {
        assert!(
            matches!(
                approvals.approve(payment, who).await,
                Err(HitlError::NotAllowed { .. })
            ),
            "{} must not approve",
            who.id
        );
    }
    approvals.approve(payment, &bob()).await.unwrap();
    // The requesting user may withdraw their own request.
    let record = approvals
        .reject(pending[1].call_id.as_uuid(), &alice(), "changed my mind")
        .await
        .unwrap();
    assert_eq!(record.status, ApprovalStatus::Rejected);
    assert_eq!(record.decided_by.as_deref(), Some("alice"));
    f.done().await;
}

async fn a_rejection_reaches_the_model_and_the_call_never_runs(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    f.approvals
        .reject(pending[0].call_id.as_uuid(), &bob(), "not today")
        .await
        .unwrap();
    f.approvals
        .approve(pending[1].call_id.as_uuid(), &bob())
        .await
        .unwrap();
    let report = f.approvals.resume(&f.runtime, run_id).await.unwrap();
    assert_eq!(
        report.outcome,
        RunOutcome::Completed {
            answer: "done".into()
        }
    );
    assert_eq!(
        tool_result(&report.state, "send_payment"),
        ("a person (bob) rejected this call: not today".into(), true)
    );
    assert!(f.payments().is_empty());
    assert_eq!(f.transfers().len(), 1);
    f.done().await;
}

async fn edited_arguments_are_validated_bound_and_told(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    let payment = pending[0].call_id.as_uuid();
    let tools = f.runtime.dispatcher();
    for bad in [
        r#"{"payee": "acme", "amount_cents": "lots"}"#,
        r#"{"payee": "acme", "amount_cents": 5, "iban": "x"}"#,
        "not json",
    ] {
        assert!(
            matches!(
                f.approvals
                    .approve_edited(payment, &bob(), bad, tools)
                    .await,
                Err(HitlError::InvalidEdit(_))
            ),
            "{bad}"
        );
    }
    let edited = r#"{"payee": "acme", "amount_cents": 500}"#;
    let record = f
        .approvals
        .approve_edited(payment, &bob(), edited, tools)
        .await
        .unwrap();
    assert_eq!(record.edited_args.as_deref(), Some(edited));
    f.approvals
        .approve(pending[1].call_id.as_uuid(), &bob())
        .await
        .unwrap();
    let report = f.approvals.resume(&f.runtime, run_id).await.unwrap();
    // It ran with the new arguments, under an approval bound to them.
    let paid = f.payments();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0]["args"]["amount_cents"], 500);
    assert_eq!(report.state.edits.len(), 1);
    assert_eq!(
        report.state.edits[0].original_arguments,
        pending[0].arguments
    );
    assert_eq!(report.state.edits[0].edited_by, "bob");
    let (text, is_error) = tool_result(&report.state, "send_payment");
    assert!(!is_error);
    assert!(text.contains("edited the arguments"), "{text}");
    assert!(text.ends_with("paid 500 to acme"), "{text}");
    f.done().await;
}

async fn an_expired_request_is_its_own_outcome(backend: Backend) {
    let f = Fixture::with(backend, |c| c.with_approval_ttl(Duration::from_millis(100))).await;
    let (run_id, pending) = f.paused_run().await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(matches!(
        f.approvals
            .approve(pending[0].call_id.as_uuid(), &bob())
            .await,
        Err(HitlError::Expired { .. })
    ));
    assert!(f.approvals.pending(None, None).await.unwrap().is_empty());
    let report = f.approvals.resume(&f.runtime, run_id).await.unwrap();
    assert_eq!(
        report.outcome,
        RunOutcome::Completed {
            answer: "done".into()
        }
    );
    for tool in ["send_payment", "book_transfer"] {
        let (text, is_error) = tool_result(&report.state, tool);
        assert!(is_error && text.contains("expired"), "{text}");
        assert!(
            !text.contains("rejected"),
            "an expiry is not a rejection: {text}"
        );
    }
    for call in &pending {
        let row = f.store.get_approval(call.call_id.as_uuid()).await.unwrap();
        assert_eq!(row.status, ApprovalStatus::Expired);
    }
    assert!(f.payments().is_empty() && f.transfers().is_empty());
    f.done().await;
}

/// Decides an approval behind the service's back, as someone with write
/// access to the database could.
async fn forge(f: &Fixture, call: &PendingCall, signature: Option<String>, by: &str) {
    let decision = ApprovalDecision {
        approved: true,
        decided_by: by.into(),
        reason: None,
        edited_args: None,
        signature,
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

async fn resume_is_single_flight(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (run_id, pending) = f.paused_run().await;
    approve_all(&f, &pending).await;
    let other_process = StoreCheckpoints::new(f.store.clone()).with_owner("other");
    let lease = LeaseGuard::acquire(&other_process, run_id).await.unwrap();
    let version = f.store.get_run(run_id).await.unwrap().version;
    assert!(matches!(
        f.approvals.resume(&f.runtime, run_id).await,
        Err(HitlError::Busy { .. })
    ));
    assert_eq!(f.store.get_run(run_id).await.unwrap().version, version);
    assert!(f.payments().is_empty());
    lease.release().await;
    f.approvals.resume(&f.runtime, run_id).await.unwrap();
    assert_eq!(f.payments().len(), 1);
    assert!(matches!(
        f.approvals.resume(&f.runtime, RunId::new()).await,
        Err(HitlError::UnknownRun(_))
    ));
    f.done().await;
}

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
            tool: "send_payment".into()
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

macro_rules! on_sqlite_and_postgres {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::sqlite()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                let Some(backend) = super::Backend::postgres().await else {
                    return;
                };
                super::$name(backend).await;
            })*
        }
    };
}

on_sqlite_and_postgres!(
    parallel_calls_get_one_approval_each_and_list_by_agent_and_user,
    approved_calls_run_once_and_spend_carries_over,
    the_policy_decides_who_may_approve,
    a_rejection_reaches_the_model_and_the_call_never_runs,
    edited_arguments_are_validated_bound_and_told,
    an_expired_request_is_its_own_outcome,
    forged_replayed_rekeyed_and_altered_decisions_are_refused,
    resume_is_single_flight,
    a_call_in_doubt_waits_for_reconciliation,
    a_reconciled_result_is_given_to_the_model,
    a_state_altered_to_act_for_another_user_is_refused,
);
