//! Who is acting: the user a run acts for, the agent that executes, and the
//! ids of runs and tool calls.
//!
//! Identity has layers (see the reference guide): the *user* who initiated a
//! request ([`UserIdentity`], established from the application's session
//! token by a [`JwtAuthenticator`]), the *agent* definition that executes
//! (authenticated by its own invocation key, see [`AgentKeys`]), the *run*
//! (one execution) and the *tool call* at a given step. Each layer has its
//! own type here so they cannot be confused, and all of them travel in every
//! span, record, grant and event.

mod ids;
pub mod keys;
pub mod session;
mod user;

pub use ids::{CallId, RunId};
pub use keys::{
    AgentKeys, AgentPrincipal, Environment, IssuedKey, KeyError, KeyOptions, KeyStore,
    KeyStoreError, MemoryKeyStore, RunStoreKeys,
};
pub use session::{AuthError, JwtAlgorithm, JwtAuthenticator, JwtAuthenticatorBuilder};
pub use user::UserIdentity;
