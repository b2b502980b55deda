use std::net::IpAddr;

use super::Environment;

/// A [`KeyStore`](super::KeyStore) failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// A record with this key id already exists.
    #[error("agent key `{0}` already exists")]
    Duplicate(String),
    /// No record has this key id.
    #[error("agent key `{0}` does not exist")]
    NotFound(String),
    /// The record changed since it was read (its version moved on).
    #[error("agent key `{0}` was changed concurrently")]
    Conflict(String),
    /// The backing store failed.
    #[error("key store failure: {0}")]
    Backend(String),
}

/// Why an agent key was refused or a key operation failed.
///
/// Messages name key ids (which are not secret and appear in listings) but
/// never a key's secret part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No key was presented.
    #[error("no agent key was presented")]
    Missing,
    /// The presented value is not shaped like an agent key.
    #[error("the agent key is malformed: expected ask_<environment>_<key id>_<secret>")]
    Malformed,
    /// The key belongs to another environment than the runtime's.
    #[error("this is a {key} agent key; this runtime serves {runtime} and refuses it")]
    WrongEnvironment {
        /// The key's environment.
        key: Environment,
        /// The runtime's environment.
        runtime: Environment,
    },
    /// No key has this id.
    #[error("agent key `{key_id}` is unknown")]
    UnknownKey {
        /// The presented key id.
        key_id: String,
    },
    /// The key id exists but the secret does not match.
    #[error("agent key `{key_id}` was presented with a wrong secret")]
    InvalidSecret {
        /// The key id.
        key_id: String,
    },
    /// The key was revoked.
    #[error("agent key `{key_id}` was revoked")]
    Revoked {
        /// The key id.
        key_id: String,
    },
    /// The key is past its expiry.
    #[error("agent key `{key_id}` has expired")]
    Expired {
        /// The key id.
        key_id: String,
    },
    /// The key was rotated and its overlap window is over.
    #[error("agent key `{key_id}` was rotated; use its successor `{replaced_by}`")]
    RotatedOut {
        /// The key id.
        key_id: String,
        /// The key that replaced it.
        replaced_by: String,
    },
    /// The key was already rotated; rotate its successor instead.
    #[error("agent key `{key_id}` was already rotated to `{replaced_by}`")]
    AlreadyRotated {
        /// The key id.
        key_id: String,
        /// The key that replaced it.
        replaced_by: String,
    },
    /// The caller's address is outside the key's allowlist.
    #[error("agent key `{key_id}` may not be used from {}", address.map_or_else(|| "an unknown address".to_owned(), |a| a.to_string()))]
    AddressNotAllowed {
        /// The key id.
        key_id: String,
        /// The caller's address, if known.
        address: Option<IpAddr>,
    },
    /// A request to issue or change a key is invalid.
    #[error("invalid agent key request: {0}")]
    InvalidRequest(String),
    /// The service's configuration is unacceptable.
    #[error("invalid agent key configuration: {0}")]
    Config(String),
    /// The key store failed.
    #[error(transparent)]
    Store(#[from] KeyStoreError),
}
