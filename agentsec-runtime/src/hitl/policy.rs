use crate::identity::UserIdentity;
use crate::store::RunRecord;

/// Who may decide approvals.
///
/// ```
/// use agentsec_runtime::hitl::ApprovalPolicy;
/// let policy = ApprovalPolicy::default().four_eyes().require_role("refund-approver");
/// assert!(policy.distinct_approver);
/// ```
#[derive(Clone, Debug)]
pub struct ApprovalPolicy {
    /// The approver must not be the user the run acts for (four eyes).
    pub distinct_approver: bool,
    /// The approver must hold this role.
    pub required_role: Option<String>,
    /// The approver must belong to the run's tenant, when it has one
    /// (default: on).
    pub same_tenant: bool,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            distinct_approver: false,
            required_role: None,
            same_tenant: true,
        }
    }
}

impl ApprovalPolicy {
    /// Requires an approver other than the requesting user.
    pub fn four_eyes(mut self) -> Self {
        self.distinct_approver = true;
        self
    }

    /// Requires the approver to hold `role`.
    pub fn require_role(mut self, role: impl Into<String>) -> Self {
        self.required_role = Some(role.into());
        self
    }

    /// Whether `approver` may decide a call of `run` (`approving` or
    /// rejecting). Checked where a decision is made and again where it is
    /// applied (`Approvals::resume`), against the identity signed into the
    /// decision, so a decision made by another process (the CLI) with a
    /// weaker policy does not run.
    ///
    /// ```
    /// use agentsec_runtime::hitl::{ApprovalPolicy, PolicyViolation};
    /// use agentsec_runtime::identity::UserIdentity;
    /// # use agentsec_runtime::store::{RunRecord, RunStatus, UnixMillis};
    /// # let run = RunRecord { id: agentsec_runtime::identity::RunId::new(), agent: "support".into(),
    /// #     user_id: "alice".into(), tenant: Some("acme".into()), status: RunStatus::AwaitingApproval,
    /// #     state: serde_json::json!({}), version: 1, created_at: UnixMillis(0), updated_at: UnixMillis(0),
    /// #     lease_owner: None, lease_until: None };
    /// let policy = ApprovalPolicy::default().four_eyes().require_role("support-lead");
    /// let alice = UserIdentity::new("alice").with_tenant("acme");
    /// let err = policy.check(&alice, &run, true).unwrap_err();
    /// assert!(matches!(err, PolicyViolation::MissingRole { .. }));
    /// assert_eq!(err.fix(), "--role support-lead");
    /// let lead = UserIdentity::new("lee").with_tenant("acme").with_roles(["support-lead"]);
    /// assert!(policy.check(&lead, &run, true).is_ok());
    /// ```
    pub fn check(
        &self,
        approver: &UserIdentity,
        run: &RunRecord,
        approving: bool,
    ) -> Result<(), PolicyViolation> {
        if self.same_tenant
            && let Some(tenant) = &run.tenant
            && approver.tenant.as_ref() != Some(tenant)
        {
            return Err(PolicyViolation::OtherTenant {
                tenant: tenant.clone(),
            });
        }
        let own = approver.id == run.user_id;
        if own && !approving {
            return Ok(());
        }
        if let Some(role) = &self.required_role
            && !approver.has_role(role)
        {
            return Err(PolicyViolation::MissingRole { role: role.clone() });
        }
        if approving && self.distinct_approver && own {
            return Err(PolicyViolation::OwnCall);
        }
        Ok(())
    }
}

/// Why an [`ApprovalPolicy`] refuses a decider.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// The run belongs to a tenant the decider is not in.
    #[error("the run belongs to tenant `{}`", crate::escape::Echo(tenant))]
    OtherTenant {
        /// The run's tenant.
        tenant: String,
    },
    /// The decider lacks the role the policy requires.
    #[error("deciding needs the role `{}`", crate::escape::Echo(role))]
    MissingRole {
        /// The role required.
        role: String,
    },
    /// Four eyes: the user the run acts for cannot approve its calls.
    #[error("four eyes: the requesting user cannot approve their own run's call")]
    OwnCall,
}

impl PolicyViolation {
    /// The command-line flag of `agentsec approvals approve|reject` that
    /// would satisfy the policy.
    pub fn fix(&self) -> String {
        match self {
            PolicyViolation::OtherTenant { tenant } => {
                format!("--tenant {}", crate::escape::echo(tenant))
            }
            PolicyViolation::MissingRole { role } => {
                format!("--role {}", crate::escape::echo(role))
            }
            PolicyViolation::OwnCall => "--as <another user>".into(),
        }
    }
}
