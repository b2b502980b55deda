//! Budgets: caps on what one run may spend.
//!
//! An agent declares its caps in `#[agent(budget(...))]`; the engine checks
//! them before each model call and tool call, warns at 80 %, and halts the
//! run cleanly rather than pass a cap.

mod meter;

pub use meter::{BudgetMeter, BudgetOutcome, BudgetWarning, Spend};

use serde::{Deserialize, Serialize};

/// The caps of one run, as declared with `budget(tokens = N, tool_calls = N, usd = F)`.
///
/// ```
/// use agentsec_runtime::budget::BudgetSpec;
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

/// The share of a cap at which a warning is raised.
pub const WARNING_RATIO: f64 = 0.8;
