//! The spec types live in `agentsec-core`, shared with the macros; this
//! module keeps their paths under `agentsec_runtime::tool`.

pub use agentsec_core::sink::{SinkPolicy, Sinks};
pub use agentsec_core::tool::*;
