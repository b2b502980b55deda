//! The agent key as the store keeps it: [`AgentKeyRecord`] is the one type
//! (from [`crate::identity::keys`]); these helpers map it to columns.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;

pub use crate::identity::keys::AgentKeyRecord;
use crate::identity::keys::Environment;

use super::UnixMillis;

/// A time as stored (milliseconds since the epoch); before 1970 or past
/// `i64` milliseconds it cannot be stored.
pub(crate) fn millis(t: SystemTime) -> Result<UnixMillis, String> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .map(UnixMillis)
        .ok_or_else(|| "a time before 1970 cannot be stored".to_owned())
}

/// A stored time back as a `SystemTime`.
pub(crate) fn time(t: UnixMillis) -> Result<SystemTime, String> {
    u64::try_from(t.0)
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .ok_or_else(|| format!("time {t} is out of range"))
}

/// The `cidrs` column: a JSON array of networks (`[]` = any source).
pub(crate) fn networks_json(networks: &[IpNet]) -> serde_json::Value {
    serde_json::Value::Array(
        networks
            .iter()
            .map(|n| serde_json::Value::String(n.to_string()))
            .collect(),
    )
}

/// The columns of a key row, read back into the record.
pub(crate) struct KeyRow {
    pub(crate) key_id: String,
    pub(crate) agent: String,
    pub(crate) environment: String,
    pub(crate) hash: String,
    pub(crate) created_at: UnixMillis,
    pub(crate) expires_at: Option<UnixMillis>,
    pub(crate) revoked_at: Option<UnixMillis>,
    pub(crate) overlap_until: Option<UnixMillis>,
    pub(crate) cidrs: serde_json::Value,
    pub(crate) version: i64,
    pub(crate) replaced_by: Option<String>,
}

impl KeyRow {
    /// The record, or why the row is not one.
    pub(crate) fn into_record(self) -> Result<AgentKeyRecord, String> {
        let environment: Environment = self.environment.parse()?;
        let mut secret_hash = [0u8; 32];
        hex::decode_to_slice(&self.hash, &mut secret_hash)
            .map_err(|e| format!("the hash is not 32 bytes of hex: {e}"))?;
        let networks: Vec<String> = serde_json::from_value(self.cidrs)
            .map_err(|e| format!("the networks are not an array of strings: {e}"))?;
        let allowed_networks = networks
            .iter()
            .map(|n| {
                n.parse::<IpNet>()
                    .map_err(|e| format!("network `{n}`: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AgentKeyRecord {
            key_id: self.key_id,
            agent: self.agent,
            environment,
            secret_hash,
            created_at: time(self.created_at)?,
            expires_at: self.expires_at.map(time).transpose()?,
            allowed_networks,
            revoked_at: self.revoked_at.map(time).transpose()?,
            retires_at: self.overlap_until.map(time).transpose()?,
            replaced_by: self.replaced_by,
            version: u64::try_from(self.version)
                .map_err(|_| format!("version {} is negative", self.version))?,
        })
    }
}
