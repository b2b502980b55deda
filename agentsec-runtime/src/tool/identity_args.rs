//! Names of model-visible arguments that would carry an identity. The list
//! lives in `agentsec-core`, shared with the `#[tool]` macro and the policy.

pub use agentsec_core::identity_args::*;
