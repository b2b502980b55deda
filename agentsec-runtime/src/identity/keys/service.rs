use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use secrecy::SecretString;

use super::format::{self, KeyHasher};
use super::{
    AgentKeyInfo, AgentKeyRecord, AgentPrincipal, Environment, IssuedKey, KeyError, KeyOptions,
    KeyStatus, KeyStore, KeyStoreError,
};

/// The shortest pepper accepted.
const MIN_PEPPER_BYTES: usize = 32;
/// The longest agent name accepted.
const MAX_AGENT_NAME: usize = 128;
/// How often a read-modify-write is retried when the record moved on.
const UPDATE_ATTEMPTS: usize = 4;
/// The overlap window used when none is configured.
pub const DEFAULT_ROTATION_OVERLAP: Duration = Duration::from_secs(60 * 60);
/// The longest overlap window accepted: a rotated key must stop eventually.
pub const MAX_ROTATION_OVERLAP: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Issues, lists, rotates, revokes and checks per-agent invocation keys.
///
/// A key is `ask_<env>_<keyid>_<secret>`; only an HMAC-SHA256 of the secret
/// under a server-side pepper is stored, so a leaked store does not leak
/// usable keys. Each key is bound to one agent and one environment, and may
/// be restricted to caller networks.
///
/// ```
/// use std::sync::Arc;
/// use std::time::SystemTime;
/// use agentsec_runtime::ExposeSecret;
/// use agentsec_runtime::identity::{AgentKeys, Environment, KeyError, MemoryKeyStore};
/// use agentsec_runtime::identity::keys::KeyOptions;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let keys = AgentKeys::new(Arc::new(MemoryKeyStore::new()), &[7u8; 32], Environment::Production)?;
/// let now = SystemTime::now();
/// let issued = keys.issue("support", KeyOptions::new(), now).await?;
/// assert!(issued.key.expose_secret().starts_with("ask_prod_"));
///
/// let caller = keys.authenticate(issued.key.expose_secret(), None, now).await?;
/// assert_eq!(caller.agent, "support");
///
/// keys.revoke(&issued.info.key_id, now).await?;
/// assert!(matches!(
///     keys.authenticate(issued.key.expose_secret(), None, now).await,
///     Err(KeyError::Revoked { .. })
/// ));
/// # Ok::<(), KeyError>(())
/// # }).unwrap();
/// ```
pub struct AgentKeys {
    store: Arc<dyn KeyStore>,
    hasher: KeyHasher,
    environment: Environment,
    rotation_overlap: Duration,
}

impl fmt::Debug for AgentKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentKeys")
            .field("environment", &self.environment)
            .field("rotation_overlap", &self.rotation_overlap)
            .finish_non_exhaustive()
    }
}

impl AgentKeys {
    /// A service over `store`, hashing with `pepper` (at least 32 bytes,
    /// kept outside the store: a secret of the deployment), serving
    /// `environment`.
    pub fn new(
        store: Arc<dyn KeyStore>,
        pepper: &[u8],
        environment: Environment,
    ) -> Result<Self, KeyError> {
        if pepper.len() < MIN_PEPPER_BYTES {
            return Err(KeyError::Config(format!(
                "the pepper is {} bytes; it must be at least {MIN_PEPPER_BYTES}",
                pepper.len()
            )));
        }
        let hasher =
            KeyHasher::new(pepper).ok_or_else(|| KeyError::Config("unusable pepper".into()))?;
        Ok(Self {
            store,
            hasher,
            environment,
            rotation_overlap: DEFAULT_ROTATION_OVERLAP,
        })
    }

    /// Sets how long a rotated key keeps working (default one hour, at most
    /// [`MAX_ROTATION_OVERLAP`]).
    pub fn with_rotation_overlap(mut self, overlap: Duration) -> Result<Self, KeyError> {
        if overlap > MAX_ROTATION_OVERLAP {
            return Err(KeyError::Config(format!(
                "rotation overlap {overlap:?} exceeds {MAX_ROTATION_OVERLAP:?}"
            )));
        }
        self.rotation_overlap = overlap;
        Ok(self)
    }

    /// The environment this service serves.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// Issues a key for `agent`. The returned key is the only copy.
    pub async fn issue(
        &self,
        agent: &str,
        options: KeyOptions,
        now: SystemTime,
    ) -> Result<IssuedKey, KeyError> {
        validate_agent_name(agent)?;
        let expires_at = match options.expires_in {
            Some(ttl) if ttl.is_zero() => {
                return Err(KeyError::InvalidRequest(
                    "a key cannot expire immediately".into(),
                ));
            }
            Some(ttl) => Some(
                now.checked_add(ttl)
                    .ok_or_else(|| KeyError::InvalidRequest("expiry is out of range".into()))?,
            ),
            None => None,
        };
        let environment = options.environment.unwrap_or(self.environment);
        self.insert_new(
            agent,
            environment,
            expires_at,
            options.allowed_networks,
            now,
        )
        .await
    }

    /// Every key of `agent`, oldest first, without secrets.
    pub async fn list(&self, agent: &str, now: SystemTime) -> Result<Vec<AgentKeyInfo>, KeyError> {
        let mut records = self.store.list_by_agent(agent).await?;
        records.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.key_id.cmp(&b.key_id))
        });
        Ok(records.iter().map(|r| r.info(now)).collect())
    }

    /// Replaces `key_id` with a new key for the same agent, environment and
    /// networks (and the same lifetime length, if it had one). The old key
    /// keeps working for the overlap window, then stops.
    pub async fn rotate(&self, key_id: &str, now: SystemTime) -> Result<IssuedKey, KeyError> {
        let old = self.get(key_id).await?;
        check_rotatable(&old, now)?;
        let lifetime = old
            .expires_at
            .and_then(|at| at.duration_since(old.created_at).ok());
        let expires_at = lifetime.and_then(|l| now.checked_add(l));
        let issued = self
            .insert_new(
                &old.agent,
                old.environment,
                expires_at,
                old.allowed_networks.clone(),
                now,
            )
            .await?;
        let new_id = issued.info.key_id.clone();
        let retires_at = now.checked_add(self.rotation_overlap).unwrap_or(now);

        let outcome = self
            .modify(key_id, |record| {
                check_rotatable(record, now)?;
                record.replaced_by = Some(new_id.clone());
                record.retires_at = Some(match record.retires_at {
                    Some(earlier) => earlier.min(retires_at),
                    None => retires_at,
                });
                Ok(())
            })
            .await;
        if let Err(error) = outcome {
            // The old key changed under us (revoked, rotated elsewhere): the
            // successor must not outlive the failed rotation.
            let _ = self
                .modify(&new_id, |record| {
                    record.revoked_at.get_or_insert(now);
                    Ok(())
                })
                .await;
            return Err(error);
        }
        Ok(issued)
    }

    /// Revokes `key_id` at once. Revoking twice keeps the first time.
    pub async fn revoke(&self, key_id: &str, now: SystemTime) -> Result<AgentKeyInfo, KeyError> {
        let record = self
            .modify(key_id, |record| {
                record.revoked_at.get_or_insert(now);
                Ok(())
            })
            .await?;
        Ok(record.info(now))
    }

    /// Makes `key_id` expire at `at` (now, or later). An expiry can only be
    /// brought forward, never pushed back: issue a new key instead.
    pub async fn expire(
        &self,
        key_id: &str,
        at: SystemTime,
        now: SystemTime,
    ) -> Result<AgentKeyInfo, KeyError> {
        let record = self
            .modify(key_id, |record| {
                record.expires_at = Some(record.expires_at.map_or(at, |old| old.min(at)));
                Ok(())
            })
            .await?;
        Ok(record.info(now))
    }

    /// Checks a presented key: its shape, its environment, its secret (in
    /// constant time), then revocation, expiry, rotation and the caller's
    /// address. The key's status is told only to callers who proved the
    /// secret.
    pub async fn authenticate(
        &self,
        presented: &str,
        caller: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<AgentPrincipal, KeyError> {
        let presented = presented.trim();
        if presented.is_empty() {
            return Err(KeyError::Missing);
        }
        let parsed = format::parse(presented).ok_or(KeyError::Malformed)?;
        if parsed.environment != self.environment {
            return Err(KeyError::WrongEnvironment {
                key: parsed.environment,
                runtime: self.environment,
            });
        }
        // Hash before the lookup so unknown ids cost the same work.
        let presented_hash = self.hasher.hash(parsed.key_id, parsed.secret);
        let record = self
            .store
            .get(parsed.key_id)
            .await?
            .ok_or_else(|| KeyError::UnknownKey {
                key_id: parsed.key_id.to_owned(),
            })?;
        if !format::hashes_match(&presented_hash, &record.secret_hash) {
            return Err(KeyError::InvalidSecret {
                key_id: record.key_id,
            });
        }
        // The prefix is only a hint; the record is the authority.
        if record.environment != self.environment {
            return Err(KeyError::WrongEnvironment {
                key: record.environment,
                runtime: self.environment,
            });
        }
        match record.status(now) {
            KeyStatus::Revoked => {
                return Err(KeyError::Revoked {
                    key_id: record.key_id,
                });
            }
            KeyStatus::Expired => {
                return Err(KeyError::Expired {
                    key_id: record.key_id,
                });
            }
            KeyStatus::Retired => {
                return Err(KeyError::RotatedOut {
                    replaced_by: record.replaced_by.unwrap_or_default(),
                    key_id: record.key_id,
                });
            }
            KeyStatus::Active | KeyStatus::Retiring { .. } => {}
        }
        if !record.allowed_networks.is_empty() {
            let allowed = caller.is_some_and(|ip| {
                let ip = ip.to_canonical();
                record.allowed_networks.iter().any(|net| net.contains(&ip))
            });
            if !allowed {
                return Err(KeyError::AddressNotAllowed {
                    key_id: record.key_id,
                    address: caller,
                });
            }
        }
        Ok(AgentPrincipal {
            agent: record.agent,
            key_id: record.key_id,
            environment: record.environment,
            retires_at: record.retires_at,
        })
    }

    async fn get(&self, key_id: &str) -> Result<AgentKeyRecord, KeyError> {
        self.store
            .get(key_id)
            .await?
            .ok_or_else(|| KeyError::UnknownKey {
                key_id: crate::identity::session::shorten_for_message(key_id),
            })
    }

    /// Read-modify-write with optimistic concurrency: a concurrent change
    /// (a revocation racing a rotation) is re-read and re-applied, never
    /// overwritten.
    async fn modify(
        &self,
        key_id: &str,
        change: impl Fn(&mut AgentKeyRecord) -> Result<(), KeyError>,
    ) -> Result<AgentKeyRecord, KeyError> {
        let mut last = KeyStoreError::Conflict(key_id.to_owned());
        for _ in 0..UPDATE_ATTEMPTS {
            let mut record = self.get(key_id).await?;
            change(&mut record)?;
            match self.store.update(record.clone()).await {
                Ok(()) => {
                    record.version += 1;
                    return Ok(record);
                }
                Err(conflict @ KeyStoreError::Conflict(_)) => last = conflict,
                Err(other) => return Err(other.into()),
            }
        }
        Err(last.into())
    }

    async fn insert_new(
        &self,
        agent: &str,
        environment: Environment,
        expires_at: Option<SystemTime>,
        allowed_networks: Vec<IpNet>,
        now: SystemTime,
    ) -> Result<IssuedKey, KeyError> {
        let (key_id, secret) = format::generate();
        let key = SecretString::from(format::format_key(environment, &key_id, &secret));
        let record = AgentKeyRecord {
            secret_hash: self.hasher.hash(&key_id, &secret),
            key_id,
            agent: agent.to_owned(),
            environment,
            created_at: now,
            expires_at,
            allowed_networks,
            revoked_at: None,
            retires_at: None,
            replaced_by: None,
            version: 0,
        };
        let info = record.info(now);
        self.store.insert(record).await?;
        Ok(IssuedKey { key, info })
    }
}

fn check_rotatable(record: &AgentKeyRecord, now: SystemTime) -> Result<(), KeyError> {
    let key_id = record.key_id.clone();
    if let Some(replaced_by) = &record.replaced_by {
        return Err(KeyError::AlreadyRotated {
            key_id,
            replaced_by: replaced_by.clone(),
        });
    }
    match record.status(now) {
        KeyStatus::Revoked => Err(KeyError::Revoked { key_id }),
        KeyStatus::Expired => Err(KeyError::Expired { key_id }),
        KeyStatus::Retired | KeyStatus::Active | KeyStatus::Retiring { .. } => Ok(()),
    }
}

fn validate_agent_name(agent: &str) -> Result<(), KeyError> {
    if agent.trim().is_empty()
        || agent.len() > MAX_AGENT_NAME
        || agent.chars().any(char::is_control)
    {
        return Err(KeyError::InvalidRequest(format!(
            "an agent name is 1 to {MAX_AGENT_NAME} printable characters"
        )));
    }
    Ok(())
}
