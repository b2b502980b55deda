//! The static description of an agent: its prompt, tools, limits and budget.

use serde::{Deserialize, Serialize};

use crate::tool::ToolSpec;

/// The caps of one run, as declared with `budget(tokens = N, tool_calls = N, usd = F)`.
///
/// ```
/// use agentsec_core::BudgetSpec;
/// const BUDGET: BudgetSpec = BudgetSpec { tokens: Some(20_000), ..BudgetSpec::UNLIMITED };
/// assert!(BUDGET.tool_calls.is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetSpec {
    /// Total model tokens (input + output) for the run.
    pub tokens: Option<u64>,
    /// Number of tool calls for the run.
    pub tool_calls: Option<u32>,
    /// Cost in US dollars for the run (needs a price table for the model).
    pub usd: Option<f64>,
}

impl BudgetSpec {
    /// No caps at all (agents declared with the macro always have at least one).
    pub const UNLIMITED: BudgetSpec = BudgetSpec {
        tokens: None,
        tool_calls: None,
        usd: None,
    };
}

/// Everything static about an agent. The `#[agent]` macro writes it as
/// `const SPEC`, and checks the cross-tool rules over the tools' specs at
/// compile time.
///
/// ```
/// use agentsec_core::{AgentSpec, BudgetSpec, ToolSpec};
/// const GREETER: AgentSpec = AgentSpec {
///     name: "greeter",
///     prompt: "Greet the user.",
///     prompt_version: "000000000000",
///     prompt_file: None,
///     tools: &[ToolSpec::new("wave", "Wave at the user.")],
///     max_iterations: 1,
///     budget: BudgetSpec { tokens: Some(1_000), ..BudgetSpec::UNLIMITED },
///     model: None,
///     untrusted_input: false,
/// };
/// assert_eq!(GREETER.tool("wave").unwrap().name, "wave");
/// ```
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
