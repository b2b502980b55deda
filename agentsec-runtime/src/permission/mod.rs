//! What an agent may do: the short-lived scoped grant minted for every tool
//! call and verified by the generated code at the point of execution.
//!
//! A grant is a JWT (HS256, key held by the runtime) naming the user, tenant,
//! agent, run, call, tool, effects and scope of exactly one call, valid for at
//! most 60 seconds and usable once. Even if the model is manipulated into
//! calling a tool, the call runs only under a grant the runtime minted for it.

mod grant;

pub use grant::{
    Grant, GrantAuthority, GrantClaims, GrantError, GrantExpectation, GrantRequest,
    MAX_GRANT_TTL,
};
