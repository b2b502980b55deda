//! The agentsec integration tests. The library part compiles the guide:
//! each chapter of `book/` is included as documentation, so its code blocks
//! run as doctests with `cargo test --workspace`.

#[doc = include_str!("../book/src/introduction.md")]
pub mod introduction {}

#[doc = include_str!("../book/src/tools.md")]
pub mod declaring_tools {}

#[doc = include_str!("../book/src/agents.md")]
pub mod defining_an_agent {}

#[doc = include_str!("../book/src/performance.md")]
pub mod performance {}
