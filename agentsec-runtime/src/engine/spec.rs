pub use agentsec_core::{AgentSpec, has_lethal_trifecta, reads_private_and_untrusted};

use crate::tool::DispatcherBuilder;

/// An agent: its spec and its tools. The `#[agent]` macro implements it.
///
/// ```
/// use agentsec_runtime::budget::BudgetSpec;
/// use agentsec_runtime::engine::{Agent, AgentSpec};
/// use agentsec_runtime::tool::DispatcherBuilder;
///
/// struct Greeter;
/// impl Agent for Greeter {
///     const SPEC: AgentSpec = AgentSpec {
///         name: "greeter",
///         prompt: "Greet the user.",
///         prompt_version: "000000000000",
///         prompt_file: None,
///         tools: &[],
///         max_iterations: 1,
///         budget: BudgetSpec { tokens: Some(1_000), ..BudgetSpec::UNLIMITED },
///         model: None,
///         untrusted_input: false,
///     };
///     fn register_tools(builder: DispatcherBuilder) -> DispatcherBuilder {
///         builder
///     }
/// }
/// ```
pub trait Agent: Send + Sync + 'static {
    /// The agent's static description.
    const SPEC: AgentSpec;

    /// Registers the agent's tools with a dispatcher builder.
    fn register_tools(builder: DispatcherBuilder) -> DispatcherBuilder;
}
