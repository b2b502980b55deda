use secrecy::{ExposeSecret, SecretString};

use super::Redactor;
use crate::BoxFuture;
use crate::secrets::{SecretError, SecretStore};

/// A [`SecretStore`] that registers every value it hands out with a
/// [`Redactor`], so nothing fetched during a run can leak through text the
/// run writes.
///
/// ```
/// use agentsec_runtime::secrets::{MemorySecretStore, RedactingStore, Redactor, SecretStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let redactor = Redactor::new();
/// let store = RedactingStore::new(
///     MemorySecretStore::new().with("stripe_api_key", "rk_live_0123456789"),
///     redactor.clone(),
/// );
/// assert_eq!(redactor.redact_str("rk_live_0123456789"), "rk_live_0123456789");
/// let _key = store.get("stripe_api_key").await.unwrap().unwrap();
/// assert_eq!(redactor.redact_str("rk_live_0123456789"), "[REDACTED:stripe_api_key]");
/// # });
/// ```
#[derive(Debug)]
pub struct RedactingStore<S> {
    inner: S,
    redactor: Redactor,
}

impl<S: SecretStore> RedactingStore<S> {
    /// Wraps `inner`; values it returns are registered with `redactor`.
    pub fn new(inner: S, redactor: Redactor) -> Self {
        Self { inner, redactor }
    }

    /// The redactor values are registered with.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: SecretStore> SecretStore for RedactingStore<S> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, SecretError>> {
        Box::pin(async move {
            let value = self.inner.get(name).await?;
            if let Some(secret) = &value {
                // Registration happens before the value is handed out.
                let _ = self.redactor.register(name, secret.expose_secret());
            }
            Ok(value)
        })
    }
}
