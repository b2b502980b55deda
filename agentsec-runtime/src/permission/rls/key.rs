//! The key that authenticates a grant's claims to the database.

use std::fmt;
use std::sync::Arc;

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgExecutor;

use super::RlsError;

/// The number of bytes of an [`RlsKey`].
pub const RLS_KEY_BYTES: usize = 32;

/// A secret shared by the runtime and the database: the runtime tags the
/// claims it sets with it, and the policies' `agentsec_grant()` (a
/// `SECURITY DEFINER` function, the only reader of the key's table) ignores
/// claims whose tag does not match. SQL running in the scoped transaction —
/// a tool's own statements, or an injected `set_config('request.jwt.claims',
/// ...)` — can overwrite the setting but cannot produce the tag, so forged
/// claims reach no row.
///
/// The tag is `hex(SHA-256(key || SHA-256(claims)))`: the inner hash has a
/// fixed length, so SHA-256's length extension gives a forger nothing.
///
/// ```
/// use agentsec_runtime::permission::rls::RlsKey;
/// let key = RlsKey::random();
/// assert_eq!(format!("{key:?}"), "RlsKey([redacted])");
/// assert!(RlsKey::from_bytes(b"too short").is_err());
/// ```
#[derive(Clone)]
pub struct RlsKey(Arc<[u8; RLS_KEY_BYTES]>);

impl fmt::Debug for RlsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RlsKey([redacted])")
    }
}

impl RlsKey {
    /// A fresh random key.
    pub fn random() -> Self {
        let mut key = [0u8; RLS_KEY_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        Self(Arc::new(key))
    }

    /// A key from exactly [`RLS_KEY_BYTES`] bytes (from a secret store).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RlsError> {
        let key: [u8; RLS_KEY_BYTES] = bytes.try_into().map_err(|_| {
            RlsError::Key(format!(
                "the key has {} bytes; it must have exactly {RLS_KEY_BYTES}",
                bytes.len()
            ))
        })?;
        Ok(Self(Arc::new(key)))
    }

    /// Stores the key in the table `agentsec_rls_key` that the setup SQL
    /// creates (replacing any key there). Run it as the schema's owner — the
    /// login the tools use cannot read or write that table.
    pub async fn install<'c>(&self, owner: impl PgExecutor<'c>) -> Result<(), RlsError> {
        sqlx::query(
            "WITH gone AS (DELETE FROM agentsec_rls_key) \
             INSERT INTO agentsec_rls_key (key) VALUES ($1)",
        )
        .bind(self.0.as_slice())
        .execute(owner)
        .await?;
        Ok(())
    }

    /// The tag of `claims` (the exact text of the setting).
    pub(crate) fn tag(&self, claims: &str) -> String {
        let inner = Sha256::digest(claims.as_bytes());
        let mut outer = Sha256::new();
        outer.update(self.0.as_slice());
        outer.update(inner);
        hex::encode(outer.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_depends_on_key_and_claims() {
        let (a, b) = (RlsKey::random(), RlsKey::random());
        assert_eq!(a.tag("{}"), a.tag("{}"));
        assert_ne!(a.tag("{}"), b.tag("{}"));
        assert_ne!(a.tag("{}"), a.tag("{} "));
        assert_eq!(a.tag("{}").len(), 64);
    }
}
