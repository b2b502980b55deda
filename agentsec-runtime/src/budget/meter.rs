use serde::{Deserialize, Serialize};

use super::{BudgetSpec, WARNING_RATIO};

/// What a run has spent so far. Persisted with the run, so a resumed run
/// carries its spending over exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    /// Model input tokens.
    pub input_tokens: u64,
    /// Model output tokens.
    pub output_tokens: u64,
    /// Tool calls executed or attempted.
    pub tool_calls: u32,
    /// Cost in US dollars, where a price is known.
    pub usd: f64,
    /// Model calls made.
    pub model_calls: u32,
}

impl Spend {
    /// Input plus output tokens.
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// A cap crossed its warning threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetWarning {
    /// Which cap: `tokens`, `tool_calls` or `usd`.
    pub cap: String,
    /// What was spent.
    pub spent: f64,
    /// The cap.
    pub limit: f64,
}

/// The result of checking a budget.
#[derive(Clone, Debug, PartialEq)]
pub enum BudgetOutcome {
    /// Within every cap.
    Within,
    /// A cap would be passed: the run must halt.
    Exceeded {
        /// Which cap.
        cap: &'static str,
        /// What was (or would be) spent.
        spent: f64,
        /// The cap.
        limit: f64,
    },
}

/// Checks a run's spending against its caps.
///
/// ```
/// use agentsec_runtime::budget::{BudgetMeter, BudgetOutcome, BudgetSpec, Spend};
/// let meter = BudgetMeter::new(BudgetSpec { tool_calls: Some(2), ..BudgetSpec::UNLIMITED });
/// let mut spend = Spend::default();
/// assert_eq!(meter.before_tool_call(&spend), BudgetOutcome::Within);
/// spend.tool_calls = 2;
/// assert!(matches!(meter.before_tool_call(&spend), BudgetOutcome::Exceeded { cap: "tool_calls", .. }));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct BudgetMeter {
    spec: BudgetSpec,
}

impl BudgetMeter {
    /// A meter for `spec`.
    pub fn new(spec: BudgetSpec) -> Self {
        Self { spec }
    }

    /// The caps.
    pub fn spec(&self) -> BudgetSpec {
        self.spec
    }

    /// Whether another model call may start: tokens and cost must be under their caps.
    pub fn before_model_call(&self, spend: &Spend) -> BudgetOutcome {
        if let Some(limit) = self.spec.tokens
            && spend.tokens() >= limit
        {
            return BudgetOutcome::Exceeded {
                cap: "tokens",
                spent: spend.tokens() as f64,
                limit: limit as f64,
            };
        }
        if let Some(limit) = self.spec.usd
            && spend.usd >= limit
        {
            return BudgetOutcome::Exceeded {
                cap: "usd",
                spent: spend.usd,
                limit,
            };
        }
        BudgetOutcome::Within
    }

    /// Whether a model response that brought the spend to `spend` passed a cap.
    pub fn after_model_call(&self, spend: &Spend) -> BudgetOutcome {
        if let Some(limit) = self.spec.tokens
            && spend.tokens() > limit
        {
            return BudgetOutcome::Exceeded {
                cap: "tokens",
                spent: spend.tokens() as f64,
                limit: limit as f64,
            };
        }
        if let Some(limit) = self.spec.usd
            && spend.usd > limit
        {
            return BudgetOutcome::Exceeded {
                cap: "usd",
                spent: spend.usd,
                limit,
            };
        }
        BudgetOutcome::Within
    }

    /// Whether one more tool call fits.
    pub fn before_tool_call(&self, spend: &Spend) -> BudgetOutcome {
        match self.spec.tool_calls {
            Some(limit) if spend.tool_calls >= limit => BudgetOutcome::Exceeded {
                cap: "tool_calls",
                spent: f64::from(spend.tool_calls),
                limit: f64::from(limit),
            },
            _ => BudgetOutcome::Within,
        }
    }

    /// The caps that crossed the warning threshold between `before` and `after`.
    pub fn new_warnings(&self, before: &Spend, after: &Spend) -> Vec<BudgetWarning> {
        let mut warnings = Vec::new();
        let mut check = |cap: &str, limit: Option<f64>, was: f64, now: f64| {
            if let Some(limit) = limit {
                let threshold = limit * WARNING_RATIO;
                if was < threshold && now >= threshold {
                    warnings.push(BudgetWarning {
                        cap: cap.to_owned(),
                        spent: now,
                        limit,
                    });
                }
            }
        };
        check(
            "tokens",
            self.spec.tokens.map(|t| t as f64),
            before.tokens() as f64,
            after.tokens() as f64,
        );
        check(
            "tool_calls",
            self.spec.tool_calls.map(f64::from),
            f64::from(before.tool_calls),
            f64::from(after.tool_calls),
        );
        check("usd", self.spec.usd, before.usd, after.usd);
        warnings
    }
}
