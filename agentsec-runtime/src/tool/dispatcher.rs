use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::{
    ArgLimits, BuildError, DynTool, ErasedTool, StateMap, Tool, ToolError, ToolSchema, ToolSpec,
};
use crate::guard::{HostAllowlist, InputGuard, RuleGuard};
use crate::permission::GrantAuthority;
use crate::policy::{AgentPermissions, DefaultPolicy, DynPolicy, Policy};
use crate::secrets::{MemorySecretStore, OutputChecker, RedactingStore, Redactor, SecretStore};
use crate::tool::SinkPolicy;
use crate::tool::identity_args::{is_credential_argument, is_identity_argument_for};
use crate::trace::EventBus;

/// Builds a [`Dispatcher`].
pub struct DispatcherBuilder {
    tools: Vec<Arc<dyn DynTool>>,
    state: StateMap,
    secrets: Arc<dyn SecretStore>,
    grants: Option<Arc<GrantAuthority>>,
    limits: ArgLimits,
    redactor: Redactor,
    policy: Option<Arc<dyn DynPolicy>>,
    permissions: Option<AgentPermissions>,
    input_guard: Option<Arc<dyn InputGuard>>,
    output_hosts: HostAllowlist,
    events: EventBus,
    untrusted_sinks: SinkPolicy,
}

impl DispatcherBuilder {
    /// Registers tool `T`.
    pub fn tool<T: Tool>(mut self) -> Self {
        self.tools.push(Arc::new(ErasedTool::<T>::new()));
        self
    }

    /// Registers a type-erased tool.
    pub fn dyn_tool(mut self, tool: Arc<dyn DynTool>) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds application state tools receive with `#[state]`.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Adds application state the caller keeps a handle to; tools see it as `&T`.
    pub fn state_arc<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.state.insert_arc(value);
        self
    }

    /// Sets the secret store (default: an empty in-memory store).
    pub fn secrets(mut self, store: impl SecretStore) -> Self {
        self.secrets = Arc::new(store);
        self
    }

    /// Sets the secret store from a shared handle.
    pub fn secrets_arc(mut self, store: Arc<dyn SecretStore>) -> Self {
        self.secrets = store;
        self
    }

    /// Sets the grant authority (default: a fresh random key).
    pub fn grants(mut self, authority: Arc<GrantAuthority>) -> Self {
        self.grants = Some(authority);
        self
    }

    /// Sets the argument limits.
    pub fn limits(mut self, limits: ArgLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The policy deciding each call. Without one, the dispatcher uses
    /// [`DefaultPolicy`]: a call is never run undecided.
    pub fn policy(mut self, policy: impl Policy) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// A shared policy.
    pub fn policy_arc(mut self, policy: Arc<dyn DynPolicy>) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Narrows what the agent may do, whatever its users may (the runtime
    /// sets it from the agent's declared tools).
    pub fn agent_permissions(mut self, permissions: AgentPermissions) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// The screening of untrusted tool output (default: the built-in
    /// [`RuleGuard`]).
    pub fn input_guard_arc(mut self, guard: Arc<dyn InputGuard>) -> Self {
        self.input_guard = Some(guard);
        self
    }

    /// Hosts that outgoing messages may link to with data in the URL
    /// (default: none).
    pub fn output_hosts(mut self, hosts: HostAllowlist) -> Self {
        self.output_hosts = hosts;
        self
    }

    /// Where the pipeline's security events go.
    pub fn events(mut self, events: EventBus) -> Self {
        self.events = events;
        self
    }

    /// What happens to a call whose sink argument carries a value only
    /// untrusted content supplied, for every tool of this agent (default
    /// [`SinkPolicy::Deny`]). [`SinkPolicy::Ask`] asks a person instead,
    /// with the warning in the approval request; a tool can also choose it
    /// alone (`#[tool(untrusted_sink = "ask")]`).
    pub fn untrusted_sinks(mut self, policy: SinkPolicy) -> Self {
        self.untrusted_sinks = policy;
        self
    }

    /// Checks every tool's spec and needs and builds the dispatcher. A
    /// broken tool rule, missing state, missing secrets, duplicate names and
    /// identity arguments are reported
    /// here, before any run, naming the tool.
    pub async fn build(mut self) -> Result<Dispatcher, BuildError> {
        // The secrets the tools declare are read once here, to check they
        // exist, and registered with the runtime's redactor: every run's
        // redactor starts from it. A secret read later (a per-user one) is
        // registered with the reading run's redactor only.
        let redactor = Redactor::new();
        let checked = RedactingStore::new(self.secrets.clone(), redactor.clone());
        self.redactor = redactor;
        let mut tools = HashMap::new();
        for tool in self.tools {
            let spec = tool.spec();
            spec.check().map_err(|rule| BuildError::InvalidSpec {
                tool: spec.name.into(),
                rule,
            })?;
            for need in spec.state {
                if !self.state.contains_id((need.type_id)()) {
                    return Err(BuildError::MissingState {
                        tool: spec.name.into(),
                        location: spec.location.to_string(),
                        type_name: need.type_name,
                    });
                }
            }
            for secret in spec.secrets {
                if checked.get(secret).await?.is_none() {
                    return Err(BuildError::MissingSecret {
                        tool: spec.name.into(),
                        secret: (*secret).into(),
                        store: self.secrets.kind(),
                    });
                }
            }
            let schema = tool.schema();
            if !schema.is_object() {
                return Err(BuildError::ArgumentsNotObject(spec.name.into()));
            }
            if let Some(argument) = schema.property_names().find(|p| {
                spec.scope
                    .is_some_and(|scope| is_identity_argument_for(p, scope))
            }) {
                return Err(BuildError::IdentityArgument {
                    tool: spec.name.into(),
                    argument: argument.into(),
                });
            }
            if let Some(argument) = spec
                .sinks
                .declared
                .iter()
                .find(|sink| !schema.property_names().any(|p| p == **sink))
            {
                return Err(BuildError::UnknownSink {
                    tool: spec.name.into(),
                    argument: (*argument).into(),
                });
            }
            if let Some(argument) = schema.property_names().find(|p| is_credential_argument(p)) {
                return Err(BuildError::CredentialArgument {
                    tool: spec.name.into(),
                    argument: argument.into(),
                });
            }
            if tools
                .insert(spec.name, Registered { tool, schema })
                .is_some()
            {
                return Err(BuildError::DuplicateTool(spec.name.into()));
            }
        }
        let redactor = self.redactor;
        Ok(Dispatcher {
            tools,
            state: Arc::new(self.state),
            secrets: self.secrets,
            grants: self
                .grants
                .unwrap_or_else(|| Arc::new(GrantAuthority::random())),
            limits: self.limits,
            names: OnceLock::new(),
            policy: self
                .policy
                .unwrap_or_else(|| Arc::new(DefaultPolicy::new())),
            permissions: self.permissions,
            input_guard: self
                .input_guard
                .unwrap_or_else(|| Arc::new(RuleGuard::new())),
            output: OutputChecker::new(redactor.clone()).with_allowlist(self.output_hosts),
            redactor,
            events: self.events,
            untrusted_sinks: self.untrusted_sinks,
        })
    }
}

pub(crate) struct Registered {
    pub(crate) tool: Arc<dyn DynTool>,
    pub(crate) schema: &'static ToolSchema,
}

/// An agent's tools, and the one call pipeline ([`crate::call`]) every call
/// of them goes through: decoded once and strictly, decided by the policy
/// and the run's guards, approved where needed, run under a grant minted for
/// exactly that call, with a panic caught and the output protected.
///
/// [`dispatch`](Self::dispatch) runs one call through the whole pipeline;
/// the engine runs the same steps with a run's state around them.
///
/// ```
/// use agentsec_runtime::identity::{RunId, UserIdentity};
/// use agentsec_runtime::tool::{CallContext, Dispatcher, Tool, ToolCtx, ToolError, ToolSpec};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct AddArgs { a: i64, b: i64 }
/// struct Add;
/// impl Tool for Add {
///     const SPEC: ToolSpec = ToolSpec::new("add", "Add two integers.");
///     type Args = AddArgs;
///     type Output = i64;
///     async fn execute(_: &ToolCtx, args: AddArgs) -> Result<i64, ToolError> { Ok(args.a + args.b) }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dispatcher = Dispatcher::builder().tool::<Add>().build().await.unwrap();
/// let call = CallContext::new(RunId::new(), 1, "calculator", UserIdentity::new("alice"));
/// let sum = dispatcher.dispatch(&call, "add", r#"{"a": 2, "b": 3}"#).await.unwrap();
/// assert_eq!(sum, 5);
/// let err = dispatcher.dispatch(&call, "add", r#"{"a": "two", "b": 3}"#).await.unwrap_err();
/// assert!(err.to_string().contains("field `a`"));
/// # });
/// ```
pub struct Dispatcher {
    pub(crate) tools: HashMap<&'static str, Registered>,
    pub(crate) state: Arc<StateMap>,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) grants: Arc<GrantAuthority>,
    pub(crate) limits: ArgLimits,
    names: OnceLock<Vec<&'static str>>,
    pub(crate) policy: Arc<dyn DynPolicy>,
    pub(crate) permissions: Option<AgentPermissions>,
    pub(crate) input_guard: Arc<dyn InputGuard>,
    pub(crate) output: OutputChecker,
    pub(crate) redactor: Redactor,
    pub(crate) events: EventBus,
    pub(crate) untrusted_sinks: SinkPolicy,
}

impl Dispatcher {
    /// Starts building a dispatcher.
    pub fn builder() -> DispatcherBuilder {
        DispatcherBuilder {
            tools: Vec::new(),
            state: StateMap::new(),
            secrets: Arc::new(MemorySecretStore::new()),
            grants: None,
            limits: ArgLimits::default(),
            redactor: Redactor::new(),
            policy: None,
            permissions: None,
            input_guard: None,
            output_hosts: HostAllowlist::default(),
            events: EventBus::default(),
            untrusted_sinks: SinkPolicy::Deny,
        }
    }

    /// The spec of the tool called `name`.
    pub fn spec(&self, name: &str) -> Option<&'static ToolSpec> {
        self.tools.get(name).map(|r| r.tool.spec())
    }

    /// The schemas of every tool, sorted by name (what the model is shown).
    pub fn schemas(&self) -> Vec<&ToolSchema> {
        let mut schemas: Vec<&ToolSchema> = self.tools.values().map(|r| r.schema).collect();
        schemas.sort_by_key(|s| s.name);
        schemas
    }

    /// The schema of the tool called `name`.
    pub fn schema(&self, name: &str) -> Option<&ToolSchema> {
        self.tools.get(name).map(|r| r.schema)
    }

    /// The grant authority calls are minted by.
    pub fn grants(&self) -> &Arc<GrantAuthority> {
        &self.grants
    }

    /// The secret store tools read from (a value a call reads is registered
    /// with that call's run redactor, see [`Redactor::scoped`]).
    pub fn secret_store(&self) -> &Arc<dyn SecretStore> {
        &self.secrets
    }

    /// The application state of type `T` the tools receive, if it was given.
    pub fn state_of<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.state.get::<T>()
    }

    /// The runtime's redactor: the secrets the tools declare, registered when
    /// the dispatcher was built. Each run redacts with a
    /// [`scoped`](Redactor::scoped) copy that adds the secrets it read.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The security events the pipeline publishes.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Checks that the tool exists and `raw_args` decode into its arguments,
    /// without running it.
    pub fn validate(&self, name: &str, raw_args: &str) -> Result<(), ToolError> {
        self.decode(name, raw_args).map(drop)
    }

    /// The number of registered tools.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    pub(crate) fn lookup(&self, name: &str) -> Result<&Registered, ToolError> {
        self.tools.get(name).ok_or_else(|| ToolError::UnknownTool {
            name: name.to_owned(),
            suggestion: closest(name, self.names()),
        })
    }

    fn names(&self) -> &[&'static str] {
        self.names.get_or_init(|| {
            let mut names: Vec<_> = self.tools.keys().copied().collect();
            names.sort_unstable();
            names
        })
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough
/// to be a plausible typo.
pub(crate) fn closest(name: &str, candidates: &[&str]) -> Option<String> {
    agentsec_core::suggest::closest(name, candidates).map(str::to_owned)
}
