//! Walking the chain: the first altered, missing or reordered entry.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{AuditEntry, GENESIS_HASH};

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
            if last_seq > head_seq {
                // Entries past the recorded head were not appended by the store.
                self.first_break = Some(AuditBreak {
                    seq: head_seq + 1,
                    kind: AuditBreakKind::Altered,
                });
            } else if head_seq > last_seq {
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
