use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::{Decision, EffectSet, Policy, PolicyRequest};
use crate::identity::UserIdentity;
use crate::tool::{EffectKind, Scope};
use agentsec_core::identity_args::{IdentityKind, identity_kind};

/// Arguments nested deeper than this are refused rather than scanned.
const MAX_ARGUMENT_DEPTH: usize = 32;

type UserEffects = Arc<dyn Fn(&UserIdentity) -> EffectSet + Send + Sync>;

/// The rules every agent runs under.
///
/// In order, a call is denied when:
/// 1. the application narrowed the agent ([`AgentPermissions`](super::AgentPermissions))
///    and the tool or one of its effects is outside it;
/// 2. the application configured what users may do (per role, or with a
///    function) and the user may not have one of the tool's effects: an agent
///    never exceeds the user it acts for;
/// 3. the tool declares data effects but no scope (only a hand-written spec
///    can: the macro refuses it);
/// 4. a `user`-scoped tool is called without a user, or with arguments naming
///    another user or tenant (it acts on the calling user only);
/// 5. a `tenant`-scoped tool is called by a user without a tenant, or with
///    arguments naming another tenant;
/// 6. a `global`-scoped tool that writes, deletes or sends is called by a
///    user without one of the roles named with
///    [`global_writes_require_role`](Self::global_writes_require_role) (with
///    none named, such calls are always denied).
///
/// Otherwise an `#[irreversible]` tool requires approval, and anything else
/// is allowed.
///
/// ```
/// use agentsec_runtime::identity::UserIdentity;
/// use agentsec_runtime::permission::{DefaultPolicy, Decision, Policy, PolicyRequest};
/// use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
///
/// const PURGE_CACHE: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Delete, "cache")],
///     scope: Some(Scope::Global),
///     pure: false,
///     ..ToolSpec::new("purge_cache", "Purge the CDN cache.")
/// };
/// let policy = DefaultPolicy::new().global_writes_require_role("admin");
/// let args = serde_json::json!({});
/// let decide = |user: &UserIdentity| policy.decide_now(&PolicyRequest {
///     user, agent: "ops", agent_permissions: None, tool: &PURGE_CACHE, arguments: &args,
/// });
/// assert!(decide(&UserIdentity::new("root").with_roles(["admin"])).is_allow());
/// assert!(decide(&UserIdentity::new("intern")).is_deny());
/// ```
#[derive(Clone, Default)]
pub struct DefaultPolicy {
    global_write_roles: BTreeSet<String>,
    role_effects: BTreeMap<String, EffectSet>,
    user_effects: Option<UserEffects>,
}

impl fmt::Debug for DefaultPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultPolicy")
            .field("global_write_roles", &self.global_write_roles)
            .field("role_effects", &self.role_effects)
            .field("user_effects", &self.user_effects.is_some())
            .finish()
    }
}

impl DefaultPolicy {
    /// The default rules, with no per-user limits and global writes denied.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets users holding `role` call global-scoped tools that write, delete
    /// or send. May be given several times (any of the roles suffices).
    pub fn global_writes_require_role(mut self, role: impl Into<String>) -> Self {
        self.global_write_roles.insert(role.into());
        self
    }

    /// Declares what users holding `role` may do. Once any user limit is
    /// configured, a user may do only the union of what their roles (and
    /// [`user_effects`](Self::user_effects)) allow, and agents acting for
    /// them no more.
    pub fn user_effects_for_role(mut self, role: impl Into<String>, effects: EffectSet) -> Self {
        self.role_effects
            .entry(role.into())
            .or_default()
            .extend(&effects);
        self
    }

    /// Declares what a user may do with a function (for limits kept outside
    /// roles). Combined with the per-role limits by union.
    pub fn user_effects(
        mut self,
        effects: impl Fn(&UserIdentity) -> EffectSet + Send + Sync + 'static,
    ) -> Self {
        self.user_effects = Some(Arc::new(effects));
        self
    }

    /// What `user` may do, or `None` when no user limit is configured.
    fn allowed_for(&self, user: &UserIdentity) -> Option<EffectSet> {
        if self.role_effects.is_empty() && self.user_effects.is_none() {
            return None;
        }
        let mut allowed = EffectSet::new();
        for role in &user.roles {
            if let Some(effects) = self.role_effects.get(role) {
                allowed.extend(effects);
            }
        }
        if let Some(f) = &self.user_effects {
            allowed.extend(&f(user));
        }
        Some(allowed)
    }
}

impl Policy for DefaultPolicy {
    async fn decide(&self, request: &PolicyRequest<'_>) -> Decision {
        self.decide_now(request)
    }
}

impl DefaultPolicy {
    /// The decision for `request`, computed at once: these rules need no
    /// I/O, so callers outside an async context can ask too.
    pub fn decide_now(&self, request: &PolicyRequest<'_>) -> Decision {
        let tool = request.tool;
        let user = request.user;

        if let Some(permissions) = request.agent_permissions {
            if !permissions.allows_tool(tool.name) {
                return Decision::deny(format!(
                    "agent `{}` is not permitted to call `{}`",
                    request.agent, tool.name
                ));
            }
            if let Some(effect) = permissions.effects.first_missing(tool.effects) {
                return Decision::deny(format!(
                    "agent `{}` is not permitted the effect `{effect}`",
                    request.agent
                ));
            }
        }

        if let Some(allowed) = self.allowed_for(user)
            && let Some(effect) = allowed.first_missing(tool.effects)
        {
            return Decision::deny(format!(
                "the user this agent acts for may not `{effect}`, so the agent may not either"
            ));
        }

        let has_data_effect = tool.effects.iter().any(|e| e.kind.is_data());
        match tool.scope {
            None if has_data_effect => {
                return Decision::deny(format!(
                    "tool `{}` touches data but declares no scope",
                    tool.name
                ));
            }
            None => {}
            Some(Scope::User) => {
                if user.id.trim().is_empty() {
                    return Decision::deny("this tool needs a signed-in user");
                }
                if let Some(reason) = check_arguments(request.arguments, user) {
                    return Decision::deny(reason);
                }
            }
            Some(Scope::Tenant) => {
                if user.tenant.as_deref().is_none_or(|t| t.trim().is_empty()) {
                    return Decision::deny("this tool needs a user who belongs to a tenant");
                }
                if let Some(reason) = check_tenant_arguments(request.arguments, user) {
                    return Decision::deny(reason);
                }
            }
            Some(Scope::Global) => {
                let changes = tool.effects.iter().any(|e| {
                    matches!(
                        e.kind,
                        EffectKind::Write | EffectKind::Delete | EffectKind::Egress
                    )
                });
                if changes && !self.global_write_roles.iter().any(|r| user.has_role(r)) {
                    return Decision::deny(format!(
                        "`{}` changes data shared by everyone; the user lacks the role it requires",
                        tool.name
                    ));
                }
            }
        }

        if let Some(irreversible) = tool.irreversible {
            return Decision::require_approval(match irreversible.reason {
                Some(reason) => format!("`{}` cannot be undone: {reason}", tool.name),
                None => format!("`{}` cannot be undone", tool.name),
            });
        }
        Decision::Allow
    }
}

/// For a user-scoped tool: no argument may name another user or tenant.
fn check_arguments(arguments: &Value, user: &UserIdentity) -> Option<String> {
    let mut found = None;
    scan(arguments, 0, &mut |name, value| match identity_kind(name) {
        Some(IdentityKind::User | IdentityKind::Impersonation) if !names(value, &user.id) => {
            found = Some(
                "this tool acts on the signed-in user only; it cannot be pointed at another user"
                    .to_owned(),
            );
            false
        }
        Some(IdentityKind::Tenant) if !user.tenant.as_deref().is_some_and(|t| names(value, t)) => {
            found = Some("this tool acts within the user's own tenant only".to_owned());
            false
        }
        _ => true,
    })
    .err()
    .or(found)
}

/// For a tenant-scoped tool: no argument may name another tenant.
fn check_tenant_arguments(arguments: &Value, user: &UserIdentity) -> Option<String> {
    let mut found = None;
    scan(arguments, 0, &mut |name, value| match identity_kind(name) {
        Some(IdentityKind::Tenant) if !user.tenant.as_deref().is_some_and(|t| names(value, t)) => {
            found = Some("this tool acts within the user's own tenant only".to_owned());
            false
        }
        Some(IdentityKind::Impersonation) if !names(value, &user.id) => {
            found = Some("this tool acts for the signed-in user only".to_owned());
            false
        }
        _ => true,
    })
    .err()
    .or(found)
}

/// Visits every object member (name normalised) until `visit` returns
/// false. Too deep a document is an error: it is refused, not half-checked.
fn scan(
    value: &Value,
    depth: usize,
    visit: &mut dyn FnMut(&str, &Value) -> bool,
) -> Result<bool, String> {
    if depth > MAX_ARGUMENT_DEPTH {
        return Err("the arguments are nested too deeply".to_owned());
    }
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                if !visit(&normalise(name), member) || !scan(member, depth + 1, visit)? {
                    return Ok(false);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if !scan(item, depth + 1, visit)? {
                    return Ok(false);
                }
            }
        }
        _ => {}
    }
    Ok(true)
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether an argument value names `id` (and nothing else). `null` names
/// nobody and is accepted.
fn names(value: &Value, id: &str) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s == id,
        Value::Number(n) => n.to_string() == id,
        _ => false,
    }
}
