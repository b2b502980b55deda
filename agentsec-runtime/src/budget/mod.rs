//! Budgets: caps on what one run may spend.
//!
//! An agent declares its caps in `#[agent(budget(...))]`; the engine checks
//! them before each model call and tool call, warns at 80 %, and halts the
//! run cleanly rather than pass a cap.

mod meter;

pub use meter::{BudgetMeter, BudgetOutcome, BudgetWarning, Spend};

pub use agentsec_core::BudgetSpec;

/// The share of a cap at which a warning is raised.
pub const WARNING_RATIO: f64 = 0.8;
