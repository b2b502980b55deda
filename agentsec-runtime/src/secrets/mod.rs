//! Secrets: where tools get `#[secret("name")]` values from.
//!
//! Secrets are [`SecretString`]s from a [`SecretStore`]; they never pass
//! through the model, and the tool macros refuse to compile code that takes a
//! secret as a model-visible argument or hard-codes a credential.

pub mod patterns;
mod store;

pub use secrecy::{ExposeSecret, SecretString};
pub use store::{MemorySecretStore, SecretError, SecretStore};
