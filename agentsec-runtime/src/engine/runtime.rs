//! Building an agent's runtime, and starting and resuming its runs.

use std::marker::PhantomData;
use std::sync::Arc;

use tracing::Instrument;

use super::{Agent, CheckpointError, Checkpoints, MemoryCheckpoints, RunOutcome, RunState};
use crate::guard::{HostAllowlist, InputGuard, RuleGuard};
use crate::identity::{RunId, UserIdentity};
use crate::model::{ModelProvider, PriceTable};
use crate::permission::GrantAuthority;
use crate::policy::{AgentPermissions, DefaultPolicy, DynPolicy, Policy};
use crate::secrets::{MemorySecretStore, Redactor, SecretStore};
use crate::tool::{BuildError, Dispatcher, DispatcherBuilder};
use crate::trace::EventBus;

/// Why the engine could not do what was asked. A run that fails (the model
/// provider is down, a limit is hit) is *not* an error: it is a
/// [`RunOutcome`]. These are errors of the caller or the infrastructure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The runtime was configured wrongly.
    #[error("the runtime is misconfigured: {0}")]
    Config(String),
    /// The agent's tools could not be registered.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Saving or loading a state failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// No run has this id.
    #[error("no run {0}")]
    UnknownRun(RunId),
    /// The run belongs to another agent.
    #[error("run {run_id} belongs to agent `{agent}`")]
    WrongAgent {
        /// The run.
        run_id: RunId,
        /// Its agent.
        agent: String,
    },
    /// The run is not waiting for approvals.
    #[error("run {run_id} is not awaiting approval (it is {phase})")]
    NotAwaitingApproval {
        /// The run.
        run_id: RunId,
        /// Where it is.
        phase: &'static str,
    },
    /// A decision names a call that is not waiting for approval in this run.
    #[error("call {call_id} of run {run_id} is not waiting for approval")]
    NotPending {
        /// The run.
        run_id: RunId,
        /// The call.
        call_id: crate::identity::CallId,
    },
    /// Edited arguments do not fit the tool's schema, or the policy refuses them.
    #[error("the edited arguments of call {call_id} are refused: {error}")]
    InvalidEdit {
        /// The call.
        call_id: crate::identity::CallId,
        /// Why.
        error: String,
    },
    /// The model provider's configuration is unusable (no API key, an
    /// endpoint that is not a URL): found when the runtime is built, before
    /// any run is recorded.
    #[error("agent `{agent}`: the model provider is misconfigured: {error}")]
    Model {
        /// The agent.
        agent: &'static str,
        /// What is wrong.
        error: crate::model::ModelError,
    },
    /// Only a run that failed for a transient model-provider error can be
    /// retried.
    #[error(
        "run {run_id} cannot be retried: it is {phase}, not failed for a transient model-provider error"
    )]
    NotRetryable {
        /// The run.
        run_id: RunId,
        /// Where it is.
        phase: &'static str,
    },
    /// The run is over: it cannot be continued.
    #[error("run {run_id} is finished ({phase})")]
    Finished {
        /// The run.
        run_id: RunId,
        /// How it ended.
        phase: &'static str,
    },
    /// The state said a call was approved, but no signed decision verifies
    /// for it: nothing ran, the run was stopped (failed) and a
    /// [`SecurityEvent::ApprovalIntegrity`](crate::trace::SecurityEvent::ApprovalIntegrity)
    /// was published.
    #[error("run {run_id} was stopped: call {call_id} is marked approved but {reason}")]
    ApprovalIntegrity {
        /// The run.
        run_id: RunId,
        /// The call.
        call_id: crate::identity::CallId,
        /// What did not verify.
        reason: String,
    },
    /// The request id was used before with another input (see
    /// [`AgentRuntime::start_with_key`]).
    #[error("the request id was used before, for run {run_id}, with another input")]
    RequestReused {
        /// The run created with the request id.
        run_id: RunId,
    },
    /// The run does not wait for this call to be reconciled.
    #[error("run {run_id} is not waiting for call {call_id} to be reconciled")]
    NotReconciling {
        /// The run.
        run_id: RunId,
        /// The call named.
        call_id: crate::identity::CallId,
    },
}

/// What a run did: its outcome and the state it ended (or paused) in.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The run.
    pub run_id: RunId,
    /// How it ended, or why it paused.
    pub outcome: RunOutcome,
    /// The state, as saved.
    pub state: RunState,
}

impl RunReport {
    /// The typed record of every call the run made so far, in order: the
    /// model's call id, the tool, the canonical arguments, the decision, the
    /// approval and the outcome of each.
    pub fn calls(&self) -> impl Iterator<Item = &super::PendingCall> {
        self.state.all_calls()
    }
}

/// Builds an [`AgentRuntime`].
pub struct AgentRuntimeBuilder<A> {
    model: Option<Arc<dyn ModelProvider>>,
    tools: DispatcherBuilder,
    secrets: Arc<dyn SecretStore>,
    input_guard: Arc<dyn InputGuard>,
    output_hosts: HostAllowlist,
    policy: Arc<dyn DynPolicy>,
    checkpoints: Arc<dyn Checkpoints>,
    events: EventBus,
    prices: PriceTable,
    audit: bool,
    _agent: PhantomData<fn() -> A>,
}

impl<A: Agent> AgentRuntimeBuilder<A> {
    /// The model provider (required).
    pub fn model(mut self, model: impl ModelProvider) -> Self {
        self.model = Some(Arc::new(model));
        self
    }

    /// A shared model provider.
    pub fn model_arc(mut self, model: Arc<dyn ModelProvider>) -> Self {
        self.model = Some(model);
        self
    }

    /// Application state for the tools' `#[state]` parameters.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.tools = self.tools.state(value);
        self
    }

    /// Application state the caller keeps a handle to; tools see it as `&T`.
    pub fn state_arc<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.tools = self.tools.state_arc(value);
        self
    }

    /// The secret store for the tools' `#[secret]` parameters. Every value
    /// read from it is registered with the runtime's redactor.
    pub fn secrets(mut self, store: impl SecretStore) -> Self {
        self.secrets = Arc::new(store);
        self
    }

    /// A shared secret store.
    pub fn secrets_arc(mut self, store: Arc<dyn SecretStore>) -> Self {
        self.secrets = store;
        self
    }

    /// The screening of untrusted text (default: the built-in [`RuleGuard`]).
    pub fn input_guard(mut self, guard: impl InputGuard + 'static) -> Self {
        self.input_guard = Arc::new(guard);
        self
    }

    /// Hosts that links in answers and outgoing messages may point to with
    /// data in the URL (default: none).
    pub fn output_hosts(mut self, hosts: HostAllowlist) -> Self {
        self.output_hosts = hosts;
        self
    }

    /// The grant authority (default: a fresh random key per runtime).
    pub fn grants(mut self, authority: Arc<GrantAuthority>) -> Self {
        self.tools = self.tools.grants(authority);
        self
    }

    /// The policy deciding each call (default: [`DefaultPolicy`]).
    pub fn policy(mut self, policy: impl Policy) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// A shared policy.
    pub fn policy_arc(mut self, policy: Arc<dyn DynPolicy>) -> Self {
        self.policy = policy;
        self
    }

    /// Where states are saved (default: in memory).
    pub fn checkpoints(mut self, checkpoints: impl Checkpoints) -> Self {
        self.checkpoints = Arc::new(checkpoints);
        self
    }

    /// A shared checkpoint store.
    pub fn checkpoints_arc(mut self, checkpoints: Arc<dyn Checkpoints>) -> Self {
        self.checkpoints = checkpoints;
        self
    }

    /// Where security events go.
    pub fn events(mut self, events: EventBus) -> Self {
        self.events = events;
        self
    }

    /// Opts out of the default audit trail. By default a runtime whose
    /// checkpoints are in a store ([`Checkpoints::audit_store`]) appends
    /// its security events (approvals, denials, irreversible executions,
    /// screening, exfiltration) to that store's hash-chained audit log
    /// through an [`AuditSink`](crate::trace::AuditSink), unless the event
    /// bus given to [`events`](Self::events) has one already.
    pub fn without_audit(mut self) -> Self {
        self.audit = false;
        self
    }

    /// Model prices, for `usd` budgets and cost records.
    pub fn prices(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }

    /// Checks everything the agent's tools need and builds the runtime.
    pub async fn build(self) -> Result<AgentRuntime<A>, EngineError> {
        let model = self.model.ok_or_else(|| {
            EngineError::Config(format!(
                "agent `{}` has no model provider; call `.model(...)`",
                A::SPEC.name
            ))
        })?;
        if A::SPEC.budget.usd.is_some()
            && let Some(name) = A::SPEC.model
            && self.prices.price(name).is_none()
        {
            return Err(EngineError::Config(format!(
                "agent `{}` has a `usd` budget but the price table has no price for model `{name}`",
                A::SPEC.name
            )));
        }
        model
            .check_config()
            .await
            .map_err(|error| EngineError::Model {
                agent: A::SPEC.name,
                error,
            })?;
        // Audit by default: security events of a runtime with a store go to
        // its audit chain, unless the application opted out or wired its own.
        let mut events = self.events;
        let mut audit = None;
        if self.audit
            && !events.has_audit_sink()
            && let Some(store) = self.checkpoints.audit_store()
        {
            let sink = crate::trace::AuditSink::spawn(store)
                .map_err(|e| EngineError::Config(format!("the audit sink: {e}")))?;
            events = events.with(sink.clone());
            audit = Some(sink);
        }
        // The agent's calls go through the dispatcher's call pipeline, with
        // the runtime's policy, guards and events.
        let specs: Vec<_> = A::SPEC.tools.iter().collect();
        let tools = self
            .tools
            .secrets_arc(self.secrets)
            .policy_arc(self.policy)
            .agent_permissions(AgentPermissions::from_specs(&specs))
            .input_guard_arc(self.input_guard)
            .output_hosts(self.output_hosts)
            .events(events.clone());
        let dispatcher = A::register_tools(tools).build().await?;
        // The engine's own events pass the same redactor as the pipeline's.
        let events = events.with_redactor(dispatcher.redactor().clone());
        Ok(AgentRuntime {
            model,
            dispatcher,
            checkpoints: self.checkpoints,
            events,
            prices: self.prices,
            audit,
            _agent: PhantomData,
        })
    }
}

/// Runs agent `A`: starts runs for authenticated users, and resumes runs
/// paused for approval — in this process or another sharing the checkpoints.
///
/// ```
/// use agentsec_runtime::engine::{AgentRuntime, RunOutcome};
/// use agentsec_runtime::identity::UserIdentity;
/// use agentsec_runtime::model::{ScriptedModel, ScriptedReply};
/// # use agentsec_runtime::budget::BudgetSpec;
/// # use agentsec_runtime::engine::{Agent, AgentSpec};
/// # use agentsec_runtime::tool::DispatcherBuilder;
/// # struct Greeter;
/// # impl Agent for Greeter {
/// #     const SPEC: AgentSpec = AgentSpec { name: "greeter", prompt: "Greet.", prompt_version: "0",
/// #         prompt_file: None, tools: &[], max_iterations: 2,
/// #         budget: BudgetSpec { tokens: Some(1_000), ..BudgetSpec::UNLIMITED }, model: None,
/// #         untrusted_input: false };
/// #     fn register_tools(b: DispatcherBuilder) -> DispatcherBuilder { b }
/// # }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let model = ScriptedModel::new([ScriptedReply::text("Hello, Alice!")]);
/// let runtime = AgentRuntime::<Greeter>::builder().model(model).build().await.unwrap();
/// let report = runtime.start(UserIdentity::new("alice"), "Hi").await.unwrap();
/// assert_eq!(report.outcome, RunOutcome::Completed { answer: "Hello, Alice!".into() });
/// # });
/// ```
pub struct AgentRuntime<A> {
    pub(super) model: Arc<dyn ModelProvider>,
    pub(super) dispatcher: Dispatcher,
    pub(super) checkpoints: Arc<dyn Checkpoints>,
    pub(super) events: EventBus,
    pub(super) prices: PriceTable,
    audit: Option<crate::trace::AuditSink>,
    _agent: PhantomData<fn() -> A>,
}

impl<A: Agent> AgentRuntime<A> {
    /// Starts building a runtime for `A`.
    pub fn builder() -> AgentRuntimeBuilder<A> {
        AgentRuntimeBuilder {
            model: None,
            tools: Dispatcher::builder(),
            secrets: Arc::new(MemorySecretStore::new()),
            input_guard: Arc::new(RuleGuard::new()),
            output_hosts: HostAllowlist::default(),
            policy: Arc::new(DefaultPolicy::new()),
            checkpoints: Arc::new(MemoryCheckpoints::new()),
            events: EventBus::default(),
            prices: PriceTable::new(),
            audit: true,
            _agent: PhantomData,
        }
    }

    /// The audit sink the runtime added by default (see
    /// [`AgentRuntimeBuilder::without_audit`]), to
    /// [`flush`](crate::trace::AuditSink::flush) before shutting down;
    /// `None` when the checkpoints are not in a store, the application opted
    /// out, or its event bus has its own audit sink.
    pub fn audit(&self) -> Option<&crate::trace::AuditSink> {
        self.audit.as_ref()
    }

    /// The dispatcher running the agent's tools.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// The redactor: every secret the runtime's tools can read is registered.
    pub fn redactor(&self) -> &Redactor {
        self.dispatcher.redactor()
    }

    /// Starts a run of the agent for `user` (authenticated by the
    /// application) with the user's `input`, and drives it until it
    /// completes, halts, fails or waits for approval. Secrets the redactor
    /// knows are removed from `input` first. The run is created with this
    /// caller's lease in the same write, so no worker drives it meanwhile;
    /// should a worker take it over later, `start` waits for it to end or
    /// pause rather than fail. To retry safely, use
    /// [`start_with_key`](AgentRuntime::start_with_key).
    pub async fn start(
        &self,
        user: UserIdentity,
        input: impl Into<String>,
    ) -> Result<RunReport, EngineError> {
        self.start_request(user, input.into(), None).await
    }

    /// The saved state of a run.
    pub async fn state(&self, run_id: RunId) -> Result<RunState, EngineError> {
        let state = self
            .checkpoints
            .load(run_id)
            .await?
            .ok_or(EngineError::UnknownRun(run_id))?;
        if state.agent != A::SPEC.name {
            return Err(EngineError::WrongAgent {
                run_id,
                agent: state.agent,
            });
        }
        Ok(state)
    }

    /// Saves the state as its next version.
    pub(super) async fn save(&self, state: &mut RunState) -> Result<(), EngineError> {
        state.version += 1;
        self.checkpoints.save(state).await?;
        Ok(())
    }

    pub(super) async fn drive(&self, mut state: RunState) -> Result<RunReport, EngineError> {
        let span = tracing::info_span!(
            "agent.run",
            run_id = %state.run_id,
            agent = A::SPEC.name,
            user = %state.user.id,
            tenant = state.user.tenant.as_deref().unwrap_or(""),
            prompt_version = %state.prompt_version,
            gen_ai.agent.name = A::SPEC.name,
            gen_ai.request.model = A::SPEC.model.unwrap_or(""),
        );
        self.attach_redactor(&mut state).await;
        // The lease this driver holds, as of now: a driver paused past it
        // (another worker took the run over) writes no intent, starts no
        // approved call and records no result (see `once.rs`).
        let fence = match RunOutcome::of(&state) {
            Some(_) => None,
            None => self.checkpoints.fence(state.run_id).await?,
        };
        async {
            loop {
                if let Some(outcome) = RunOutcome::of(&state) {
                    return Ok(RunReport {
                        run_id: state.run_id,
                        outcome,
                        state,
                    });
                }
                // An approved call's intent is committed before the step
                // runs it, and its result right after (see `once.rs`).
                match self.before_step(&mut state, fence.as_ref()).await? {
                    super::once::BeforeStep::Step(guard) => {
                        self.step(&mut state).await;
                        self.note_secrets_read(&mut state);
                        self.after_step(&mut state, guard, fence.as_ref()).await?;
                    }
                    super::once::BeforeStep::Done => {}
                }
                self.save(&mut state).await?;
            }
        }
        .instrument(span)
        .await
    }
}
