//! The application's approval policy holds where a decision is applied, not
//! only where it is made (issue 12, point 3): a decision recorded by another
//! process — the CLI builds its `Approvals` without the application's policy
//! — that the application's policy refuses does not run. Every test runs
//! against SQLite and, with `DATABASE_URL`, PostgreSQL.

mod durable_support;

use agentsec::engine::RunOutcome;
use agentsec::hitl::{ApprovalPolicy, Approvals};
use agentsec::prelude::*;
use agentsec::store::RunStatus;
use durable_support::fixture::*;
use durable_support::*;

/// The application's policy: four eyes and the `approver` role.
fn application(f: &Fixture) -> Approvals {
    Approvals::new(&f.checkpoints, signer()).with_policy(
        ApprovalPolicy::default()
            .four_eyes()
            .require_role("approver"),
    )
}

async fn a_decision_refused_by_the_applications_policy_does_not_run(backend: Backend) {
    let f = Fixture::new(backend).await;
    let app = application(&f);
    // Each violation in turn: the requester approving her own call (with
    // and without the role), and an approver without the role.
    let deciders = [
        alice(),
        alice().with_roles(["approver"]),
        UserIdentity::new("carol").with_tenant("acme"),
    ];
    for decider in deciders {
        let (run_id, pending) = f.paused_run().await;
        // `f.approvals` has the default policy, like `agentsec approvals
        // approve ID --as alice`: the decision is recorded and signed.
        for call in &pending {
            f.approvals
                .approve(call.call_id.as_uuid(), &decider)
                .await
                .unwrap();
        }
        let report = app.resume(&f.runtime, run_id).await.unwrap();
        assert!(
            f.payments().is_empty(),
            "{} got a payment through",
            decider.id
        );
        assert!(
            f.transfers().is_empty(),
            "{} got a transfer through",
            decider.id
        );
        let (message, is_error) = tool_result(&report.state, "send_payment");
        assert!(is_error);
        assert!(message.contains("approval policy"), "{message}");
        assert!(
            matches!(report.outcome, RunOutcome::Completed { .. }),
            "{:?}",
            report.outcome
        );
    }

    // The control: the same path with a decider the policy accepts runs.
    let (run_id, pending) = f.paused_run().await;
    for call in &pending {
        f.approvals
            .approve(call.call_id.as_uuid(), &bob())
            .await
            .unwrap();
    }
    app.resume(&f.runtime, run_id).await.unwrap();
    assert_eq!(f.status(run_id).await, RunStatus::Completed);
    assert_eq!(f.payments().len(), 1);
    assert_eq!(f.transfers().len(), 1);
    f.done().await;
}

async fn the_roles_and_tenant_of_a_decision_are_signed(backend: Backend) {
    let f = Fixture::new(backend).await;
    let app = application(&f);
    let (run_id, pending) = f.paused_run().await;
    let payment = pending[0].call_id.as_uuid();
    // Carol approves without the role; someone with database access then
    // gives her the role in the row. The signature no longer verifies.
    f.approvals
        .approve(payment, &UserIdentity::new("carol").with_tenant("acme"))
        .await
        .unwrap();
    let record = f.store.get_approval(payment).await.unwrap();
    assert_eq!(record.decided_tenant.as_deref(), Some("acme"));
    assert!(record.decided_roles.is_empty());
    // Rewrite the row in place, keeping the signature.
    let spec = f.backend.spec.clone();
    rewrite_roles(&spec, payment, &["approver".to_owned()]).await;
    assert!(matches!(
        app.resume(&f.runtime, run_id).await,
        Err(agentsec::hitl::HitlError::BadSignature { .. })
    ));
    assert!(f.payments().is_empty());
    f.done().await;
}

async fn rewrite_roles(spec: &str, approval: uuid::Uuid, roles: &[String]) {
    let roles = serde_json::to_string(roles).unwrap();
    if let Some(path) = spec.strip_prefix("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite:{path}"))
            .await
            .unwrap();
        sqlx::query("UPDATE approvals SET decided_roles = $1 WHERE id = $2")
            .bind(&roles)
            .bind(approval.to_string())
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else if let Some(schema) = spec.strip_prefix("postgres:") {
        let url = std::env::var("DATABASE_URL").unwrap();
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {schema}.approvals SET decided_roles = $1 WHERE id = $2"
        )))
        .bind(&roles)
        .bind(approval)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
}

on_sqlite_and_postgres!(
    a_decision_refused_by_the_applications_policy_does_not_run,
    the_roles_and_tenant_of_a_decision_are_signed,
);
