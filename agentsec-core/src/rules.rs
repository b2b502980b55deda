//! Every rule over tool and agent specs, once, as `const fn`.
//!
//! The `#[tool]` macro checks them while it expands (on a spec built from
//! the attribute), the `#[agent]` macro asserts them in `const` items for
//! every listed tool (so a hand-written `impl Tool` is held to them too), and
//! the dispatcher builder refuses a spec that breaks one. All three report a
//! rule with the same [`ToolRule::message`] and [`ToolRule::help`].

use std::fmt;

use crate::agent::{AgentSpec, has_lethal_trifecta};
use crate::tool::{EffectKind, ToolSpec};

/// The longest tool name model providers accept.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// The most model turns an agent may declare.
pub const MAX_ITERATIONS: u32 = 25;

/// Whether `name` matches `^[a-zA-Z0-9_-]{1,64}$`, the tool-name grammar
/// OpenAI and Anthropic accept.
///
/// ```
/// use agentsec_core::rules::is_valid_tool_name;
/// assert!(is_valid_tool_name("list-orders_2"));
/// assert!(!is_valid_tool_name(""));
/// assert!(!is_valid_tool_name("list orders"));
/// assert!(!is_valid_tool_name("liste_commandées"));
/// ```
pub const fn is_valid_tool_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_TOOL_NAME_LEN {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

/// A rule a [`ToolSpec`] breaks. [`ToolSpec::check`] returns the first;
/// [`ToolSpec::violations`] all of them.
///
/// Messages complete a sentence that starts with the tool's name:
/// "tool `purge` {message}", followed by "= help: {help}".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ToolRule {
    /// The name is not 1 to 64 letters, digits, `_` or `-`.
    InvalidName,
    /// The description (the doc comment) is empty.
    MissingDescription,
    /// Neither an effect nor `pure`.
    NoEffect,
    /// `pure` with effects.
    PureWithEffects,
    /// `pure` with a scope.
    PureWithScope,
    /// An effect on an empty resource name.
    EmptyResource,
    /// A `read`, `write` or `delete` without a scope.
    DataEffectWithoutScope,
    /// A `delete` that is not irreversible.
    DeleteNotIrreversible,
    /// An `egress` that is not irreversible.
    EgressNotIrreversible,
    /// Irreversible without a `write`, `delete` or `egress`.
    IrreversibleWithoutChange,
    /// A declared sink (`#[sink]`) on a tool that changes nothing: a value
    /// can only leave, or do harm, through a tool with an effect.
    SinkWithoutChange,
}

impl ToolRule {
    /// Every rule, in the order [`ToolSpec::check`] tries them.
    pub const ALL: &'static [ToolRule] = &[
        ToolRule::InvalidName,
        ToolRule::MissingDescription,
        ToolRule::NoEffect,
        ToolRule::PureWithEffects,
        ToolRule::PureWithScope,
        ToolRule::EmptyResource,
        ToolRule::DataEffectWithoutScope,
        ToolRule::DeleteNotIrreversible,
        ToolRule::EgressNotIrreversible,
        ToolRule::IrreversibleWithoutChange,
        ToolRule::SinkWithoutChange,
    ];

    /// Whether `spec` breaks this rule.
    pub const fn is_broken_by(self, spec: &ToolSpec) -> bool {
        match self {
            ToolRule::InvalidName => !is_valid_tool_name(spec.name),
            ToolRule::MissingDescription => is_blank(spec.description),
            ToolRule::NoEffect => !spec.pure && spec.effects.is_empty(),
            ToolRule::PureWithEffects => spec.pure && !spec.effects.is_empty(),
            ToolRule::PureWithScope => spec.pure && spec.scope.is_some(),
            ToolRule::EmptyResource => {
                let mut i = 0;
                while i < spec.effects.len() {
                    if is_blank(spec.effects[i].resource) {
                        return true;
                    }
                    i += 1;
                }
                false
            }
            ToolRule::DataEffectWithoutScope => {
                spec.scope.is_none()
                    && (spec.has_effect(EffectKind::Read)
                        || spec.has_effect(EffectKind::Write)
                        || spec.has_effect(EffectKind::Delete))
            }
            ToolRule::DeleteNotIrreversible => {
                spec.has_effect(EffectKind::Delete) && !spec.is_irreversible()
            }
            ToolRule::EgressNotIrreversible => {
                spec.has_effect(EffectKind::Egress) && !spec.is_irreversible()
            }
            ToolRule::IrreversibleWithoutChange => spec.is_irreversible() && !spec.changes_state(),
            ToolRule::SinkWithoutChange => {
                !spec.sinks.declared.is_empty() && !spec.may_have_sinks()
            }
        }
    }

    /// What is wrong, completing "tool `name` ...".
    pub const fn message(self) -> &'static str {
        match self {
            ToolRule::InvalidName => {
                "has a name model providers refuse: a tool name is 1 to 64 letters, digits, `_` or `-`"
            }
            ToolRule::MissingDescription => {
                "has no description; the model reads it to know what the tool does"
            }
            ToolRule::NoEffect => "declares no effect",
            ToolRule::PureWithEffects => "is `pure` but declares effects",
            ToolRule::PureWithScope => "is `pure`, so it touches no data and has no scope",
            ToolRule::EmptyResource => "declares an effect on an empty resource name",
            ToolRule::DataEffectWithoutScope => "touches data but declares no scope",
            ToolRule::DeleteNotIrreversible => {
                "deletes data but is not `#[irreversible]`: deleting cannot be undone, so a person must approve each call"
            }
            ToolRule::EgressNotIrreversible => {
                "sends data outside (egress) but is not `#[irreversible]`: data sent outside cannot be recalled, so a person must approve each call"
            }
            ToolRule::IrreversibleWithoutChange => {
                "is `#[irreversible]` but declares no `write`, `delete` or `egress`"
            }
            ToolRule::SinkWithoutChange => {
                "declares a `#[sink]` argument but changes nothing: a sink is where a value leaves the system or changes something"
            }
        }
    }

    /// How to fix it, for the macro's users and for hand-written specs.
    pub const fn help(self) -> &'static str {
        match self {
            ToolRule::InvalidName => {
                "rename it, e.g. `#[tool(name = \"list_orders\")]` (a hand-written spec sets `name`)"
            }
            ToolRule::MissingDescription => {
                "add a `///` doc comment saying what the tool does and when to use it (a hand-written spec sets `description`)"
            }
            ToolRule::NoEffect => {
                "declare what it touches, e.g. `#[tool(read = \"orders\", scope = \"user\")]`, or `#[tool(pure)]` if it touches nothing outside itself (a hand-written spec sets `effects`, or `pure: true`)"
            }
            ToolRule::PureWithEffects => {
                "remove `pure` (a hand-written spec sets `pure: false`), or remove the effects if the tool really touches nothing"
            }
            ToolRule::PureWithScope => {
                "remove `scope = ...` (a hand-written spec sets `scope: None`)"
            }
            ToolRule::EmptyResource => {
                "name what the effect touches, e.g. `read = \"orders\"` or `egress = \"email\"`"
            }
            ToolRule::DataEffectWithoutScope => {
                "add `scope = \"user\"` (the calling user's rows), `scope = \"tenant\"` or `scope = \"global\"` (a hand-written spec sets `scope: Some(Scope::User)`)"
            }
            ToolRule::DeleteNotIrreversible | ToolRule::EgressNotIrreversible => {
                "add `#[irreversible(reason = \"...\")]` above or below `#[tool]` (a hand-written spec sets `irreversible: Some(Irreversibility { reason: Some(\"...\") })`)"
            }
            ToolRule::IrreversibleWithoutChange => {
                "remove `#[irreversible]`, or declare the effect that cannot be undone, e.g. `write = \"payments\"`"
            }
            ToolRule::SinkWithoutChange => {
                "remove `#[sink]` (a hand-written spec sets `sinks: Sinks::DEFAULT`), or declare the effect the argument feeds, e.g. `egress = \"email\"`"
            }
        }
    }
}

impl fmt::Display for ToolRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n= help: {}", self.message(), self.help())
    }
}

const fn is_blank(text: &str) -> bool {
    text.trim_ascii().is_empty()
}

impl ToolSpec {
    /// The first rule this spec breaks, if any. Usable in `const`:
    ///
    /// ```
    /// use agentsec_core::{Effect, EffectKind, Scope, ToolSpec, rules::ToolRule};
    /// const PURGE: ToolSpec = ToolSpec {
    ///     effects: &[Effect::new(EffectKind::Delete, "cache")],
    ///     scope: Some(Scope::Global),
    ///     pure: false,
    ///     ..ToolSpec::new("purge_cache", "Purge the CDN cache.")
    /// };
    /// const { assert!(matches!(PURGE.check(), Err(ToolRule::DeleteNotIrreversible))) };
    /// assert!(ToolSpec::new("add", "Add two integers.").check().is_ok());
    /// ```
    pub const fn check(&self) -> Result<(), ToolRule> {
        let mut i = 0;
        while i < ToolRule::ALL.len() {
            if ToolRule::ALL[i].is_broken_by(self) {
                return Err(ToolRule::ALL[i]);
            }
            i += 1;
        }
        Ok(())
    }

    /// Every rule this spec breaks, in [`ToolRule::ALL`] order.
    pub fn violations(&self) -> Vec<ToolRule> {
        ToolRule::ALL
            .iter()
            .copied()
            .filter(|rule| rule.is_broken_by(self))
            .collect()
    }
}

/// A rule an [`AgentSpec`] breaks, with the tool at fault where there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentRule {
    /// One of the agent's tools breaks a tool rule.
    Tool {
        /// The tool's name.
        tool: &'static str,
        /// The rule it breaks.
        rule: ToolRule,
    },
    /// Two tools share a name.
    DuplicateToolName {
        /// The shared name.
        tool: &'static str,
    },
    /// A tool reads private data, one returns untrusted content, and an
    /// egress tool is not irreversible.
    LethalTrifecta,
    /// `max_iterations` outside `1..=25`.
    MaxIterations,
    /// No budget cap at all.
    NoBudget,
}

impl AgentRule {
    /// What is wrong, completing "agent `name` ...".
    pub const fn message(self) -> &'static str {
        match self {
            AgentRule::Tool { rule, .. } => rule.message(),
            AgentRule::DuplicateToolName { .. } => {
                "has two tools of one name, so the model could not tell them apart"
            }
            AgentRule::LethalTrifecta => {
                "has the lethal trifecta: a tool reads private data, a tool takes in untrusted content, and an egress tool is not `#[irreversible]`, so injected text could exfiltrate the user's data"
            }
            AgentRule::MaxIterations => "has `max_iterations` outside 1..=25",
            AgentRule::NoBudget => "has no budget cap",
        }
    }

    /// How to fix it.
    pub const fn help(self) -> &'static str {
        match self {
            AgentRule::Tool { rule, .. } => rule.help(),
            AgentRule::DuplicateToolName { .. } => {
                "give one of them another name with `#[tool(name = \"...\")]`"
            }
            AgentRule::LethalTrifecta => {
                "mark the egress tool `#[irreversible(reason = \"...\")]` so a person approves every send, or split the agent so no agent has all three"
            }
            AgentRule::MaxIterations => "set `max_iterations` between 1 and 25",
            AgentRule::NoBudget => "add e.g. `budget(tokens = 20_000)`",
        }
    }
}

impl fmt::Display for AgentRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentRule::Tool { tool, .. } | AgentRule::DuplicateToolName { tool } => write!(
                f,
                "tool `{tool}`: {}\n= help: {}",
                self.message(),
                self.help()
            ),
            _ => write!(f, "{}\n= help: {}", self.message(), self.help()),
        }
    }
}

impl AgentSpec {
    /// The first rule the agent or one of its tools breaks, if any. Usable
    /// in `const`.
    ///
    /// ```
    /// use agentsec_core::{AgentSpec, BudgetSpec, ToolSpec, rules::AgentRule};
    /// const TWICE: AgentSpec = AgentSpec {
    ///     name: "echo",
    ///     prompt: "Echo.",
    ///     prompt_version: "000000000000",
    ///     prompt_file: None,
    ///     tools: &[ToolSpec::new("echo", "Echo."), ToolSpec::new("echo", "Echo again.")],
    ///     max_iterations: 3,
    ///     budget: BudgetSpec { tool_calls: Some(5), ..BudgetSpec::UNLIMITED },
    ///     model: None,
    ///     untrusted_input: false,
    /// };
    /// assert_eq!(TWICE.check(), Err(AgentRule::DuplicateToolName { tool: "echo" }));
    /// ```
    pub const fn check(&self) -> Result<(), AgentRule> {
        if self.max_iterations == 0 || self.max_iterations > MAX_ITERATIONS {
            return Err(AgentRule::MaxIterations);
        }
        if self.budget.tokens.is_none()
            && self.budget.tool_calls.is_none()
            && self.budget.usd.is_none()
        {
            return Err(AgentRule::NoBudget);
        }
        let tools = self.tools;
        let mut i = 0;
        while i < tools.len() {
            if let Err(rule) = tools[i].check() {
                return Err(AgentRule::Tool {
                    tool: tools[i].name,
                    rule,
                });
            }
            let mut j = 0;
            while j < i {
                if tools[j].same_name(&tools[i]) {
                    return Err(AgentRule::DuplicateToolName {
                        tool: tools[i].name,
                    });
                }
                j += 1;
            }
            i += 1;
        }
        if has_lethal_trifecta(tools) {
            return Err(AgentRule::LethalTrifecta);
        }
        Ok(())
    }
}
