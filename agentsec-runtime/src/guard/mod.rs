//! Guards on the data path: what untrusted text may reach the model, and
//! what a run may do once it has read it.
//!
//! - [`screen`]: input screening ([`InputGuard`], the built-in [`RuleGuard`]).
pub mod screen;

pub use screen::{InputGuard, RULES, RuleCategory, RuleGuard, RuleHit, RuleInfo, Screening, UnknownRule, Verdict, normalize};
