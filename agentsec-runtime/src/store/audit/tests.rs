use super::*;
use serde_json::Value;

fn chain(n: i64) -> Vec<AuditEntry> {
    let mut prev = (0, GENESIS_HASH.to_owned());
    let mut out = Vec::new();
    for i in 1..=n {
        let new = NewAuditEntry {
            kind: "event".into(),
            actor: "tester".into(),
            run_id: None,
            data: serde_json::json!({"i": i, "nested": {"b": 1, "a": [1.5, null]}}),
        };
        let entry = chain_next(&new, prev.0, &prev.1, UnixMillis(1000 + i));
        prev = (entry.seq, entry.hash.clone());
        out.push(entry);
    }
    out
}

fn head(log: &[AuditEntry]) -> (i64, String) {
    log.last()
        .map(|e| (e.seq, e.hash.clone()))
        .unwrap_or((0, GENESIS_HASH.into()))
}

fn first_break(log: &[AuditEntry], head: &(i64, String)) -> Option<AuditBreak> {
    verify_chain(log, (head.0, &head.1)).first_break
}

#[test]
fn intact_chain_verifies() {
    let log = chain(5);
    let report = verify_chain(&log, (5, &log[4].hash));
    assert!(report.is_intact());
    assert_eq!(report.entries, 5);
    assert!(verify_chain(&[], (0, GENESIS_HASH)).is_intact());
}

#[test]
fn canonical_json_ignores_key_order() {
    let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":[true,"s"]}}"#).unwrap();
    assert_eq!(canonical_json(&a), r#"{"a":{"x":[true,"s"],"y":2},"b":1}"#);
}

#[test]
fn altered_data_is_found() {
    let mut log = chain(5);
    let h = head(&log);
    log[2].data = serde_json::json!({"i": 99});
    assert_eq!(
        first_break(&log, &h),
        Some(AuditBreak {
            seq: 3,
            kind: AuditBreakKind::Altered
        })
    );
}

#[test]
fn rewritten_hash_blames_the_rewritten_entry() {
    let mut log = chain(5);
    let h = head(&log);
    log[1].actor = "mallory".into();
    log[1].hash = log[1].compute_hash();
    assert_eq!(
        first_break(&log, &h),
        Some(AuditBreak {
            seq: 2,
            kind: AuditBreakKind::Altered
        })
    );
}

#[test]
fn removed_entry_is_missing() {
    let mut log = chain(5);
    let h = head(&log);
    log.remove(1);
    assert_eq!(
        first_break(&log, &h),
        Some(AuditBreak {
            seq: 2,
            kind: AuditBreakKind::Missing
        })
    );
    let mut first_gone = chain(3);
    let h = head(&first_gone);
    first_gone.remove(0);
    assert_eq!(
        first_break(&first_gone, &h),
        Some(AuditBreak {
            seq: 1,
            kind: AuditBreakKind::Missing
        })
    );
}

#[test]
fn truncated_tail_is_missing() {
    let mut log = chain(4);
    let h = head(&log);
    log.pop();
    assert_eq!(
        first_break(&log, &h),
        Some(AuditBreak {
            seq: 4,
            kind: AuditBreakKind::Missing
        })
    );
}

#[test]
fn entries_past_the_head_are_found() {
    let mut log = chain(4);
    let h = (3, log[2].hash.clone());
    assert_eq!(
        first_break(&log, &h),
        Some(AuditBreak {
            seq: 4,
            kind: AuditBreakKind::Altered
        })
    );
    log.truncate(3);
    assert!(verify_chain(&log, (h.0, &h.1)).is_intact());
}

#[test]
fn swapped_entries_are_reordered() {
    let mut log = chain(5);
    let h = head(&log);
    // Swap the seq of entries 2 and 4, then read them back in seq order.
    log[1].seq = 4;
    log[3].seq = 2;
    log.sort_by_key(|e| e.seq);
    assert_eq!(
        first_break(&log, &h),
        Some(AuditBreak {
            seq: 2,
            kind: AuditBreakKind::Reordered
        })
    );
    let mut log = chain(3);
    let h = head(&log);
    log.swap(0, 1);
    log[0].seq = 1;
    log[1].seq = 2;
    assert_eq!(
        first_break(&log, &h),
        Some(AuditBreak {
            seq: 1,
            kind: AuditBreakKind::Reordered
        })
    );
}
