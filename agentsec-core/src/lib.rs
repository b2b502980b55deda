//! # agentsec-core
//!
//! What the agentsec macros and runtime must agree on, in one place: the spec
//! types of tools and agents, the rules over them (as `const fn`, so the
//! macros assert them at compile time and the runtime checks the same
//! functions for hand-written tools), the identity-argument names, the
//! credential patterns, the did-you-mean and the canonical JSON an approval
//! is bound to. No I/O, no async: a leaf crate.
//!
//! Use it through `agentsec` (or `agentsec-runtime`), which re-export it.
#![warn(missing_docs)]

pub mod agent;
pub mod canonical;
pub mod credentials;
pub mod identity_args;
pub mod rules;
pub mod sink;
pub mod suggest;
pub mod tool;

pub use agent::{AgentSpec, BudgetSpec, has_lethal_trifecta, reads_private_and_untrusted};
pub use canonical::{args_digest, canonical_digest, canonical_json};
pub use rules::{AgentRule, ToolRule, is_valid_tool_name};
pub use sink::{SinkPolicy, Sinks};
pub use tool::{
    Effect, EffectKind, Irreversibility, Scope, SourceLocation, StateRequirement, ToolSpec,
    const_str_eq,
};
