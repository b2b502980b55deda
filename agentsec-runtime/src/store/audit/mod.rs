//! The hash-chained audit log: entries, the hash, and chain verification.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash followed by
//! the canonical JSON of the entry's own fields (`seq`, `at`, `kind`,
//! `actor`, `run_id`, `data`; object keys sorted, no whitespace). The first
//! entry's previous hash is [`GENESIS_HASH`]. Changing, removing or moving
//! any entry breaks the chain from that entry on, and
//! [`verify_chain`] names the first entry where it breaks.

use std::fmt::Write as _;

#[cfg(test)]
mod tests;
mod verify;

pub(crate) use verify::ChainVerifier;
pub use verify::{AuditBreak, AuditBreakKind, AuditVerification, verify_chain};

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
