//! The [`SecretStore`] trait and its implementations.

mod chain;
mod config;
mod env;
mod file;
mod memory;

use std::sync::Arc;

use secrecy::SecretString;

use crate::BoxFuture;

pub use chain::ChainedSecretStore;
pub use config::{SecretStoreConfig, SecretStoreConfigError};
pub use env::EnvSecretStore;
pub use file::{FileSecretStore, MAX_SECRET_FILE_BYTES};
pub use memory::MemorySecretStore;

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
    /// The name cannot be used with this store (for example it contains a
    /// path separator, or a character an environment variable cannot hold).
    #[error("secret store `{store}` refuses the name `{name}`: {reason}")]
    InvalidName {
        /// Which store.
        store: &'static str,
        /// The refused name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Reading the secret failed with an I/O error other than "not found".
    #[error("secret store `{store}` could not read `{name}`: {source}")]
    Io {
        /// Which store.
        store: &'static str,
        /// Which secret.
        name: String,
        /// The underlying error (it never contains the secret's value).
        #[source]
        source: std::io::Error,
    },
    /// The stored value is not valid UTF-8.
    #[error("secret store `{store}` holds a value for `{name}` that is not UTF-8")]
    NotUtf8 {
        /// Which store.
        store: &'static str,
        /// Which secret.
        name: String,
    },
    /// The stored value is larger than the store accepts.
    #[error("secret store `{store}` holds a value for `{name}` larger than {limit} bytes")]
    TooLarge {
        /// Which store.
        store: &'static str,
        /// Which secret.
        name: String,
        /// The limit in bytes.
        limit: usize,
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
    fn get<'a>(&'a self, name: &'a str)
    -> BoxFuture<'a, Result<Option<SecretString>, SecretError>>;
}

impl<S: SecretStore + ?Sized> SecretStore for Arc<S> {
    fn kind(&self) -> &'static str {
        (**self).kind()
    }

    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, SecretError>> {
        (**self).get(name)
    }
}

impl<S: SecretStore + ?Sized> SecretStore for Box<S> {
    fn kind(&self) -> &'static str {
        (**self).kind()
    }

    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, SecretError>> {
        (**self).get(name)
    }
}
