//! Agent key records kept in a [`RunStore`]: the same SQLite file or
//! PostgreSQL database as runs and the audit log.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AgentKeyRecord, Environment, KeyStore, KeyStoreError};
use crate::BoxFuture;
use crate::store::{self, RunStore, StoreError, UnixMillis};

/// Serializes compare-and-swap updates within this process (see
/// [`RunStoreKeys`]). Key updates are rare (rotation, revocation), so one
/// lock for every store costs nothing.
static UPDATE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A [`KeyStore`] over a [`RunStore`]'s agent keys, so keys survive restarts
/// in the embedded SQLite file or the production PostgreSQL database.
///
/// Field mapping (identity record → store record): the secret's hash as
/// lower-case hex in `hash`; the environment by its tag (`prod`, `staging`,
/// `dev`) in `environment`; times in milliseconds; `retires_at` in
/// `overlap_until`; `rotated_at` is set when the rotation is written. The
/// store has no column for the successor's id nor the record's version, so
/// its JSON column `cidrs` holds an object
/// `{"networks": [...], "replaced_by": ..., "version": n}`; a plain array of
/// CIDRs (as another writer may store) reads as networks at version 0.
///
/// [`update`](KeyStore::update) is compare-and-swap on `version`. The store's
/// own update is unconditional, so the comparison and the write happen under
/// a process-wide lock: exact within one process, but two processes sharing
/// a database could interleave (the store needs a conditional update on a
/// version column to close that gap).
///
/// ```
/// use std::sync::Arc;
/// use std::time::SystemTime;
/// use agentsec_runtime::ExposeSecret;
/// use agentsec_runtime::identity::keys::{KeyOptions, RunStoreKeys};
/// use agentsec_runtime::identity::{AgentKeys, Environment};
/// use agentsec_runtime::store::SqliteStore;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Arc::new(SqliteStore::open_in_memory().await?);
/// let keys = AgentKeys::new(Arc::new(RunStoreKeys::new(store)), &[7u8; 32], Environment::Production)?;
/// let now = SystemTime::now();
/// let issued = keys.issue("support", KeyOptions::new(), now).await?;
/// let caller = keys.authenticate(issued.key.expose_secret(), None, now).await?;
/// assert_eq!(caller.agent, "support");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct RunStoreKeys {
    store: Arc<dyn RunStore>,
}

impl std::fmt::Debug for RunStoreKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunStoreKeys")
            .field("store", &self.store.kind())
            .finish()
    }
}

impl RunStoreKeys {
    /// Agent keys kept in `store`.
    pub fn new(store: Arc<dyn RunStore>) -> Self {
        Self { store }
    }

    async fn cas_update(&self, record: AgentKeyRecord) -> Result<(), KeyStoreError> {
        let _serialized = UPDATE_LOCK.lock().await;
        let stored = self
            .store
            .get_agent_key(&record.key_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| KeyStoreError::NotFound(record.key_id.clone()))?;
        let stored = from_store(stored)?;
        if stored.record.version != record.version {
            return Err(KeyStoreError::Conflict(record.key_id));
        }
        let rotated_at = match stored.rotated_at {
            Some(at) => Some(at),
            None if record.replaced_by.is_some() => Some(UnixMillis::now()),
            None => None,
        };
        let next = AgentKeyRecord {
            version: record.version + 1,
            ..record
        };
        let mut row = to_store(&next)?;
        row.rotated_at = rotated_at;
        self.store.update_agent_key(&row).await.map_err(store_error)
    }
}

impl KeyStore for RunStoreKeys {
    fn insert<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>> {
        Box::pin(async move {
            let row = to_store(&record)?;
            self.store.insert_agent_key(&row).await.map_err(store_error)
        })
    }

    fn get<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AgentKeyRecord>, KeyStoreError>> {
        Box::pin(async move {
            let row = self
                .store
                .get_agent_key(key_id)
                .await
                .map_err(store_error)?;
            Ok(row.map(from_store).transpose()?.map(|r| r.record))
        })
    }

    fn list_by_agent<'a>(
        &'a self,
        agent: &'a str,
    ) -> BoxFuture<'a, Result<Vec<AgentKeyRecord>, KeyStoreError>> {
        Box::pin(async move {
            let rows = self
                .store
                .list_agent_keys(Some(agent))
                .await
                .map_err(store_error)?;
            rows.into_iter()
                .map(|row| from_store(row).map(|r| r.record))
                .collect()
        })
    }

    fn update<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>> {
        Box::pin(self.cas_update(record))
    }
}

/// What the store's JSON column holds besides the networks.
#[derive(Serialize, Deserialize)]
struct Extras {
    networks: Vec<String>,
    #[serde(default)]
    replaced_by: Option<String>,
    #[serde(default)]
    version: u64,
}

/// A decoded row: the identity record and the store-only rotation time.
struct Decoded {
    record: AgentKeyRecord,
    rotated_at: Option<UnixMillis>,
}

fn to_store(record: &AgentKeyRecord) -> Result<store::AgentKeyRecord, KeyStoreError> {
    let millis = |t: SystemTime| to_millis(t, &record.key_id);
    let extras = Extras {
        networks: record
            .allowed_networks
            .iter()
            .map(ToString::to_string)
            .collect(),
        replaced_by: record.replaced_by.clone(),
        version: record.version,
    };
    Ok(store::AgentKeyRecord {
        key_id: record.key_id.clone(),
        agent: record.agent.clone(),
        environment: record.environment.tag().to_owned(),
        hash: hex::encode(record.secret_hash),
        created_at: millis(record.created_at)?,
        expires_at: record.expires_at.map(millis).transpose()?,
        revoked_at: record.revoked_at.map(millis).transpose()?,
        rotated_at: None,
        overlap_until: record.retires_at.map(millis).transpose()?,
        cidrs: serde_json::to_value(extras).map_err(|e| corrupt(&record.key_id, &e))?,
    })
}

fn from_store(row: store::AgentKeyRecord) -> Result<Decoded, KeyStoreError> {
    let key_id = row.key_id;
    let bad = |what: &dyn std::fmt::Display| corrupt(&key_id, what);
    let environment: Environment = row.environment.parse().map_err(|e: String| bad(&e))?;
    let mut secret_hash = [0u8; 32];
    hex::decode_to_slice(&row.hash, &mut secret_hash)
        .map_err(|e| bad(&format!("the hash is not 32 bytes of hex: {e}")))?;
    let extras = match row.cidrs {
        Value::Array(_) => Extras {
            networks: serde_json::from_value(row.cidrs).map_err(|e| bad(&e))?,
            replaced_by: None,
            version: 0,
        },
        Value::Object(_) => serde_json::from_value(row.cidrs).map_err(|e| bad(&e))?,
        other => return Err(bad(&format!("unexpected networks value {other}"))),
    };
    let allowed_networks = extras
        .networks
        .iter()
        .map(|n| n.parse::<IpNet>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    let time =
        |t: UnixMillis| from_millis(t).ok_or_else(|| bad(&format!("time {t} is out of range")));
    let record = AgentKeyRecord {
        agent: row.agent,
        environment,
        secret_hash,
        created_at: time(row.created_at)?,
        expires_at: row.expires_at.map(time).transpose()?,
        allowed_networks,
        revoked_at: row.revoked_at.map(time).transpose()?,
        retires_at: row.overlap_until.map(time).transpose()?,
        replaced_by: extras.replaced_by,
        version: extras.version,
        key_id: key_id.clone(),
    };
    Ok(Decoded {
        record,
        rotated_at: row.rotated_at,
    })
}

fn to_millis(t: SystemTime, key_id: &str) -> Result<UnixMillis, KeyStoreError> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .map(UnixMillis)
        .ok_or_else(|| corrupt(key_id, &"a time before 1970 cannot be stored"))
}

fn from_millis(t: UnixMillis) -> Option<SystemTime> {
    let millis = u64::try_from(t.0).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_millis(millis))
}

fn corrupt(key_id: &str, what: &dyn std::fmt::Display) -> KeyStoreError {
    KeyStoreError::Backend(format!("agent key `{key_id}`: {what}"))
}

fn store_error(error: StoreError) -> KeyStoreError {
    match error {
        StoreError::Duplicate { key, .. } => KeyStoreError::Duplicate(key),
        StoreError::NotFound { key, .. } => KeyStoreError::NotFound(key),
        other => KeyStoreError::Backend(other.to_string()),
    }
}
