use serde::{Deserialize, Serialize};

/// The authenticated user an agent run acts for.
///
/// It comes from the application's own authentication layer (a session
/// token), never from the model: tools read it from their
/// [`ToolCtx`](crate::tool::ToolCtx).
///
/// ```
/// use agentsec_runtime::identity::UserIdentity;
/// let alice = UserIdentity::new("alice").with_tenant("acme").with_roles(["support"]);
/// assert_eq!(alice.id, "alice");
/// assert!(alice.has_role("support"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIdentity {
    /// The user's stable id (the `sub` of the session token).
    pub id: String,
    /// The tenant (organisation) the user belongs to, if the application has tenants.
    pub tenant: Option<String>,
    /// Roles the application granted the user.
    pub roles: Vec<String>,
    /// The session the identity was established in, if known.
    pub session: Option<String>,
}

impl UserIdentity {
    /// A user with an id and no tenant, roles or session.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            tenant: None,
            roles: Vec::new(),
            session: None,
        }
    }

    /// Sets the tenant.
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Replaces the roles.
    pub fn with_roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the session id.
    pub fn with_session(mut self, session: impl Into<String>) -> Self {
        self.session = Some(session.into());
        self
    }

    /// Whether the user holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}
