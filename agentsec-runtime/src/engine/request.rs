//! Starting and submitting runs, once per client request: a request id
//! makes `start` and `submit` idempotent, and a run another worker drives is
//! waited for rather than reported as an error.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Agent, AgentRuntime, CheckpointError, EngineError, RunOutcome, RunReport, RunState};
use crate::identity::{RunId, UserIdentity};

/// How often a caller waiting for a run another worker drives looks again.
const WAIT_POLL: Duration = Duration::from_millis(100);

/// The key a client's request id is stored under: scoped to the agent, the
/// tenant and the user, so one user's request id never finds another's run.
pub(crate) fn request_key(agent: &str, user: &UserIdentity, request_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"agentsec-request-v1");
    let tenant = user.tenant.as_deref();
    for part in [
        Some(agent),
        tenant.map(|_| "tenant"),
        tenant,
        Some(user.id.as_str()),
        Some(request_id),
    ]
    .into_iter()
    .flatten()
    {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Whether another writer drives the run (so this caller should wait).
fn driven_elsewhere(error: &EngineError) -> bool {
    matches!(
        error,
        EngineError::Checkpoint(
            CheckpointError::LeaseLost { .. } | CheckpointError::Conflict { .. }
        )
    )
}

impl<A: Agent> AgentRuntime<A> {
    /// Creates the run for `input` (redacted), or finds the one this request
    /// created before. `drive`: this caller drives it (and leases it in the
    /// same write).
    async fn create_for(
        &self,
        user: UserIdentity,
        input: String,
        request_id: Option<&str>,
        drive: bool,
    ) -> Result<(RunState, bool), EngineError> {
        // A credential pasted into the input is not sent to the model or stored.
        let input = self.redactor().redact_str(&input).into_owned();
        let key = request_id.map(|id| request_key(A::SPEC.name, &user, id));
        let mut state = RunState::new(A::SPEC.name, A::SPEC.prompt_version, user, input);
        state.version = 1;
        let stored = self
            .checkpoints
            .create(&state, key.as_deref(), drive)
            .await?;
        if stored.run_id == state.run_id {
            return Ok((stored, true));
        }
        // The same request id with another input is a client bug, not a retry.
        if stored.messages.first() != state.messages.first() {
            return Err(EngineError::RequestReused {
                run_id: stored.run_id,
            });
        }
        Ok((stored, false))
    }

    pub(super) async fn start_request(
        &self,
        user: UserIdentity,
        input: String,
        request_id: Option<&str>,
    ) -> Result<RunReport, EngineError> {
        let (state, created) = self.create_for(user, input, request_id, true).await?;
        let run_id = state.run_id;
        if created {
            match self.drive(state).await {
                Err(error) if driven_elsewhere(&error) => {}
                other => return other,
            }
        }
        self.await_run(run_id).await
    }

    pub(super) async fn submit_request(
        &self,
        user: UserIdentity,
        input: String,
        request_id: Option<&str>,
    ) -> Result<RunState, EngineError> {
        // Created without a lease: the first worker to claim it drives it.
        let (state, _) = self.create_for(user, input, request_id, false).await?;
        Ok(state)
    }

    /// Drives the run until it ends or pauses, or, while another worker
    /// holds its lease, waits for that worker: taking the run over when its
    /// lease runs out (the worker died).
    async fn await_run(&self, run_id: RunId) -> Result<RunReport, EngineError> {
        loop {
            let mut state = self.state(run_id).await?;
            if let Some(outcome) = RunOutcome::of(&state) {
                return Ok(RunReport {
                    run_id,
                    outcome,
                    state,
                });
            }
            // Saving takes the lease when it is free (or ours).
            let result = match self.save(&mut state).await {
                Ok(()) => self.drive(state).await,
                Err(error) => Err(error),
            };
            match result {
                Err(error) if driven_elsewhere(&error) => tokio::time::sleep(WAIT_POLL).await,
                other => return other,
            }
        }
    }

    /// [`start`](AgentRuntime::start) for a client request: `request_id`
    /// (the client's idempotency key, e.g. a request header) creates the run
    /// once. Called again with the same request id, by the same user of the
    /// same tenant, it creates nothing and reports that run (driving or
    /// waiting for it until it ends or pauses), so a client that retries
    /// after a timeout or a crash gets one run. The same request id with
    /// another input is [`EngineError::RequestReused`].
    ///
    /// ```
    /// use agentsec_runtime::engine::AgentRuntime;
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
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let model = ScriptedModel::new([ScriptedReply::text("Hello!")]);
    /// let runtime = AgentRuntime::<Greeter>::builder().model(model).build().await.unwrap();
    /// let alice = UserIdentity::new("alice");
    /// let first = runtime.start_with_key(alice.clone(), "Hi", "req-42").await.unwrap();
    /// // The retry finds the run (the model is not asked again).
    /// let again = runtime.start_with_key(alice, "Hi", "req-42").await.unwrap();
    /// assert_eq!(first.run_id, again.run_id);
    /// # });
    /// ```
    pub async fn start_with_key(
        &self,
        user: UserIdentity,
        input: impl Into<String>,
        request_id: &str,
    ) -> Result<RunReport, EngineError> {
        self.start_request(user, input.into(), Some(request_id))
            .await
    }

    /// [`submit`](AgentRuntime::submit) for a client request: the same
    /// `request_id` (same user, same tenant) creates the run once and
    /// returns its current state afterwards. The same request id with
    /// another input is [`EngineError::RequestReused`].
    pub async fn submit_with_key(
        &self,
        user: UserIdentity,
        input: impl Into<String>,
        request_id: &str,
    ) -> Result<RunState, EngineError> {
        self.submit_request(user, input.into(), Some(request_id))
            .await
    }
}
