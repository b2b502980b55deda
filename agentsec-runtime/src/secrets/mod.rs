//! Secrets: where tools get `#[secret("name")]` values from, and how those
//! values are kept out of everything a run writes or sends.
//!
//! - [`SecretStore`]: the source of secret values. Secrets are
//!   [`SecretString`]s; they never pass through the model, and the tool macros
//!   refuse to compile code that takes a secret as a model-visible argument
//!   or hard-codes a credential. Implementations: [`EnvSecretStore`],
//!   [`FileSecretStore`], [`MemorySecretStore`], [`ChainedSecretStore`];
//!   [`SecretStoreConfig`] picks one per environment from a string.
//! - [`redact`]: the per-run [`Redactor`] that scrubs every secret fetched
//!   during a run (and credential-shaped strings) from text, JSON and logs.
//! - [`sealed`]: [`Sealed<T>`], a value encrypted under a key from the store,
//!   for sensitive inputs that must pass through stored state or logs.
//! - [`output`]: the check of a final answer or outgoing message for leaked
//!   secrets and exfiltration links.

pub mod output;
pub mod patterns;
pub mod redact;
pub mod sealed;
mod store;

pub use output::{OutputCheck, OutputChecker, OutputFinding};
pub use redact::{RedactingStore, Redactor};
pub use sealed::{SealError, Sealed};
pub use secrecy::{ExposeSecret, SecretString};
pub use store::{
    ChainedSecretStore, EnvSecretStore, FileSecretStore, MAX_SECRET_FILE_BYTES, MemorySecretStore,
    SecretError, SecretFuture, SecretStore, SecretStoreConfig, SecretStoreConfigError,
};
