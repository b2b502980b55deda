//! The store conformance suite against `PostgresStore`. Needs `DATABASE_URL`
//! (e.g. postgres://postgres@127.0.0.1:5432/test); each test runs in a fresh
//! schema of its own, dropped afterwards, so parallel runs do not collide.

mod conformance;
mod pg_support;

use std::future::Future;
use std::sync::Arc;

use agentsec_runtime::store::{NewRun, PostgresStore, RunStore};
use pg_support::fresh_schema;

async fn with_postgres<F, Fut>(body: F)
where
    F: FnOnce(conformance::Stores) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(schema) = fresh_schema().await else {
        return;
    };
    let a = PostgresStore::connect_with(schema.options.clone(), 8)
        .await
        .expect("store a");
    let b = PostgresStore::connect_with(schema.options.clone(), 8)
        .await
        .expect("store b");
    let pool = a.pool().clone();
    let exec: conformance::Exec = Arc::new(move |sql: &'static str| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::raw_sql(sql).execute(&pool).await.expect("raw SQL");
        })
    });
    let stores = conformance::Stores {
        a: Arc::new(a.clone()),
        b: Arc::new(b.clone()),
        exec: Some(exec),
    };
    let outcome = tokio::spawn(body(stores)).await;
    a.pool().close().await;
    b.pool().close().await;
    schema.drop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

conformance_tests!(with_postgres;
    single: [
        run_roundtrip_and_cas_conflict, list_runs_filters, steps_append_in_order,
        approvals_list_and_decide_once, intents_are_exactly_once, usage_counts_per_run_and_agent,
        agent_keys_roundtrip, audit_chain_appends_and_verifies, purge_respects_retention_and_keeps_audit,
        leases_renew_and_release,
    ];
    pair: [
        racing_approval_decisions, concurrent_audit_appends_never_fork, concurrent_claims_are_disjoint,
        expired_lease_is_reclaimed, single_flight_acquire,
    ];
    sql: [
        corrupt_rows_are_typed_errors, audit_tamper_altered_is_found, audit_tamper_actor_is_found,
        audit_tamper_missing_is_found, audit_tamper_truncated_tail_is_found, audit_tamper_forged_tail_is_found, audit_tamper_reordered_is_found,
    ];
);

#[tokio::test]
async fn migrations_are_idempotent_on_restart() {
    let Some(schema) = fresh_schema().await else {
        return;
    };
    let first = PostgresStore::connect_with(schema.options.clone(), 2)
        .await
        .unwrap();
    let run = first
        .create_run(&NewRun::new(
            "support",
            "alice",
            serde_json::json!({"k": 1}),
        ))
        .await
        .unwrap();
    first.pool().close().await;
    // Two workers starting together both run the migrations.
    let (a, b) = tokio::join!(
        PostgresStore::connect_with(schema.options.clone(), 2),
        PostgresStore::connect_with(schema.options.clone(), 2)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        b.get_run(run.id).await.unwrap().state,
        serde_json::json!({"k": 1})
    );
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM agentsec_sqlx_migrations WHERE success")
            .fetch_one(a.pool())
            .await
            .unwrap();
    // Every migration file, each applied once.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert_eq!(
        applied,
        i64::try_from(files).unwrap(),
        "each migration once"
    );
    a.pool().close().await;
    b.pool().close().await;
    schema.drop().await;
}
