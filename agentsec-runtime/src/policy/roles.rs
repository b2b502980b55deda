use std::collections::{BTreeMap, BTreeSet};

use super::{Decision, EffectSet, Policy, PolicyRequest};
use crate::tool::ToolSpec;

/// What one role allows: tools by name, and effects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleRules {
    tools: BTreeSet<String>,
    effects: EffectSet,
}

impl RoleRules {
    /// A role that allows nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows the tools named.
    pub fn tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tools.extend(tools.into_iter().map(Into::into));
        self
    }

    /// Allows every tool all of whose effects are in `effects`.
    pub fn effects(mut self, effects: EffectSet) -> Self {
        self.effects.extend(&effects);
        self
    }

    /// Whether the role allows `tool`: it names it, or allows all its
    /// effects (so a `pure` tool, which has none, is allowed by every role).
    pub fn permits(&self, tool: &ToolSpec) -> bool {
        self.tools.contains(tool.name) || self.effects.first_missing(tool.effects).is_none()
    }
}

/// Role-based access: each role of the user allows some tools and effects;
/// a call is allowed when one of the user's roles allows it, and denied
/// otherwise (a user with no configured role can call nothing).
///
/// ```
/// use agentsec_runtime::identity::UserIdentity;
/// use agentsec_runtime::permission::{EffectSet, Policy, PolicyRequest, RolePolicy, RoleRules};
/// use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
///
/// const REFUND: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Write, "payments")],
///     scope: Some(Scope::User),
///     pure: false,
///     ..ToolSpec::new("refund_order", "Refund an order.")
/// };
/// let policy = RolePolicy::new()
///     .role("support", RoleRules::new().effects(EffectSet::parse(["read:*"]).unwrap()))
///     .role("billing", RoleRules::new().tools(["refund_order"]));
///
/// let args = serde_json::json!({ "order_id": "o-1" });
/// let decide = |user: &UserIdentity| policy.decide_now(&PolicyRequest {
///     user, agent: "support", agent_permissions: None, tool: &REFUND, arguments: &args,
/// });
/// assert!(decide(&UserIdentity::new("bob").with_roles(["billing"])).is_allow());
/// assert!(decide(&UserIdentity::new("sue").with_roles(["support"])).is_deny());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RolePolicy {
    roles: BTreeMap<String, RoleRules>,
}

impl RolePolicy {
    /// No roles: denies every call.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or extends) the rules of `role`.
    pub fn role(mut self, role: impl Into<String>, rules: RoleRules) -> Self {
        let entry = self.roles.entry(role.into()).or_default();
        entry.tools.extend(rules.tools);
        entry.effects.extend(&rules.effects);
        self
    }
}

impl Policy for RolePolicy {
    async fn decide(&self, request: &PolicyRequest<'_>) -> Decision {
        self.decide_now(request)
    }
}

impl RolePolicy {
    /// The decision for `request`, computed at once: these rules need no
    /// I/O, so callers outside an async context can ask too.
    pub fn decide_now(&self, request: &PolicyRequest<'_>) -> Decision {
        let allowed = request
            .user
            .roles
            .iter()
            .filter_map(|role| self.roles.get(role))
            .any(|rules| rules.permits(request.tool));
        if allowed {
            Decision::Allow
        } else {
            Decision::deny(format!(
                "none of the user's roles allows `{}`",
                request.tool.name
            ))
        }
    }
}
