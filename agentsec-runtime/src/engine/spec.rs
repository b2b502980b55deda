use crate::budget::BudgetSpec;
use crate::tool::{DispatcherBuilder, ToolSpec};

/// Everything static about an agent. The `#[agent]` macro writes it as
/// `const SPEC`, and checks the cross-tool rules over the tools' specs at
/// compile time.
#[derive(Clone, Copy, Debug)]
pub struct AgentSpec {
    /// The agent's name.
    pub name: &'static str,
    /// The system prompt.
    pub prompt: &'static str,
    /// The first 12 hex digits of the prompt's SHA-256: which prompt a run used.
    pub prompt_version: &'static str,
    /// The prompt file, when the prompt came from one.
    pub prompt_file: Option<&'static str>,
    /// The specs of the agent's tools.
    pub tools: &'static [ToolSpec],
    /// The most model turns a run may take (1..=25).
    pub max_iterations: u32,
    /// The run's caps.
    pub budget: BudgetSpec,
    /// The model to use, when the agent names one.
    pub model: Option<&'static str>,
    /// The user's input is untrusted (e.g. forwarded email) and is screened.
    pub untrusted_input: bool,
}

impl AgentSpec {
    /// The spec of the tool called `name`.
    pub fn tool(&self, name: &str) -> Option<&'static ToolSpec> {
        self.tools.iter().find(|t| t.name == name)
    }
}

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
///     type Call = agentsec_runtime::engine::NoToolCall;
///     fn register_tools(builder: DispatcherBuilder) -> DispatcherBuilder {
///         builder
///     }
/// }
/// ```
pub trait Agent: Send + Sync + 'static {
    /// The agent's static description.
    const SPEC: AgentSpec;

    /// The typed call enum: one variant per tool.
    type Call: super::AgentCall;

    /// Registers the agent's tools with a dispatcher builder.
    fn register_tools(builder: DispatcherBuilder) -> DispatcherBuilder;
}

/// Whether `tools` hold the lethal trifecta: a tool reading private data, a
/// tool returning untrusted content, and an egress tool that is not
/// irreversible. Usable in `const` (the agent macro asserts over it).
pub const fn has_lethal_trifecta(tools: &[ToolSpec]) -> bool {
    let (mut private, mut untrusted, mut open_egress) = (false, false, false);
    let mut i = 0;
    while i < tools.len() {
        let t = &tools[i];
        private |= t.reads_private_data();
        untrusted |= t.untrusted;
        open_egress |= t.has_egress() && !t.is_irreversible();
        i += 1;
    }
    private && untrusted && open_egress
}

/// Whether `tools` hold a tool reading private data and one returning
/// untrusted content (two legs of the trifecta).
pub const fn reads_private_and_untrusted(tools: &[ToolSpec]) -> bool {
    let (mut private, mut untrusted) = (false, false);
    let mut i = 0;
    while i < tools.len() {
        private |= tools[i].reads_private_data();
        untrusted |= tools[i].untrusted;
        i += 1;
    }
    private && untrusted
}
