//! The policy that decides each tool call before a grant is minted.
//!
//! The runtime asks a [`Policy`] about every call the model proposes, with
//! the user the run acts for, the agent, the tool's static [`ToolSpec`] and
//! the model's arguments. The answer is to run it, refuse it (with a reason
//! the model may see), or pause for a person. [`DefaultPolicy`] holds the
//! rules every agent needs; [`RolePolicy`] shows an application rule;
//! [`PolicySet`] composes them so that the first refusal wins.

mod default;
mod effects;
mod roles;

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

pub use default::DefaultPolicy;
pub use effects::{AgentPermissions, EffectSet, PolicyError};
pub use roles::{RolePolicy, RoleRules};

use crate::BoxFuture;
use crate::identity::UserIdentity;
use crate::tool::ToolSpec;

/// Everything a policy sees about one proposed tool call.
#[derive(Clone, Copy, Debug)]
pub struct PolicyRequest<'a> {
    /// The user the run acts for.
    pub user: &'a UserIdentity,
    /// The agent proposing the call.
    pub agent: &'a str,
    /// What the application allows this agent, if it narrowed it.
    pub agent_permissions: Option<&'a AgentPermissions>,
    /// The tool's static description.
    pub tool: &'a ToolSpec,
    /// The arguments the model supplied (not yet trusted).
    pub arguments: &'a Value,
}

/// A policy's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Run the call.
    Allow,
    /// Refuse the call. The reason is returned to the model as the tool's
    /// result, so it must not reveal anything the model may not know.
    Deny {
        /// Why.
        reason: String,
    },
    /// Pause the run until a person approves this exact call.
    RequireApproval {
        /// What the approver is told.
        reason: String,
    },
}

impl Decision {
    /// A denial with `reason`.
    pub fn deny(reason: impl Into<String>) -> Self {
        Decision::Deny {
            reason: reason.into(),
        }
    }

    /// An approval requirement with `reason`.
    pub fn require_approval(reason: impl Into<String>) -> Self {
        Decision::RequireApproval {
            reason: reason.into(),
        }
    }

    /// Whether the call may run without a person.
    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow)
    }

    /// Whether the call is refused.
    pub fn is_deny(&self) -> bool {
        matches!(self, Decision::Deny { .. })
    }

    /// The reason of a denial or approval requirement.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Decision::Allow => None,
            Decision::Deny { reason } | Decision::RequireApproval { reason } => Some(reason),
        }
    }
}

/// Decides tool calls. Implement it for application rules and compose with
/// [`PolicySet`]. `decide` is `async`, so a rule may consult a database or a
/// service; rules that need no I/O just return.
///
/// ```
/// use agentsec_runtime::identity::UserIdentity;
/// use agentsec_runtime::policy::{Decision, Policy, PolicyRequest};
/// use agentsec_runtime::tool::ToolSpec;
///
/// /// No tool calls outside office hours (the hour comes from a clock in real code).
/// struct OfficeHours { hour: u8 }
/// impl Policy for OfficeHours {
///     async fn decide(&self, _request: &PolicyRequest<'_>) -> Decision {
///         if (8..18).contains(&self.hour) { Decision::Allow }
///         else { Decision::deny("tools are available from 08:00 to 18:00") }
///     }
/// }
///
/// const SPEC: ToolSpec = ToolSpec::new("now", "The time.");
/// let user = UserIdentity::new("alice");
/// let args = serde_json::json!({});
/// let request = PolicyRequest {
///     user: &user, agent: "support", agent_permissions: None,
///     tool: &SPEC, arguments: &args,
/// };
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert!(OfficeHours { hour: 23 }.decide(&request).await.is_deny());
/// # });
/// ```
pub trait Policy: Send + Sync + 'static {
    /// The decision for one proposed call.
    fn decide(&self, request: &PolicyRequest<'_>) -> impl Future<Output = Decision> + Send;
}

/// A [`Policy`] behind a pointer (`Arc<dyn DynPolicy>`), as the runtime and
/// [`PolicySet`] hold them. Implemented for every `Policy`; not implemented
/// by hand.
pub trait DynPolicy: Send + Sync + 'static {
    /// [`Policy::decide`], boxed.
    fn decide_boxed<'a>(&'a self, request: &'a PolicyRequest<'a>) -> BoxFuture<'a, Decision>;
    /// The policy's type name, recorded with a denial so an investigation
    /// knows which rule refused the call.
    fn policy_name(&self) -> &'static str;
}

impl<P: Policy> DynPolicy for P {
    fn decide_boxed<'a>(&'a self, request: &'a PolicyRequest<'a>) -> BoxFuture<'a, Decision> {
        Box::pin(self.decide(request))
    }

    fn policy_name(&self) -> &'static str {
        let name = std::any::type_name::<P>();
        // `agentsec_runtime::policy::default::DefaultPolicy` → `DefaultPolicy`.
        name.rsplit("::").next().unwrap_or(name)
    }
}

/// Several policies asked in order: the first denial wins; otherwise the
/// first approval requirement; otherwise the call is allowed. An empty set
/// denies everything, so a forgotten configuration fails closed.
///
/// ```
/// use agentsec_runtime::identity::UserIdentity;
/// use agentsec_runtime::policy::{
///     DefaultPolicy, EffectSet, Policy, PolicyRequest, PolicySet, RolePolicy, RoleRules,
/// };
/// use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
///
/// const LIST_ORDERS: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Read, "orders")],
///     scope: Some(Scope::User),
///     pure: false,
///     ..ToolSpec::new("list_orders", "List the user's orders.")
/// };
/// let policy = PolicySet::new()
///     .with(DefaultPolicy::new())
///     .with(RolePolicy::new().role(
///         "customer",
///         RoleRules::new().effects(EffectSet::parse(["read:orders"]).unwrap()),
///     ));
///
/// let args = serde_json::json!({ "limit": 5 });
/// let ask = |user: UserIdentity| {
///     let (policy, args) = (&policy, &args);
///     async move {
///         policy.decide(&PolicyRequest {
///             user: &user, agent: "support", agent_permissions: None,
///             tool: &LIST_ORDERS, arguments: args,
///         }).await
///     }
/// };
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert!(ask(UserIdentity::new("alice").with_roles(["customer"])).await.is_allow());
/// assert!(ask(UserIdentity::new("mallory")).await.is_deny());
/// # });
/// ```
#[derive(Clone, Default)]
pub struct PolicySet {
    policies: Vec<Arc<dyn DynPolicy>>,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("policies", &self.policies.len())
            .finish()
    }
}

impl PolicySet {
    /// An empty set (which denies everything until a policy is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a policy, asked after the ones already added.
    pub fn with(mut self, policy: impl Policy + 'static) -> Self {
        self.policies.push(Arc::new(policy));
        self
    }

    /// Adds a shared policy.
    pub fn with_shared(mut self, policy: Arc<dyn DynPolicy>) -> Self {
        self.policies.push(policy);
        self
    }

    /// How many policies the set holds.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether the set holds no policy.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

impl Policy for PolicySet {
    async fn decide(&self, request: &PolicyRequest<'_>) -> Decision {
        if self.policies.is_empty() {
            return Decision::deny("no policy is configured for tool calls");
        }
        let mut approval = None;
        for policy in &self.policies {
            match policy.decide_boxed(request).await {
                deny @ Decision::Deny { .. } => return deny,
                require @ Decision::RequireApproval { .. } => {
                    approval.get_or_insert(require);
                }
                Decision::Allow => {}
            }
        }
        approval.unwrap_or(Decision::Allow)
    }
}
