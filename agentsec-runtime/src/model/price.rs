use std::collections::HashMap;

use super::Usage;

/// The price of one model, in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    /// USD per million input tokens.
    pub input_per_million: f64,
    /// USD per million output tokens.
    pub output_per_million: f64,
}

impl Price {
    /// The cost of `usage` at this price.
    pub fn cost(&self, usage: Usage) -> f64 {
        // u64 -> f64 loses precision only past 2^53 tokens.
        (usage.input_tokens as f64 * self.input_per_million
            + usage.output_tokens as f64 * self.output_per_million)
            / 1_000_000.0
    }
}

/// Prices per model name, to turn [`Usage`] into dollars for budgets.
///
/// No prices are built in (they change): the application supplies them.
/// Providers often answer with a dated name (`gpt-4o-2024-08-06` for
/// `gpt-4o`); an entry also matches names that extend it with `-` and a
/// version starting with a digit, the longest such entry winning.
///
/// ```
/// use agentsec_runtime::model::{PriceTable, Usage};
/// let prices = PriceTable::new()
///     .with("gpt-4o", 2.5, 10.0)
///     .with("gpt-4o-mini", 0.25, 1.0);
/// let usage = Usage::new(1_000_000, 100_000);
/// assert_eq!(prices.cost("gpt-4o", usage), Some(3.5));
/// assert_eq!(prices.cost("gpt-4o-2024-08-06", usage), Some(3.5));
/// assert_eq!(prices.cost("gpt-4o-mini-2024-07-18", usage), Some(0.35));
/// assert_eq!(prices.cost("gpt-4o-audio", usage), None);
/// assert_eq!(prices.cost("unknown", usage), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceTable {
    prices: HashMap<String, Price>,
}

impl PriceTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a model's price (builder style).
    pub fn with(
        mut self,
        model: impl Into<String>,
        input_per_million: f64,
        output_per_million: f64,
    ) -> Self {
        self.insert(model, input_per_million, output_per_million);
        self
    }

    /// Adds or replaces a model's price.
    pub fn insert(
        &mut self,
        model: impl Into<String>,
        input_per_million: f64,
        output_per_million: f64,
    ) {
        self.prices.insert(
            model.into(),
            Price {
                input_per_million,
                output_per_million,
            },
        );
    }

    /// The price of `model` (exact name first, then a versioned name).
    pub fn price(&self, model: &str) -> Option<Price> {
        if let Some(price) = self.prices.get(model) {
            return Some(*price);
        }
        self.prices
            .iter()
            .filter(|(name, _)| is_version_of(model, name))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, price)| *price)
    }

    /// The cost in USD of `usage` on `model`, or `None` when the table has
    /// no price for it.
    pub fn cost(&self, model: &str, usage: Usage) -> Option<f64> {
        self.price(model).map(|price| price.cost(usage))
    }
}

/// Whether `model` is `base` followed by `-` and a version starting with a
/// digit (`claude-sonnet-4-5-20250929` of `claude-sonnet-4-5`).
fn is_version_of(model: &str, base: &str) -> bool {
    model
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|version| version.bytes().next())
        .is_some_and(|b| b.is_ascii_digit())
}
