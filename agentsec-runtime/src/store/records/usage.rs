use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// Usage counters, per run and per agent. Also used as the delta to add.
///
/// ```
/// use agentsec_runtime::store::Usage;
/// let total = Usage { tokens_in: 10, ..Usage::default() }.plus(&Usage { tool_calls: 1, ..Usage::default() });
/// assert_eq!((total.tokens_in, total.tool_calls), (10, 1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub tokens_in: i64,
    /// Completion tokens.
    pub tokens_out: i64,
    /// Tool calls made.
    pub tool_calls: i64,
    /// Cost in millionths of a US dollar.
    pub cost_micro_usd: i64,
}

impl Usage {
    /// The sum of two usages (saturating).
    pub fn plus(&self, other: &Usage) -> Usage {
        Usage {
            tokens_in: self.tokens_in.saturating_add(other.tokens_in),
            tokens_out: self.tokens_out.saturating_add(other.tokens_out),
            tool_calls: self.tool_calls.saturating_add(other.tool_calls),
            cost_micro_usd: self.cost_micro_usd.saturating_add(other.cost_micro_usd),
        }
    }

    /// Refuses negative deltas: usage only grows, so a caller cannot win
    /// budget back by adding a negative amount.
    pub(crate) fn check_delta(&self) -> Result<(), StoreError> {
        if self.tokens_in < 0
            || self.tokens_out < 0
            || self.tool_calls < 0
            || self.cost_micro_usd < 0
        {
            return Err(StoreError::Invalid(format!(
                "negative usage delta: {self:?}"
            )));
        }
        Ok(())
    }
}
