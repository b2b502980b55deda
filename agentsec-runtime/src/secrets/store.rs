use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;

use secrecy::SecretString;

/// A boxed future returned by [`SecretStore`] methods.
pub type SecretFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The backing store failed (I/O, network, permissions).
    #[error("secret store `{store}` failed to read `{name}`: {message}")]
    Backend {
        /// Which store.
        store: &'static str,
        /// Which secret.
        name: String,
        /// What failed (never the secret's value).
        message: String,
    },
}

/// A source of secrets: environment, mounted files, a vault.
///
/// ```
/// use agentsec_runtime::secrets::{ExposeSecret, MemorySecretStore, SecretStore};
/// # tokio_test_block_on(async {
/// let store = MemorySecretStore::new().with("stripe_api_key", "sk_test_123");
/// let key = store.get("stripe_api_key").await.unwrap().unwrap();
/// assert_eq!(key.expose_secret(), "sk_test_123");
/// assert!(store.get("missing").await.unwrap().is_none());
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub trait SecretStore: Send + Sync + 'static {
    /// A short name for the store, for error messages.
    fn kind(&self) -> &'static str;

    /// The secret called `name`, or `None` when the store does not have it.
    fn get<'a>(&'a self, name: &'a str) -> SecretFuture<'a, Result<Option<SecretString>, SecretError>>;
}

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

    fn get<'a>(&'a self, name: &'a str) -> SecretFuture<'a, Result<Option<SecretString>, SecretError>> {
        let value = self
            .values
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .map(|v| SecretString::from(v.clone()));
        Box::pin(async move { Ok(value) })
    }
}
