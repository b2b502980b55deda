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
//!
//! Durable runs: [`StoreCheckpoints`] saves states in a
//! [`RunStore`](crate::store::RunStore) (SQLite, PostgreSQL) with
//! compare-and-swap, a step record per transition, one approval row per call
//! waiting for a person, and the intents that make approved calls run
//! exactly once. A [`Worker`] claims runnable runs under leases and drives
//! them; people's decisions come through [`crate::hitl::Approvals`].

mod checkpoint;
mod durable;
mod lease;
mod legacy;
mod once;
mod protect;
mod request;
mod resume;
mod run_loop;
mod runtime;
mod spec;
mod state;
mod worker;

pub use checkpoint::{
    CallIntent, CheckpointError, Checkpoints, IntentBegin, IntentOutcome, MemoryCheckpoints,
    RecordedIntent,
};
pub use durable::StoreCheckpoints;
pub use lease::LeaseGuard;
pub use resume::Resolution;
pub use runtime::{AgentRuntime, AgentRuntimeBuilder, EngineError, RunReport};
pub use spec::{Agent, AgentSpec, has_lethal_trifecta, reads_private_and_untrusted};
pub use state::{
    ArgumentEdit, CallStatus, HaltReason, PendingCall, Phase, RunGuard, RunOutcome, RunState,
};
pub use worker::{RunDriver, Worker, WorkerReport};
