use std::collections::HashMap;
use std::sync::RwLock;

use super::{AgentKeyRecord, KeyStoreError};
use crate::BoxFuture;

/// Where agent key records live. Small on purpose: a durable implementation
/// (SQLite, PostgreSQL) needs four statements.
///
/// ```
/// use agentsec_runtime::identity::{KeyStore, MemoryKeyStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryKeyStore::new();
/// assert!(store.get("0123456789abcdef").await.unwrap().is_none());
/// assert!(store.list_by_agent("support").await.unwrap().is_empty());
/// # });
/// ```
pub trait KeyStore: Send + Sync + 'static {
    /// Stores a new record; [`KeyStoreError::Duplicate`] if its id exists.
    fn insert<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>>;

    /// The record with `key_id`, if any.
    fn get<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AgentKeyRecord>, KeyStoreError>>;

    /// Every record of `agent`, in any order.
    fn list_by_agent<'a>(
        &'a self,
        agent: &'a str,
    ) -> BoxFuture<'a, Result<Vec<AgentKeyRecord>, KeyStoreError>>;

    /// Replaces the stored record with the same id, only if the stored
    /// version still equals `record.version` (the version it was read at);
    /// the stored copy then gets `version + 1`. Otherwise
    /// [`KeyStoreError::Conflict`] (or [`KeyStoreError::NotFound`]).
    /// In SQL: `UPDATE ... SET ..., version = version + 1 WHERE key_id = ? AND version = ?`.
    fn update<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>>;
}

/// Agent key records in memory: for tests, examples and single-process use.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    records: RwLock<HashMap<String, AgentKeyRecord>>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KeyStore for MemoryKeyStore {
    fn insert<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>> {
        let mut records = self.records.write().unwrap_or_else(|p| p.into_inner());
        let result = if records.contains_key(&record.key_id) {
            Err(KeyStoreError::Duplicate(record.key_id))
        } else {
            records.insert(record.key_id.clone(), record);
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn get<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AgentKeyRecord>, KeyStoreError>> {
        let record = self
            .records
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key_id)
            .cloned();
        Box::pin(async move { Ok(record) })
    }

    fn list_by_agent<'a>(
        &'a self,
        agent: &'a str,
    ) -> BoxFuture<'a, Result<Vec<AgentKeyRecord>, KeyStoreError>> {
        let records: Vec<AgentKeyRecord> = self
            .records
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|r| r.agent == agent)
            .cloned()
            .collect();
        Box::pin(async move { Ok(records) })
    }

    fn update<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>> {
        let mut records = self.records.write().unwrap_or_else(|p| p.into_inner());
        let result = match records.get_mut(&record.key_id) {
            None => Err(KeyStoreError::NotFound(record.key_id)),
            Some(stored) if stored.version != record.version => {
                Err(KeyStoreError::Conflict(record.key_id))
            }
            Some(stored) => {
                let version = record.version + 1;
                *stored = AgentKeyRecord { version, ..record };
                Ok(())
            }
        };
        Box::pin(async move { result })
    }
}
