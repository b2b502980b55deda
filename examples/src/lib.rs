//! Shared code of the agentsec examples: the support desk of the guide.

pub mod database_agent;
pub mod research_assistant;
pub mod shop;
pub mod support_desk;
pub mod tool_calls;
pub mod web_agent;
