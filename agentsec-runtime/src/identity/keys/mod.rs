//! Agent identity: per-agent invocation keys.
//!
//! The backend that invokes an agent proves *which agent* it is invoking
//! with a key issued for that agent alone (see the reference guide: "issue
//! per-agent credentials, not one shared key"). Keys are bound to an
//! [`Environment`], may be limited to caller networks, expire, rotate with an
//! overlap window, and are revoked at once. [`AgentKeys`] implements all of
//! it over a small [`KeyStore`]: [`MemoryKeyStore`] in memory, or
//! [`RunStoreKeys`] in the durable [`RunStore`](crate::store::RunStore).

mod durable;
mod environment;
mod error;
mod format;
mod options;
mod record;
mod service;
mod store;

pub use durable::RunStoreKeys;
pub use environment::Environment;
pub use error::{KeyError, KeyStoreError};
pub use options::{AgentPrincipal, IssuedKey, KeyOptions};
pub use record::{AgentKeyInfo, AgentKeyRecord, KeyStatus};
pub use service::{AgentKeys, DEFAULT_ROTATION_OVERLAP, MAX_ROTATION_OVERLAP};
pub use store::{KeyStore, MemoryKeyStore};
