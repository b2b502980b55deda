use std::sync::{Arc, OnceLock};

use secrecy::SecretString;

use super::{ApprovalProof, StateMap, ToolError};
use crate::identity::{CallId, RunId, UserIdentity};
use crate::permission::{GrantAuthority, GrantClaims, GrantError, GrantExpectation, LocalGrant};
use crate::secrets::{MemorySecretStore, Redactor, SecretStore};
use crate::tool::ToolSpec;

/// The runtime context of one tool call: who it acts for, which run, step
/// and call it belongs to, the scoped grant it runs under, and access to
/// application state and secrets.
///
/// Tools take it as `ctx: &ToolCtx`. User- and tenant-scoped tools must:
/// the user's identity comes from here, never from the model.
///
/// ```
/// use agentsec_runtime::identity::UserIdentity;
/// use agentsec_runtime::tool::ToolCtx;
/// let ctx = ToolCtx::for_unit_test(UserIdentity::new("alice"));
/// assert_eq!(ctx.user().id, "alice");
/// ```
pub struct ToolCtx {
    pub(crate) tool: &'static str,
    pub(crate) run_id: RunId,
    pub(crate) step: u32,
    pub(crate) call_id: CallId,
    pub(crate) agent: String,
    pub(crate) user: UserIdentity,
    pub(crate) grant: CallGrant,
    pub(crate) authority: Option<Arc<GrantAuthority>>,
    /// The verified grant's claims: set when a JWT is verified, built on
    /// first use from a verified local grant.
    pub(crate) claims: OnceLock<GrantClaims>,
    /// Whether `grant` was verified (and consumed) by the guarded path.
    pub(crate) grant_verified: bool,
    pub(crate) approval: Option<ApprovalProof>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) state: Arc<StateMap>,
    pub(crate) secrets: Arc<dyn SecretStore>,
    /// The run's redactor: every secret the call reads is registered with
    /// it before the tool sees the value.
    pub(crate) redactor: Redactor,
}

impl std::fmt::Debug for ToolCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The grant token is a credential: never printed.
        f.debug_struct("ToolCtx")
            .field("tool", &self.tool)
            .field("run_id", &self.run_id)
            .field("step", &self.step)
            .field("call_id", &self.call_id)
            .field("agent", &self.agent)
            .field("user", &self.user.id)
            .finish_non_exhaustive()
    }
}

impl ToolCtx {
    /// A context for calling a tool's function directly in a unit test.
    ///
    /// It carries no grant and is never one the call pipeline runs a tool
    /// with: the pipeline builds the context of each call itself, after the
    /// call's checks passed.
    pub fn for_unit_test(user: UserIdentity) -> Self {
        Self {
            tool: "",
            run_id: RunId::new(),
            step: 0,
            call_id: CallId::new(),
            agent: "unit-test".into(),
            user,
            grant: CallGrant::None,
            authority: None,
            claims: OnceLock::new(),
            grant_verified: false,
            approval: None,
            idempotency_key: None,
            state: Arc::new(StateMap::new()),
            secrets: Arc::new(MemorySecretStore::new()),
            redactor: Redactor::new(),
        }
    }

    /// Adds application state (for unit tests built with [`ToolCtx::for_unit_test`]).
    pub fn with_state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.state).insert(value);
        self
    }

    /// Replaces the secret store (for unit tests).
    pub fn with_secrets(mut self, store: impl SecretStore) -> Self {
        self.secrets = Arc::new(store);
        self
    }

    /// The run this call belongs to.
    pub fn run_id(&self) -> RunId {
        self.run_id
    }

    /// The step of the run.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// This call's id.
    pub fn call_id(&self) -> CallId {
        self.call_id
    }

    /// The agent making the call.
    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// The user the call acts for.
    pub fn user(&self) -> &UserIdentity {
        &self.user
    }

    /// The tool being called.
    pub fn tool(&self) -> &'static str {
        self.tool
    }

    /// The verified claims of the call's grant; `None` until the guarded path
    /// has verified it (and always in unit-test contexts).
    pub fn grant_claims(&self) -> Option<&GrantClaims> {
        match &self.grant {
            CallGrant::Local(grant) if self.grant_verified => Some(
                self.claims
                    .get_or_init(|| grant.claims(&self.user, &self.agent)),
            ),
            _ => self.claims.get(),
        }
    }

    /// The approval attached to this call, for irreversible tools.
    pub fn approval(&self) -> Option<&ApprovalProof> {
        self.approval.as_ref()
    }

    /// The idempotency key of this call: stable across retries of the same
    /// call (the same on every worker that runs it), so a tool can pass it
    /// to the system it changes. Irreversible tools should always pass it
    /// downstream (payment APIs accept one): with it, an approved call
    /// takes effect exactly once even when a worker stalls inside it and
    /// another takes the run over; a call left in doubt is reported with
    /// this key for an operator to look up.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// Application state of type `T`.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<&T, ToolError> {
        self.state
            .get::<T>()
            .ok_or_else(|| ToolError::MissingState {
                tool: self.tool.to_owned(),
                type_name: std::any::type_name::<T>(),
            })
    }

    /// The secret called `name`, from the runtime's secret store. The value
    /// is registered with the run's redactor before it is returned, so it
    /// cannot reach a trace, a stored state or the model unredacted.
    pub async fn secret(&self, name: &str) -> Result<SecretString, ToolError> {
        let secret = self
            .secrets
            .get(name)
            .await?
            .ok_or_else(|| ToolError::MissingSecret {
                tool: self.tool.to_owned(),
                name: name.to_owned(),
            })?;
        let _ = self.redactor.register_secret(name, &secret);
        Ok(secret)
    }

    /// Verifies the call's grant against `spec` and this context's run and
    /// call, consuming it. The guarded path calls this before the body runs.
    pub(crate) fn verify_grant(&mut self, spec: &ToolSpec) -> Result<(), GrantError> {
        let authority = self.authority.as_ref().ok_or(GrantError::Missing)?;
        let expected = GrantExpectation {
            spec,
            run: self.run_id,
            call: self.call_id,
        };
        let token = match &self.grant {
            CallGrant::None => return Err(GrantError::Missing),
            CallGrant::Local(grant) => {
                // The MAC covers the identity: a grant minted for another
                // user, tenant or agent than the call's does not verify.
                authority.check_local(grant, &expected, &self.user, &self.agent)?;
                self.grant_verified = true;
                return Ok(());
            }
            CallGrant::Jwt(token) => token,
        };
        let claims = authority.verify(token, &expected)?;
        // The identity in the grant must be the identity in the context.
        if claims.sub != self.user.id
            || claims.tenant != self.user.tenant
            || claims.agent != self.agent
        {
            return Err(GrantError::Malformed(
                "the grant names another user, tenant or agent than the call".into(),
            ));
        }
        let _ = self.claims.set(claims);
        self.grant_verified = true;
        Ok(())
    }
}

/// The grant a call runs under, in the form it arrived in.
pub(crate) enum CallGrant {
    /// None (a unit-test context).
    None,
    /// A signed JWT presented from outside the process.
    Jwt(String),
    /// The in-process form the pipeline mints.
    Local(LocalGrant),
}
