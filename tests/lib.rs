//! The agentsec integration tests. The library part compiles the guide:
//! each chapter of `book/` is included as documentation, so its code blocks
//! run as doctests with `cargo test --workspace`.

#[doc = include_str!("../book/src/introduction.md")]
pub mod introduction {}

#[doc = include_str!("../book/src/getting-started.md")]
pub mod getting_started {}

#[doc = include_str!("../book/src/tools.md")]
pub mod declaring_tools {}

#[doc = include_str!("../book/src/agents.md")]
pub mod defining_an_agent {}

#[doc = include_str!("../book/src/identity.md")]
pub mod identity_and_permissions {}

#[doc = include_str!("../book/src/models.md")]
pub mod models_and_budgets {}

#[doc = include_str!("../book/src/protecting-data.md")]
pub mod protecting_data {}

#[doc = include_str!("../book/src/tracing.md")]
pub mod tracing_and_audit {}

#[doc = include_str!("../book/src/hitl.md")]
pub mod human_approval_and_durable_runs {}

#[doc = include_str!("../book/src/web.md")]
pub mod web_backend {}

#[doc = include_str!("../book/src/testing.md")]
pub mod testing_your_tools {}

#[doc = include_str!("../book/src/mcp.md")]
pub mod mcp {}

#[doc = include_str!("../book/src/operating.md")]
pub mod operating {}

#[doc = include_str!("../book/src/configuration.md")]
pub mod configuration_reference {}

#[doc = include_str!("../book/src/coming-from.md")]
pub mod coming_from_rig_or_rmcp {}

#[doc = include_str!("../book/src/checklist.md")]
pub mod checklist {}

#[doc = include_str!("../book/src/performance.md")]
pub mod performance {}
