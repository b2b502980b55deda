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
//!
//! [`patterns::find_credentials`] recognises credential-shaped strings:
//!
//! ```
//! use agentsec_runtime::secrets::patterns::{find_credentials, find_credentials_in_bytes, CredentialKind};
//! let found = find_credentials("key=sk-proj-abcdefghijklmnopqrstuvwx1234 ok");
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].kind, CredentialKind::SkApiKey);
//! assert!(find_credentials("the word sk-etch is fine").is_empty());
//! let found = find_credentials_in_bytes(b"\xff AKIAIOSFODNN7EXAMPLE");
//! assert_eq!((found[0].start, found[0].end), (2, 22));
//! ```

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
    SecretError, SecretStore, SecretStoreConfig, SecretStoreConfigError,
};
