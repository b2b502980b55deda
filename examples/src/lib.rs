//! Shared code of the agentsec examples: the support desk of the guide, the
//! research assistant, the database agent (PostgreSQL row-level security)
//! and the web agent (an axum backend). Each example binary calls the `run`
//! of its module; `tests/examples_run.rs` calls it too and checks what it did.

pub mod database_agent;
pub mod mcp_server;
pub mod research_assistant;
pub mod shop;
pub mod support_desk;
pub mod tool_calls;
pub mod web_agent;
