//! The engine: runs agents.
//!
//! An [`Agent`] is a spec (name, prompt, tools, limits, budget) and a set of
//! tools. The engine runs it for an authenticated user as a state machine
//! whose every state is a serializable value.

mod call;
mod spec;

pub use call::{AgentCall, NoToolCall, StoredCall, TypedCall};

pub use spec::{Agent, AgentSpec, has_lethal_trifecta, reads_private_and_untrusted};
