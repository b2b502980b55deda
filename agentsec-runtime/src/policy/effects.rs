use std::collections::BTreeSet;
use std::fmt;

use crate::tool::{Effect, EffectKind, ToolSpec};

/// A policy configuration error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// An effect pattern does not parse.
    #[error("invalid effect pattern `{pattern}`: {reason}")]
    InvalidEffect {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A set of allowed effects: exact (`read:orders`) or every resource of a
/// kind (`read:*`).
///
/// ```
/// use agentsec_runtime::permission::EffectSet;
/// use agentsec_runtime::tool::{Effect, EffectKind};
/// let set = EffectSet::parse(["read:*", "write:tickets"]).unwrap();
/// assert!(set.allows(&Effect::new(EffectKind::Read, "orders")));
/// assert!(set.allows(&Effect::new(EffectKind::Write, "tickets")));
/// assert!(!set.allows(&Effect::new(EffectKind::Write, "payments")));
/// assert!(EffectSet::parse(["launch:missiles"]).is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EffectSet {
    /// `(kind, None)` allows every resource of the kind.
    patterns: BTreeSet<(EffectKind, Option<String>)>,
}

impl EffectSet {
    /// The empty set: allows nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `kind:resource` and `kind:*` patterns.
    pub fn parse<I, S>(patterns: I) -> Result<Self, PolicyError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Self::new();
        for pattern in patterns {
            let pattern = pattern.as_ref();
            let invalid = |reason: &str| PolicyError::InvalidEffect {
                pattern: pattern.to_owned(),
                reason: reason.to_owned(),
            };
            let (kind, resource) = pattern
                .split_once(':')
                .ok_or_else(|| invalid("expected kind:resource or kind:*"))?;
            let kind = match kind {
                "read" => EffectKind::Read,
                "write" => EffectKind::Write,
                "delete" => EffectKind::Delete,
                "egress" => EffectKind::Egress,
                _ => return Err(invalid("the kind is read, write, delete or egress")),
            };
            match resource {
                "" => return Err(invalid("the resource is empty")),
                "*" => set.patterns.insert((kind, None)),
                r => set.patterns.insert((kind, Some(r.to_owned()))),
            };
        }
        Ok(set)
    }

    /// The exact effects given.
    pub fn of(effects: &[Effect]) -> Self {
        let mut set = Self::new();
        for effect in effects {
            set.patterns
                .insert((effect.kind, Some(effect.resource.to_owned())));
        }
        set
    }

    /// Adds every resource of `kind`.
    pub fn with_any(mut self, kind: EffectKind) -> Self {
        self.patterns.insert((kind, None));
        self
    }

    /// Adds every pattern of `other`.
    pub fn extend(&mut self, other: &EffectSet) {
        self.patterns.extend(other.patterns.iter().cloned());
    }

    /// Whether the set allows `effect`.
    pub fn allows(&self, effect: &Effect) -> bool {
        self.patterns.contains(&(effect.kind, None))
            || self
                .patterns
                .contains(&(effect.kind, Some(effect.resource.to_owned())))
    }

    /// The first of `effects` the set does not allow.
    pub fn first_missing<'e>(&self, effects: &'e [Effect]) -> Option<&'e Effect> {
        effects.iter().find(|e| !self.allows(e))
    }

    /// Whether the set allows nothing.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

impl fmt::Display for EffectSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (kind, resource) in &self.patterns {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{kind}:{}", resource.as_deref().unwrap_or("*"))?;
        }
        Ok(())
    }
}

/// What the application allows one agent, when it narrows the agent below
/// the tools it was declared with.
///
/// ```
/// use agentsec_runtime::permission::{AgentPermissions, EffectSet};
/// let support = AgentPermissions::new(EffectSet::parse(["read:orders"]).unwrap())
///     .with_tools(["list_orders"]);
/// assert!(support.allows_tool("list_orders"));
/// assert!(!support.allows_tool("refund_order"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentPermissions {
    /// Tools the agent may call; any of its tools when `None`.
    pub tools: Option<BTreeSet<String>>,
    /// Effects the agent may have.
    pub effects: EffectSet,
}

impl AgentPermissions {
    /// Allows `effects`, on any of the agent's tools.
    pub fn new(effects: EffectSet) -> Self {
        Self {
            tools: None,
            effects,
        }
    }

    /// Exactly what `specs` declare: their names and effects.
    pub fn from_specs(specs: &[&ToolSpec]) -> Self {
        let mut effects = EffectSet::new();
        for spec in specs {
            effects.extend(&EffectSet::of(spec.effects));
        }
        Self {
            tools: Some(specs.iter().map(|s| s.name.to_owned()).collect()),
            effects,
        }
    }

    /// Limits the agent to the tools named.
    pub fn with_tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tools = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// Whether the agent may call the tool named `name`.
    pub fn allows_tool(&self, name: &str) -> bool {
        self.tools.as_ref().is_none_or(|t| t.contains(name))
    }
}
