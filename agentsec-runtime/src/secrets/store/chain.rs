use secrecy::SecretString;

use super::{SecretError, SecretStore};
use crate::BoxFuture;

/// Several stores asked in order: the first that has the name wins.
///
/// An error from a store stops the search and is returned: falling through
/// to a lower-priority store on failure would silently serve a different
/// (perhaps stale or development) value.
///
/// ```
/// use agentsec_runtime::secrets::{ChainedSecretStore, ExposeSecret, MemorySecretStore, SecretStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = ChainedSecretStore::new()
///     .with(MemorySecretStore::new().with("a", "from-first"))
///     .with(MemorySecretStore::new().with("a", "from-second").with("b", "only-second"));
/// assert_eq!(store.get("a").await.unwrap().unwrap().expose_secret(), "from-first");
/// assert_eq!(store.get("b").await.unwrap().unwrap().expose_secret(), "only-second");
/// assert!(store.get("c").await.unwrap().is_none());
/// # });
/// ```
#[derive(Default)]
pub struct ChainedSecretStore {
    stores: Vec<Box<dyn SecretStore>>,
}

impl ChainedSecretStore {
    /// An empty chain (it has no secrets).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a store, asked after the ones already in the chain.
    pub fn with(mut self, store: impl SecretStore) -> Self {
        self.push(Box::new(store));
        self
    }

    /// Appends a boxed store, asked after the ones already in the chain.
    pub fn push(&mut self, store: Box<dyn SecretStore>) {
        self.stores.push(store);
    }

    /// How many stores the chain asks.
    pub fn len(&self) -> usize {
        self.stores.len()
    }

    /// Whether the chain has no stores.
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }
}

impl std::fmt::Debug for ChainedSecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<&str> = self.stores.iter().map(|s| s.kind()).collect();
        f.debug_struct("ChainedSecretStore")
            .field("stores", &kinds)
            .finish()
    }
}

impl SecretStore for ChainedSecretStore {
    fn kind(&self) -> &'static str {
        "chain"
    }

    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, SecretError>> {
        Box::pin(async move {
            for store in &self.stores {
                if let Some(value) = store.get(name).await? {
                    return Ok(Some(value));
                }
            }
            Ok(None)
        })
    }
}
