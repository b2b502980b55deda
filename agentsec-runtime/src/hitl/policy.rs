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

    /// Whether `approver` may decide for `run`; `approving` is false for a
    /// rejection (the requesting user may always withdraw their own request).
    pub fn check(
        &self,
        approver: &UserIdentity,
        run: &RunRecord,
        approving: bool,
    ) -> Result<(), String> {
        if self.same_tenant
            && let Some(tenant) = &run.tenant
            && approver.tenant.as_ref() != Some(tenant)
        {
            return Err(format!("the run belongs to tenant `{tenant}`"));
        }
        let own = approver.id == run.user_id;
        if own && !approving {
            return Ok(());
        }
        if let Some(role) = &self.required_role
            && !approver.has_role(role)
        {
            return Err(format!("deciding needs the role `{role}`"));
        }
        if approving && self.distinct_approver && own {
            return Err(
                "four eyes: the requesting user cannot approve their own run's call".into(),
            );
        }
        Ok(())
    }
}
