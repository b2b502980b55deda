//! The usage ledger's bounds. The counters are [`Usage`], the one usage
//! type (tokens, tool calls, cost) shared with the model providers.

use crate::model::Usage;
use crate::store::StoreError;

/// A delta as the ledger's signed 64-bit columns hold it, in the order
/// input tokens, output tokens, tool calls, cost. A counter beyond
/// `i64::MAX` is [`Invalid`](StoreError::Invalid) in every store, so the
/// memory store refuses what SQL could not hold. (Usage is unsigned: no
/// delta can hand budget back.)
pub(crate) fn ledger_columns(delta: &Usage) -> Result<[i64; 4], StoreError> {
    let column = |value: u64, name: &str| {
        i64::try_from(value)
            .map_err(|_| StoreError::Invalid(format!("usage delta too large: {name} = {value}")))
    };
    Ok([
        column(delta.input_tokens, "input_tokens")?,
        column(delta.output_tokens, "output_tokens")?,
        column(delta.tool_calls, "tool_calls")?,
        column(delta.cost_micro_usd, "cost_micro_usd")?,
    ])
}
