use std::collections::HashMap;
use std::sync::RwLock;

use secrecy::SecretString;

use super::{SecretError, SecretStore};
use crate::BoxFuture;

/// Secrets held in memory: for tests and examples.
#[derive(Default)]
pub struct MemorySecretStore {
    values: RwLock<HashMap<String, String>>,
}

impl MemorySecretStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret (builder style).
    pub fn with(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(name, value);
        self
    }

    /// Adds or replaces a secret.
    pub fn insert(&self, name: impl Into<String>, value: impl Into<String>) {
        self.values
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.into(), value.into());
    }
}

impl std::fmt::Debug for MemorySecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .values
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        f.debug_struct("MemorySecretStore")
            .field("names", &names)
            .finish()
    }
}

impl SecretStore for MemorySecretStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, SecretError>> {
        let value = self
            .values
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .map(|v| SecretString::from(v.clone()));
        Box::pin(async move { Ok(value) })
    }
}
