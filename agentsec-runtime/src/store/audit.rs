//! The hash-chained audit log: entries, the hash, and chain verification.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash followed by
//! the canonical JSON of the entry's own fields (`seq`, `at`, `kind`,
//! `actor`, `run_id`, `data`; object keys sorted, no whitespace). The first
//! entry's previous hash is [`GENESIS_HASH`]. Changing, removing or moving
//! any entry breaks the chain from that entry on, and
//! [`verify_chain`] names the first entry where it breaks.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::UnixMillis;
use crate::identity::RunId;

/// The previous hash of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event to append to the audit log. The store assigns `seq`, `at` and the hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// What happened (`approval_decided`, `key_revoked`, ...).
    pub kind: String,
    /// Who did it (a user, an agent, a worker).
    pub actor: String,
    /// The run it concerns, if any.
    pub run_id: Option<RunId>,
    /// Details.
    pub data: Value,
}

/// One entry of the audit log.
///
/// ```
/// use agentsec_runtime::store::{AuditEntry, UnixMillis, GENESIS_HASH};
/// let mut entry = AuditEntry {
///     seq: 1, at: UnixMillis(0), kind: "login".into(), actor: "alice".into(),
///     run_id: None, data: serde_json::json!({"ok": true}),
///     prev_hash: GENESIS_HASH.into(), hash: String::new(),
/// };
/// entry.hash = entry.compute_hash();
/// assert_eq!(entry.hash.len(), 64);
/// entry.data = serde_json::json!({"ok": false});
/// assert_ne!(entry.compute_hash(), entry.hash);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// When it was appended.
    pub at: UnixMillis,
    /// What happened.
    pub kind: String,
    /// Who did it.
    pub actor: String,
    /// The run it concerns, if any.
    pub run_id: Option<RunId>,
    /// Details.
    pub data: Value,
    /// The previous entry's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl AuditEntry {
    /// The hash this entry should carry, from its fields and `prev_hash`.
    pub fn compute_hash(&self) -> String {
        let body = serde_json::json!({
            "seq": self.seq,
            "at": self.at.0,
            "kind": self.kind,
            "actor": self.actor,
            "run_id": self.run_id.map(|id| id.as_uuid().to_string()),
            "data": self.data,
        });
        let canonical = canonical_json(&body);
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(canonical.as_bytes());
        hex::encode(hasher.finalize())
    }
}

/// JSON with object keys sorted and no whitespace, whatever order the map
/// kept them in (serde_json's `preserve_order` feature may be on elsewhere in
/// the build), so the same value always hashes the same.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                if let Some(inner) = map.get(key) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        // Null, booleans and numbers have one serde_json spelling.
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    // Serializing a &str to JSON cannot fail.
    let quoted = serde_json::to_string(s).unwrap_or_default();
    out.push_str(&quoted);
}

/// How the chain is broken at an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditBreakKind {
    /// The entry's content (or its hash) was changed.
    Altered,
    /// The entry is gone: a gap in `seq`, or the log ends before the
    /// recorded head.
    Missing,
    /// The entry belongs elsewhere in the chain: entries were moved or swapped.
    Reordered,
}

/// The first place the audit chain is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditBreak {
    /// The `seq` of the first entry that fails to verify.
    pub seq: i64,
    /// How it fails.
    pub kind: AuditBreakKind,
}

/// The result of walking the audit chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// Entries checked.
    pub entries: u64,
    /// The hash of the last entry ([`GENESIS_HASH`] for an empty log).
    pub head_hash: String,
    /// The first break, or `None` when the chain is intact.
    pub first_break: Option<AuditBreak>,
}

impl AuditVerification {
    /// Whether the chain verified end to end.
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Walks the chain in `seq` order and stops at the first break.
///
/// `known_hashes` holds every stored hash of the log (used to tell a moved
/// entry from an altered one); `head` is the `(seq, hash)` the store recorded
/// for its last append, which catches a truncated tail.
pub(crate) struct ChainVerifier {
    known_hashes: HashSet<String>,
    expected_seq: i64,
    expected_prev: String,
    entries: u64,
    first_break: Option<AuditBreak>,
}

impl ChainVerifier {
    pub(crate) fn new(known_hashes: HashSet<String>) -> Self {
        Self {
            known_hashes,
            expected_seq: 1,
            expected_prev: GENESIS_HASH.to_owned(),
            entries: 0,
            first_break: None,
        }
    }

    /// Checks the next entry; returns `false` once the chain is broken.
    pub(crate) fn feed(&mut self, entry: &AuditEntry) -> bool {
        if self.first_break.is_some() {
            return false;
        }
        self.entries += 1;
        let found = if entry.seq != self.expected_seq {
            Some(AuditBreak {
                seq: self.expected_seq,
                kind: AuditBreakKind::Missing,
            })
        } else if entry.prev_hash != self.expected_prev {
            let self_consistent = entry.compute_hash() == entry.hash;
            if entry.prev_hash == GENESIS_HASH || self.known_hashes.contains(&entry.prev_hash) {
                // It links to another entry of this log: it was moved here.
                Some(AuditBreak {
                    seq: entry.seq,
                    kind: AuditBreakKind::Reordered,
                })
            } else if self_consistent && entry.seq > 1 {
                // This entry still matches the hash it links to, so it is the
                // previous entry that was rewritten (content and hash).
                Some(AuditBreak {
                    seq: entry.seq - 1,
                    kind: AuditBreakKind::Altered,
                })
            } else {
                Some(AuditBreak {
                    seq: entry.seq,
                    kind: AuditBreakKind::Altered,
                })
            }
        } else if entry.compute_hash() != entry.hash {
            Some(AuditBreak {
                seq: entry.seq,
                kind: AuditBreakKind::Altered,
            })
        } else {
            None
        };
        match found {
            Some(found) => {
                self.first_break = Some(found);
                false
            }
            None => {
                self.expected_seq += 1;
                self.expected_prev.clone_from(&entry.hash);
                true
            }
        }
    }

    /// Finishes the walk, comparing the last entry with the recorded head.
    pub(crate) fn finish(mut self, head: (i64, &str)) -> AuditVerification {
        if self.first_break.is_none() {
            let last_seq = self.expected_seq - 1;
            let (head_seq, head_hash) = head;
            if head_seq > last_seq {
                self.first_break = Some(AuditBreak {
                    seq: last_seq + 1,
                    kind: AuditBreakKind::Missing,
                });
            } else if head_seq == last_seq && head_hash != self.expected_prev {
                self.first_break = Some(AuditBreak {
                    seq: last_seq,
                    kind: AuditBreakKind::Altered,
                });
            }
        }
        AuditVerification {
            entries: self.entries,
            head_hash: self.expected_prev,
            first_break: self.first_break,
        }
    }
}

/// Verifies a whole chain held in memory (entries in `seq` order) against the
/// recorded head `(seq, hash)`.
///
/// ```
/// use agentsec_runtime::store::{verify_chain, AuditBreakKind, AuditEntry, UnixMillis, GENESIS_HASH};
/// let mut prev = GENESIS_HASH.to_string();
/// let mut log = Vec::new();
/// for seq in 1..=3 {
///     let mut e = AuditEntry { seq, at: UnixMillis(seq), kind: "k".into(), actor: "a".into(),
///         run_id: None, data: serde_json::json!(seq), prev_hash: prev.clone(), hash: String::new() };
///     e.hash = e.compute_hash();
///     prev = e.hash.clone();
///     log.push(e);
/// }
/// assert!(verify_chain(&log, (3, &prev)).is_intact());
/// log.remove(1);
/// let report = verify_chain(&log, (3, &prev));
/// assert_eq!(report.first_break.unwrap().kind, AuditBreakKind::Missing);
/// ```
pub fn verify_chain(entries: &[AuditEntry], head: (i64, &str)) -> AuditVerification {
    let known = entries.iter().map(|e| e.hash.clone()).collect();
    let mut verifier = ChainVerifier::new(known);
    for entry in entries {
        if !verifier.feed(entry) {
            break;
        }
    }
    verifier.finish(head)
}

/// Builds the next entry of a chain whose last entry is `(prev_seq, prev_hash)`.
pub(crate) fn chain_next(
    new: &NewAuditEntry,
    prev_seq: i64,
    prev_hash: &str,
    at: UnixMillis,
) -> AuditEntry {
    let mut entry = AuditEntry {
        seq: prev_seq + 1,
        at,
        kind: new.kind.clone(),
        actor: new.actor.clone(),
        run_id: new.run_id,
        data: new.data.clone(),
        prev_hash: prev_hash.to_owned(),
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
