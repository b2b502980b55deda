//! What model calls, tool calls and money a call or a run used.

use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

/// What was used: by one model call (its tokens, as the provider reports
/// them), or summed over a run or an agent (the store's usage ledger, see
/// [`RunStore::add_usage`](crate::store::RunStore::add_usage)).
///
/// Counters only grow: they are unsigned, so no delta can hand budget back.
/// Sums saturate.
///
/// ```
/// use agentsec_runtime::model::Usage;
/// let mut total = Usage::new(10, 5);
/// total += Usage::new(1, 2);
/// assert_eq!(total, Usage::new(11, 7));
/// assert_eq!(total.tokens(), 18);
/// let run = total + Usage { tool_calls: 1, cost_micro_usd: 1_500, ..Usage::default() };
/// assert_eq!((run.input_tokens, run.tool_calls, run.cost_micro_usd), (11, 1, 1_500));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Prompt tokens (for Anthropic, cache reads and writes included).
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Tool calls made (a provider's response reports none).
    pub tool_calls: u64,
    /// Cost in millionths of a US dollar, where a price is known (a
    /// provider's response reports none; see
    /// [`PriceTable`](super::PriceTable)).
    pub cost_micro_usd: u64,
}

impl Usage {
    /// The tokens of one model call.
    pub const fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            tool_calls: 0,
            cost_micro_usd: 0,
        }
    }

    /// Input plus output tokens.
    pub const fn tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

impl Add for Usage {
    type Output = Usage;

    fn add(self, rhs: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_add(rhs.input_tokens),
            output_tokens: self.output_tokens.saturating_add(rhs.output_tokens),
            tool_calls: self.tool_calls.saturating_add(rhs.tool_calls),
            cost_micro_usd: self.cost_micro_usd.saturating_add(rhs.cost_micro_usd),
        }
    }
}

impl AddAssign for Usage {
    fn add_assign(&mut self, rhs: Usage) {
        *self = *self + rhs;
    }
}
