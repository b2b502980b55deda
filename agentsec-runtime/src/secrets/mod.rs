//! Secrets: where tools get `#[secret("name")]` values from.
//!
//! Secrets are [`SecretString`]s from a [`SecretStore`]; they never pass
//! through the model, and the tool macros refuse to compile code that takes a
//! secret as a model-visible argument or hard-codes a credential.
//!
//! [`patterns::find_credentials`] recognises credential-shaped strings:
//!
//! ```
//! use agentsec_runtime::secrets::patterns::{find_credentials, CredentialKind};
//! let found = find_credentials("key=sk-proj-abcdefghijklmnopqrstuvwx1234 ok");
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].kind, CredentialKind::SkApiKey);
//! assert!(find_credentials("the word sk-etch is fine").is_empty());
//! ```

pub mod patterns;
mod store;

pub use secrecy::{ExposeSecret, SecretString};
pub use store::{MemorySecretStore, SecretError, SecretStore};
