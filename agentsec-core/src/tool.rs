//! The static description of a tool: what it touches, whose data, and how
//! dangerous it is. The `#[tool]` macro writes one as `const SPEC` per tool;
//! a hand-written `impl Tool` writes its own.

use std::any::TypeId;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::sink::Sinks;

/// What kind of effect a tool has on the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EffectKind {
    /// Reads data (`read = "orders"`).
    Read,
    /// Changes data (`write = "payments"`).
    Write,
    /// Removes data (`delete = "orders"`).
    Delete,
    /// Sends data outside the system (`egress = "email"`): email, chat, HTTP
    /// POST, payments to third parties.
    Egress,
}

impl EffectKind {
    /// The keyword used in `#[tool(...)]` and in grants.
    pub const fn as_str(self) -> &'static str {
        match self {
            EffectKind::Read => "read",
            EffectKind::Write => "write",
            EffectKind::Delete => "delete",
            EffectKind::Egress => "egress",
        }
    }

    /// Whether the effect touches stored data (and so needs a scope).
    pub const fn is_data(self) -> bool {
        matches!(
            self,
            EffectKind::Read | EffectKind::Write | EffectKind::Delete
        )
    }

    /// Whether the effect changes something outside the tool.
    pub const fn changes_state(self) -> bool {
        matches!(
            self,
            EffectKind::Write | EffectKind::Delete | EffectKind::Egress
        )
    }
}

impl fmt::Display for EffectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared effect: a kind and the resource it applies to.
///
/// ```
/// use agentsec_core::{Effect, EffectKind};
/// let e = Effect::new(EffectKind::Read, "orders");
/// assert_eq!(e.to_string(), "read:orders");
/// assert_eq!("read:orders".parse::<Effect>().unwrap(), e);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Effect {
    /// The kind of effect.
    pub kind: EffectKind,
    /// The resource: a table, a collection, a channel.
    pub resource: &'static str,
}

impl Effect {
    /// An effect of `kind` on `resource`.
    pub const fn new(kind: EffectKind, resource: &'static str) -> Self {
        Self { kind, resource }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.resource)
    }
}

impl std::str::FromStr for Effect {
    type Err = String;

    /// Parses `kind:resource`. The resource is leaked to get a `'static`
    /// string, so parse effects once (at start-up), not per call.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, resource) = s
            .split_once(':')
            .ok_or_else(|| format!("effect `{s}` is not of the form kind:resource"))?;
        let kind = match kind {
            "read" => EffectKind::Read,
            "write" => EffectKind::Write,
            "delete" => EffectKind::Delete,
            "egress" => EffectKind::Egress,
            other => return Err(format!("unknown effect kind `{other}`")),
        };
        Ok(Effect::new(
            kind,
            Box::leak(resource.to_owned().into_boxed_str()),
        ))
    }
}

/// Whose rows a tool may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Only the calling user's rows.
    User,
    /// Rows of the calling user's tenant.
    Tenant,
    /// Any row: reserved for tools the policy grants to named roles.
    Global,
}

impl Scope {
    /// The keyword used in `#[tool(scope = ...)]` and in grants.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Tenant => "tenant",
            Scope::Global => "global",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Marks a tool whose effect cannot be undone; the runtime pauses for a
/// human approval before every call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Irreversibility {
    /// Why the action cannot be undone, shown to the approver.
    pub reason: Option<&'static str>,
}

/// An application-state type a tool needs (`#[state] shop: &Shop`).
#[derive(Clone, Copy, Debug)]
pub struct StateRequirement {
    /// The type's name, for error messages.
    pub type_name: &'static str,
    /// The type's id (a function because `TypeId::of` is not `const`).
    pub type_id: fn() -> TypeId,
}

impl StateRequirement {
    /// The requirement for state of type `T`, named `type_name` in messages
    /// (the macro passes the type as written).
    pub const fn of<T: 'static>(type_name: &'static str) -> Self {
        Self {
            type_name,
            type_id: TypeId::of::<T>,
        }
    }
}

/// Where a tool was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceLocation {
    /// The source file.
    pub file: &'static str,
    /// The line of the function's name.
    pub line: u32,
    /// The column of the function's name.
    pub column: u32,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Everything static about a tool: name, description, effects, scope,
/// irreversibility, trust, and what it needs from the runtime.
///
/// The `#[tool]` macro writes it; the agent macro checks cross-tool rules
/// over it at compile time (its helpers are `const fn` for that reason); the
/// runtime mints grants from it and verifies them against it.
///
/// ```
/// use agentsec_core::{Effect, EffectKind, Scope, ToolSpec};
/// const SPEC: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Read, "orders")],
///     scope: Some(Scope::User),
///     ..ToolSpec::new("list_orders", "List the user's orders.")
/// };
/// const { assert!(SPEC.reads_data()) };
/// assert!(!SPEC.changes_state());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ToolSpec {
    /// The name the model calls the tool by.
    pub name: &'static str,
    /// The description the model sees (the doc comment).
    pub description: &'static str,
    /// Declared effects; empty for a `pure` tool.
    pub effects: &'static [Effect],
    /// Declared `pure`: touches nothing outside itself.
    pub pure: bool,
    /// Whose rows the tool may touch.
    pub scope: Option<Scope>,
    /// Set when the tool is `#[irreversible]`.
    pub irreversible: Option<Irreversibility>,
    /// The tool returns external content that must be treated as data.
    pub untrusted: bool,
    /// Retrying with the same idempotency key is safe.
    pub idempotent: bool,
    /// Names of the secrets the tool takes (`#[secret("name")]`).
    pub secrets: &'static [&'static str],
    /// Application-state types the tool takes (`#[state]`).
    pub state: &'static [StateRequirement],
    /// The arguments whose value must not come from untrusted content
    /// alone (`#[sink]`, plus the defaults of egress and irreversible
    /// tools), and what happens when one does.
    pub sinks: Sinks,
    /// Where the tool was declared.
    pub location: SourceLocation,
}

impl ToolSpec {
    /// A pure, reversible, trusted spec with only a name and description;
    /// use it with struct-update syntax to write the rest.
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            effects: &[],
            pure: true,
            scope: None,
            irreversible: None,
            untrusted: false,
            idempotent: false,
            secrets: &[],
            state: &[],
            sinks: Sinks::DEFAULT,
            location: SourceLocation {
                file: "",
                line: 0,
                column: 0,
            },
        }
    }

    /// Whether the tool has an effect of `kind`.
    pub const fn has_effect(&self, kind: EffectKind) -> bool {
        let mut i = 0;
        while i < self.effects.len() {
            if self.effects[i].kind as u8 == kind as u8 {
                return true;
            }
            i += 1;
        }
        false
    }

    /// Whether the tool reads stored data.
    pub const fn reads_data(&self) -> bool {
        self.has_effect(EffectKind::Read)
    }

    /// Whether the tool reads data private to a user or tenant.
    pub const fn reads_private_data(&self) -> bool {
        self.reads_data() && !matches!(self.scope, Some(Scope::Global))
    }

    /// Whether the tool sends data outside the system.
    pub const fn has_egress(&self) -> bool {
        self.has_effect(EffectKind::Egress)
    }

    /// Whether the tool writes, deletes or sends anything.
    pub const fn changes_state(&self) -> bool {
        self.has_effect(EffectKind::Write)
            || self.has_effect(EffectKind::Delete)
            || self.has_effect(EffectKind::Egress)
    }

    /// Whether a human must approve each call.
    pub const fn is_irreversible(&self) -> bool {
        self.irreversible.is_some()
    }

    /// Whether two specs have the same tool name (usable in `const`).
    pub const fn same_name(&self, other: &ToolSpec) -> bool {
        const_str_eq(self.name, other.name)
    }
}

/// `str` equality usable in `const` contexts.
pub const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
