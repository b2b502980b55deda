use std::collections::HashSet;
use std::time::Duration;

use agentsec_runtime::store::{
    AuditBreak, AuditBreakKind, GENESIS_HASH, NewAuditEntry, RunFilter, RunStatus, RunStore,
    UnixMillis,
};
use serde_json::json;

use super::{Exec, Stores, new_run};

fn event(i: i64) -> NewAuditEntry {
    NewAuditEntry {
        kind: "approval_decided".into(),
        actor: format!("user-{i}"),
        run_id: None,
        data: json!({"i": i, "amount": 12.5, "tags": ["a", "b"], "nested": {"z": null, "a": true}}),
    }
}

async fn append_n(store: &dyn RunStore, n: i64) {
    for i in 1..=n {
        store.append_audit(&event(i)).await.unwrap();
    }
}

pub async fn audit_chain_appends_and_verifies(store: &dyn RunStore) {
    let empty = store.verify_audit().await.unwrap();
    assert!(empty.is_intact());
    assert_eq!((empty.entries, empty.head_hash.as_str()), (0, GENESIS_HASH));

    let run = new_run(store, "support", "alice").await;
    let first = store
        .append_audit(&NewAuditEntry {
            run_id: Some(run.id),
            ..event(0)
        })
        .await
        .unwrap();
    assert_eq!((first.seq, first.prev_hash.as_str()), (1, GENESIS_HASH));
    assert_eq!(first.hash, first.compute_hash());
    append_n(store, 4).await;

    let entries = store.list_audit(0, 100).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(entries[0], first, "an entry reads back exactly as appended");
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert_eq!(store.list_audit(3, 1).await.unwrap()[0].seq, 4);

    let report = store.verify_audit().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries, 5);
    assert_eq!(report.head_hash, entries[4].hash);
}

pub async fn concurrent_audit_appends_never_fork(stores: Stores) {
    let mut tasks = Vec::new();
    for worker in 0..8_i64 {
        let store = if worker % 2 == 0 {
            stores.a.clone()
        } else {
            stores.b.clone()
        };
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                store.append_audit(&event(worker * 100 + i)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let entries = stores.a.list_audit(0, 1000).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=80).collect::<Vec<_>>()
    );
    let prevs: HashSet<&str> = entries.iter().map(|e| e.prev_hash.as_str()).collect();
    assert_eq!(
        prevs.len(),
        80,
        "no two entries share a predecessor: the chain did not fork"
    );
    let report = stores.b.verify_audit().await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries, 80);
}

pub async fn audit_tamper_altered_is_found(store: &dyn RunStore, exec: Exec) {
    append_n(store, 5).await;
    exec(r#"UPDATE audit_log SET data = '{"i":3,"amount":0}' WHERE seq = 3"#).await;
    let report = store.verify_audit().await.unwrap();
    assert_eq!(
        report.first_break,
        Some(AuditBreak {
            seq: 3,
            kind: AuditBreakKind::Altered
        })
    );
}

pub async fn audit_tamper_actor_is_found(store: &dyn RunStore, exec: Exec) {
    append_n(store, 3).await;
    exec("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1").await;
    let report = store.verify_audit().await.unwrap();
    assert_eq!(
        report.first_break,
        Some(AuditBreak {
            seq: 1,
            kind: AuditBreakKind::Altered
        })
    );
}

pub async fn audit_tamper_missing_is_found(store: &dyn RunStore, exec: Exec) {
    append_n(store, 5).await;
    exec("DELETE FROM audit_log WHERE seq = 2").await;
    let report = store.verify_audit().await.unwrap();
    assert_eq!(
        report.first_break,
        Some(AuditBreak {
            seq: 2,
            kind: AuditBreakKind::Missing
        })
    );
}

pub async fn audit_tamper_truncated_tail_is_found(store: &dyn RunStore, exec: Exec) {
    append_n(store, 4).await;
    exec("DELETE FROM audit_log WHERE seq = 4").await;
    let report = store.verify_audit().await.unwrap();
    assert_eq!(
        report.first_break,
        Some(AuditBreak {
            seq: 4,
            kind: AuditBreakKind::Missing
        })
    );
}

pub async fn audit_tamper_forged_tail_is_found(store: &dyn RunStore, exec: Exec) {
    append_n(store, 3).await;
    // A row added behind the store's back, linked to the real last entry.
    exec(
        "INSERT INTO audit_log (seq, at, kind, actor, run_id, data, prev_hash, hash) \
         SELECT seq + 1, at, kind, 'forger', run_id, data, hash, hash FROM audit_log WHERE seq = 3",
    )
    .await;
    let report = store.verify_audit().await.unwrap();
    assert_eq!(
        report.first_break,
        Some(AuditBreak {
            seq: 4,
            kind: AuditBreakKind::Altered
        })
    );
}

pub async fn audit_tamper_reordered_is_found(store: &dyn RunStore, exec: Exec) {
    append_n(store, 5).await;
    // Swap the seq of entries 2 and 4 (in steps: seq is the primary key).
    exec("UPDATE audit_log SET seq = -4 WHERE seq = 4").await;
    exec("UPDATE audit_log SET seq = 4 WHERE seq = 2").await;
    exec("UPDATE audit_log SET seq = 2 WHERE seq = -4").await;
    let report = store.verify_audit().await.unwrap();
    assert_eq!(
        report.first_break,
        Some(AuditBreak {
            seq: 2,
            kind: AuditBreakKind::Reordered
        })
    );
}

pub async fn purge_respects_retention_and_keeps_audit(store: &dyn RunStore) {
    let old_done = new_run(store, "support", "alice").await;
    store
        .append_step(old_done.id, "model_request", &json!({}))
        .await
        .unwrap();
    store
        .append_step(old_done.id, "tool_call", &json!({}))
        .await
        .unwrap();
    let mut finished = old_done.clone();
    finished.status = RunStatus::Completed;
    store.update_run(&finished).await.unwrap();
    let old_running = new_run(store, "support", "bob").await;
    store
        .append_step(old_running.id, "model_request", &json!({}))
        .await
        .unwrap();
    append_n(store, 3).await;

    tokio::time::sleep(Duration::from_millis(20)).await;
    let cutoff = UnixMillis::now();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let recent = new_run(store, "support", "carol").await;
    store
        .append_step(recent.id, "model_request", &json!({}))
        .await
        .unwrap();
    let mut recent_done = recent.clone();
    recent_done.status = RunStatus::Failed;
    store.update_run(&recent_done).await.unwrap();

    let report = store.purge_before(cutoff).await.unwrap();
    assert_eq!((report.runs, report.steps), (1, 2));
    let left: HashSet<_> = store
        .list_runs(&RunFilter::new())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        left,
        HashSet::from([old_running.id, recent.id]),
        "running and recent runs are kept"
    );
    assert!(store.list_steps(old_done.id).await.unwrap().is_empty());
    assert_eq!(store.list_steps(old_running.id).await.unwrap().len(), 1);
    assert_eq!(store.list_steps(recent.id).await.unwrap().len(), 1);

    let audit = store.verify_audit().await.unwrap();
    assert!(audit.is_intact());
    assert_eq!(audit.entries, 3, "retention never touches the audit log");
}
