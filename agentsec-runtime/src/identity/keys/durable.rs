//! Agent key records kept in a [`RunStore`]: the same SQLite file or
//! PostgreSQL database as runs and the audit log.

use std::sync::Arc;

use super::{AgentKeyRecord, KeyStore, KeyStoreError};
use crate::BoxFuture;
use crate::store::{RunStore, StoreError};

/// A [`KeyStore`] over a [`RunStore`]'s agent keys, so keys survive restarts
/// in the embedded SQLite file or the production PostgreSQL database.
///
/// The store keeps the one [`AgentKeyRecord`] type in columns of its own
/// (`version` and `replaced_by` included; `cidrs` holds the networks), and
/// [`update`](KeyStore::update) is a compare-and-swap in the database
/// (`UPDATE ... WHERE version = $n`): exact across processes sharing it.
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
}

impl KeyStore for RunStoreKeys {
    fn insert<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>> {
        Box::pin(async move {
            self.store
                .insert_agent_key(&record)
                .await
                .map_err(store_error)
        })
    }

    fn get<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AgentKeyRecord>, KeyStoreError>> {
        Box::pin(async move { self.store.get_agent_key(key_id).await.map_err(store_error) })
    }

    fn list_by_agent<'a>(
        &'a self,
        agent: &'a str,
    ) -> BoxFuture<'a, Result<Vec<AgentKeyRecord>, KeyStoreError>> {
        Box::pin(async move {
            self.store
                .list_agent_keys(Some(agent))
                .await
                .map_err(store_error)
        })
    }

    /// The compare-and-swap runs in the database (`UPDATE ... WHERE version
    /// = $n`), so it holds between processes — the CLI revoking while a
    /// service rotates.
    fn update<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>> {
        Box::pin(async move {
            self.store
                .update_agent_key(&record)
                .await
                .map_err(store_error)
        })
    }
}

fn store_error(error: StoreError) -> KeyStoreError {
    match error {
        StoreError::Duplicate { key, .. } => KeyStoreError::Duplicate(key),
        StoreError::NotFound { key, .. } => KeyStoreError::NotFound(key),
        StoreError::KeyConflict { key_id } => KeyStoreError::Conflict(key_id),
        other => KeyStoreError::Backend(other.to_string()),
    }
}
