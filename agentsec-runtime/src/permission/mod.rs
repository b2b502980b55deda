//! What an agent may do: the policy that decides each tool call, and the
//! short-lived scoped grant minted for an allowed call and verified by the
//! generated code at the point of execution.
//!
//! A [`Policy`] sees the user, the agent, the tool's spec and the model's
//! arguments and answers allow, deny (with a reason the model may see) or
//! require approval. [`DefaultPolicy`] ensures an agent never exceeds the user
//! it acts for.
//!
//! A grant is a JWT (HS256, key held by the runtime) naming the user, tenant,
//! agent, run, call, tool, effects and scope of exactly one call, valid for at
//! most 60 seconds and usable once. Even if the model is manipulated into
//! calling a tool, the call runs only under a grant the runtime minted for it.
//!
//! [`rls`] carries a grant into PostgreSQL, where row-level security
//! policies hold the tool's SQL to the same scope.

mod grant;
pub mod rls;

/// The policy lives in [`crate::policy`]; these paths keep working.
pub use crate::policy;

pub use crate::policy::{
    AgentPermissions, Decision, DefaultPolicy, DynPolicy, EffectSet, Policy, PolicyError,
    PolicyRequest, PolicySet, RolePolicy, RoleRules,
};
pub use grant::{
    DEFAULT_REPLAY_CAPACITY, Grant, GrantAuthority, GrantClaims, GrantError, GrantExpectation,
    GrantRequest, LocalGrant, MAX_GRANT_BYTES, MAX_GRANT_TTL,
};
