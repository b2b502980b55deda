use serde::{Deserialize, Serialize};

use super::UnixMillis;

/// A stored agent invocation key (the key itself is never stored, only its hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentKeyRecord {
    /// The key's public id.
    pub key_id: String,
    /// The agent the key invokes.
    pub agent: String,
    /// The environment the key is bound to.
    pub environment: String,
    /// The key's hash.
    pub hash: String,
    /// When it was issued.
    pub created_at: UnixMillis,
    /// When it stops working.
    pub expires_at: Option<UnixMillis>,
    /// When it was revoked.
    pub revoked_at: Option<UnixMillis>,
    /// When it was rotated.
    pub rotated_at: Option<UnixMillis>,
    /// After a rotation, the old key keeps working until then.
    pub overlap_until: Option<UnixMillis>,
    /// The allowed source networks (JSON array of CIDR strings; `[]` = any).
    pub cidrs: serde_json::Value,
}
