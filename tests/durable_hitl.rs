//! Human approval over the durable stores: one approval per parallel call,
//! listing per agent and user, approve / edit / reject / expire, the
//! approval policy (four eyes, roles, tenants), single-flight resume, and
//! budgets carried over exactly. (Tampering: `durable_tamper.rs`; calls in
//! doubt: `durable_reconcile.rs`.) Every test runs against SQLite and, with
//! `DATABASE_URL`, PostgreSQL.

mod durable_support;

use std::time::Duration;

use agentsec::engine::{LeaseGuard, RunOutcome, StoreCheckpoints};
use agentsec::hitl::{ApprovalPolicy, Approvals, HitlError};
use agentsec::prelude::*;
use agentsec::store::{ApprovalStatus, RunStatus};
use durable_support::fixture::*;
use durable_support::*;

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

on_sqlite_and_postgres!(
    parallel_calls_get_one_approval_each_and_list_by_agent_and_user,
    approved_calls_run_once_and_spend_carries_over,
    the_policy_decides_who_may_approve,
    a_rejection_reaches_the_model_and_the_call_never_runs,
    edited_arguments_are_validated_bound_and_told,
    an_expired_request_is_its_own_outcome,
    resume_is_single_flight,
);
