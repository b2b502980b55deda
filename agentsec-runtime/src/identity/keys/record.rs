use std::fmt;
use std::time::SystemTime;

use ipnet::IpNet;

use super::Environment;

/// One agent key as stored: everything but the secret, which is kept only
/// as a keyed hash.
///
/// Times are wall-clock [`SystemTime`]s; a durable store keeps them at least
/// to the second.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentKeyRecord {
    /// The key's public id (the `<keyid>` part of the key).
    pub key_id: String,
    /// The agent the key authenticates.
    pub agent: String,
    /// The environment the key is valid in.
    pub environment: Environment,
    /// HMAC-SHA256 of the secret under the server's pepper.
    pub secret_hash: [u8; 32],
    /// When the key was issued.
    pub created_at: SystemTime,
    /// When the key stops working, if it expires.
    pub expires_at: Option<SystemTime>,
    /// Caller networks the key may be used from; empty means any.
    pub allowed_networks: Vec<IpNet>,
    /// When the key was revoked.
    pub revoked_at: Option<SystemTime>,
    /// When a rotated key stops working (the end of its overlap window).
    pub retires_at: Option<SystemTime>,
    /// The key that replaced this one on rotation.
    pub replaced_by: Option<String>,
    /// Bumped by the store on every update, for optimistic concurrency.
    pub version: u64,
}

impl fmt::Debug for AgentKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentKeyRecord")
            .field("key_id", &self.key_id)
            .field("agent", &self.agent)
            .field("environment", &self.environment)
            .field("secret_hash", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("allowed_networks", &self.allowed_networks)
            .field("revoked_at", &self.revoked_at)
            .field("retires_at", &self.retires_at)
            .field("replaced_by", &self.replaced_by)
            .field("version", &self.version)
            .finish()
    }
}

/// Where a key stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable.
    Active,
    /// Rotated but still usable until the end of its overlap window.
    Retiring {
        /// When it stops working.
        until: SystemTime,
    },
    /// Rotated and past its overlap window.
    Retired,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl KeyStatus {
    /// Whether a key in this status authenticates.
    pub fn is_usable(self) -> bool {
        matches!(self, KeyStatus::Active | KeyStatus::Retiring { .. })
    }
}

impl AgentKeyRecord {
    /// The key's status at `now`. Revocation wins over everything, then
    /// expiry, then rotation.
    pub fn status(&self, now: SystemTime) -> KeyStatus {
        if self.revoked_at.is_some() {
            return KeyStatus::Revoked;
        }
        if self.expires_at.is_some_and(|at| now >= at) {
            return KeyStatus::Expired;
        }
        match self.retires_at {
            Some(at) if now >= at => KeyStatus::Retired,
            Some(until) => KeyStatus::Retiring { until },
            None => KeyStatus::Active,
        }
    }

    /// The record without its hash, for listings.
    pub fn info(&self, now: SystemTime) -> AgentKeyInfo {
        AgentKeyInfo {
            key_id: self.key_id.clone(),
            agent: self.agent.clone(),
            environment: self.environment,
            created_at: self.created_at,
            expires_at: self.expires_at,
            allowed_networks: self.allowed_networks.clone(),
            revoked_at: self.revoked_at,
            retires_at: self.retires_at,
            replaced_by: self.replaced_by.clone(),
            status: self.status(now),
        }
    }
}

/// What a listing shows of a key: never its secret nor its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentKeyInfo {
    /// The key's public id.
    pub key_id: String,
    /// The agent it authenticates.
    pub agent: String,
    /// Its environment.
    pub environment: Environment,
    /// When it was issued.
    pub created_at: SystemTime,
    /// When it expires, if it does.
    pub expires_at: Option<SystemTime>,
    /// Caller networks it may be used from; empty means any.
    pub allowed_networks: Vec<IpNet>,
    /// When it was revoked.
    pub revoked_at: Option<SystemTime>,
    /// When it stops working after a rotation.
    pub retires_at: Option<SystemTime>,
    /// Its successor after a rotation.
    pub replaced_by: Option<String>,
    /// Its status when listed.
    pub status: KeyStatus,
}
