//! The store conformance suite against `SqliteStore`, on a fresh temp file
//! per test; two stores open the same file, as two processes would.

mod conformance;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use agentsec_runtime::store::{NewRun, RunFilter, RunStore, SqliteStore, StoreError};

fn temp_db_path() -> PathBuf {
    std::env::temp_dir()
        .join(format!(
            "agentsec-store-test-{}",
            uuid::Uuid::new_v4().simple()
        ))
        .join("nested")
        .join("agentsec.db")
}

fn cleanup(path: &std::path::Path) {
    if let Some(dir) = path.parent().and_then(|p| p.parent()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

async fn with_sqlite<F, Fut>(body: F)
where
    F: FnOnce(conformance::Stores) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let path = temp_db_path();
    let a = SqliteStore::open(&path).await.expect("open sqlite");
    let b = SqliteStore::open(&path).await.expect("open sqlite again");
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
    cleanup(&path);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

conformance_tests!(with_sqlite;
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
async fn file_is_created_on_first_use_and_survives_reopening() {
    let path = temp_db_path();
    assert!(!path.exists());
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(
        path.exists(),
        "the file and its parent directories are created"
    );
    let run = store
        .create_run(&NewRun::new(
            "support",
            "alice",
            serde_json::json!({"k": 1}),
        ))
        .await
        .unwrap();
    store
        .append_step(run.id, "model_request", &serde_json::json!({"n": 1}))
        .await
        .unwrap();
    store
        .append_audit(&agentsec_runtime::store::NewAuditEntry {
            kind: "run_started".into(),
            actor: "alice".into(),
            run_id: Some(run.id),
            data: serde_json::json!({}),
        })
        .await
        .unwrap();
    store.pool().close().await;
    drop(store);

    // Reopening runs the migrations again: they must be a no-op.
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        reopened.get_run(run.id).await.unwrap().state,
        serde_json::json!({"k": 1})
    );
    assert_eq!(reopened.list_steps(run.id).await.unwrap().len(), 1);
    let audit = reopened.verify_audit().await.unwrap();
    assert!(audit.is_intact() && audit.entries == 1);
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM agentsec_sqlx_migrations WHERE success")
            .fetch_one(reopened.pool())
            .await
            .unwrap();
    // Every migration file, each applied once.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
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
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(reopened.pool())
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let fks: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(reopened.pool())
        .await
        .unwrap();
    assert_eq!(fks, 1);
    reopened.pool().close().await;
    cleanup(&path);
}

#[tokio::test]
async fn in_memory_store_works() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let run = store
        .create_run(&NewRun::new("support", "alice", serde_json::json!({})))
        .await
        .unwrap();
    assert_eq!(
        store.list_runs(&RunFilter::new()).await.unwrap()[0].id,
        run.id
    );
    // Two in-memory stores are separate databases.
    let other = SqliteStore::open_in_memory().await.unwrap();
    assert!(other.list_runs(&RunFilter::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_json_and_bad_ids_are_corrupt_not_panics() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let run = store
        .create_run(&NewRun::new("support", "alice", serde_json::json!({})))
        .await
        .unwrap();
    sqlx::raw_sql("UPDATE runs SET state = '{not json'")
        .execute(store.pool())
        .await
        .unwrap();
    match store.get_run(run.id).await {
        Err(StoreError::Corrupt {
            table: "runs",
            message,
            ..
        }) => assert!(message.contains("state"), "{message}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    sqlx::raw_sql("UPDATE runs SET state = '{}', id = 'not-a-uuid'")
        .execute(store.pool())
        .await
        .unwrap();
    // Listing skips a row that does not decode (warning, no panic, no error).
    assert!(store.list_runs(&RunFilter::new()).await.unwrap().is_empty());
    sqlx::raw_sql("INSERT INTO audit_log VALUES (1, 0, 'k', 'a', NULL, 'nope', 'p', 'h')")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(matches!(
        store.list_audit(0, 10).await,
        Err(StoreError::Corrupt {
            table: "audit_log",
            ..
        })
    ));
    assert!(matches!(
        store.verify_audit().await,
        Err(StoreError::Corrupt {
            table: "audit_log",
            ..
        })
    ));
}
