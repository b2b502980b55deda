//! The SQLite store after a full disk (issue 14, item 6): once there is room
//! again, it works again, without a restart. The full disk is simulated with
//! `PRAGMA max_page_count` on a file database with one pooled connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use agentsec_runtime::store::{NewRun, RunStore, SqliteStore};
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

/// The largest page count SQLite allows: a disk with room.
const ROOMY: i64 = 1_073_741_823;

#[tokio::test]
async fn writes_work_again_once_the_full_disk_has_room() {
    let dir = std::env::temp_dir().join(format!(
        "agentsec-disk-full-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.join("runs.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true);
    // The "disk size" every connection sees, also one the pool opens later.
    let disk = Arc::new(AtomicI64::new(ROOMY));
    let size = disk.clone();
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| {
            let pages = size.load(Ordering::SeqCst);
            Box::pin(async move {
                sqlx::query(AssertSqlSafe(format!("PRAGMA max_page_count = {pages}")))
                    .execute(conn)
                    .await
                    .map(|_| ())
            })
        })
        .connect_with(options)
        .await
        .unwrap();
    let store = SqliteStore::from_pool(pool).await.unwrap();
    let run = store
        .create_run(&NewRun::new("support", "alice", json!({})))
        .await
        .unwrap();

    // The disk fills up: a few pages more than the file has.
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(store.pool())
        .await
        .unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "PRAGMA max_page_count = {}",
        pages + 2
    )))
    .execute(store.pool())
    .await
    .unwrap();
    let big = json!({ "pad": "x".repeat(64 * 1024) });
    let mut full = false;
    for _ in 0..20 {
        // A write transaction (BEGIN IMMEDIATE … COMMIT) that cannot fit.
        if store.append_step(run.id, "big", &big).await.is_err() {
            full = true;
            break;
        }
    }
    assert!(full, "the simulated disk filled up");

    // Room again: no restart, the same store.
    disk.store(ROOMY, Ordering::SeqCst);
    sqlx::query(AssertSqlSafe(format!("PRAGMA max_page_count = {ROOMY}")))
        .execute(store.pool())
        .await
        .unwrap();
    store
        .append_step(run.id, "after", &json!({"ok": true}))
        .await
        .expect("a write transaction works again");
    let again = store
        .create_run(&NewRun::new("support", "alice", json!({})))
        .await
        .expect("runs can be created again");
    store
        .add_usage(
            again.id,
            "support",
            &agentsec_runtime::model::Usage::new(1, 1),
        )
        .await
        .expect("usage is recorded again");
    let steps = store.list_steps(run.id).await.unwrap();
    assert_eq!(steps.last().unwrap().kind, "after");
    let _ = std::fs::remove_dir_all(dir);
}
