//! Who is acting: the user a run acts for, and the ids of runs and tool calls.
//!
//! Identity has layers (see the reference guide): the *user* who initiated a
//! request, the *agent* definition that executes, the *run* (one execution)
//! and the *tool call* at a given step. Each layer has its own type here so
//! they cannot be confused, and all of them travel in every span, record,
//! grant and event.

mod ids;
mod user;

pub use ids::{CallId, RunId};
pub use user::UserIdentity;
