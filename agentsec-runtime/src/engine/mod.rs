//! The engine: runs agents as durable state machines.
//!
//! An [`Agent`] is a spec (name, prompt, tools, limits, budget) and a set of
//! tools. An [`AgentRuntime`] runs it for an authenticated user: screen the
//! input → call the model with the system prompt, the history and the tools'
//! schemas → for each proposed call: refuse unknown tools and bad arguments
//! back to the model, ask the policy, pause for approval if the call is
//! irreversible, otherwise execute it under a freshly minted grant → repeat
//! until the model answers or a limit is hit. Every state is a serializable
//! [`RunState`], saved to [`Checkpoints`] before the next step starts.

mod call;
mod checkpoint;
mod protect;
mod run_loop;
mod runtime;
mod spec;
mod state;

pub use call::{AgentCall, NoToolCall, StoredCall, TypedCall};
pub use checkpoint::{CheckpointError, Checkpoints, MemoryCheckpoints};
pub use runtime::{AgentRuntime, AgentRuntimeBuilder, EngineError, RunReport};
pub use spec::{Agent, AgentSpec, has_lethal_trifecta, reads_private_and_untrusted};
pub use state::{
    ApprovalDecision, CallStatus, HaltReason, PendingCall, Phase, RunGuard, RunOutcome, RunState,
};
