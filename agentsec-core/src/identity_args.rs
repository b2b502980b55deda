//! Names of model-visible arguments that would carry an identity or a
//! credential.
//!
//! Identity comes from the run's context (`ctx.user()`), never from the
//! model; secrets come from the secret store (`#[secret("name")]`), never
//! through the model. The `#[tool]` macro refuses these names as
//! model-visible parameters at compile time, the dispatcher builder refuses
//! them among a hand-written tool's schema properties, and the default
//! policy recognises the same names in a call's arguments.
//!
//! Names are compared after [`normalize`]: lower case, without a leading
//! `r#` or `_`, and without `_` and `-`, so `user_id`, `userId`, `UserID`
//! and `user-id` are one name.
//!
//! # Which names are identity, by scope
//!
//! - [`IdentityKind::User`] names (`user_id`, `uid`, `username`, `owner_id`,
//!   `account_id`, `customer_id`, ...) say whose rows a call touches. They are
//!   identity on a `user`-scoped tool. On a `tenant`-scoped tool they are
//!   identity too, except `customer_id`: a tenant's customers are records the
//!   tenant owns (a shop looks one up), not the caller.
//! - [`IdentityKind::Tenant`] names (`tenant_id`, `org_id`,
//!   `organization_id`, `workspace_id`, ...) say whose tenant: identity on
//!   `user`- and `tenant`-scoped tools.
//! - [`IdentityKind::Impersonation`] names (`principal`, `as_user`,
//!   `on_behalf_of`, `impersonate`) ask to act as somebody else: identity on
//!   `user`- and `tenant`-scoped tools.
//! - A `global`-scoped tool has no caller-owned rows: no name is identity
//!   there (the policy restricts global writes to roles instead).
//!
//! ```
//! use agentsec_core::Scope;
//! use agentsec_core::identity_args::{is_credential_argument, is_identity_argument_for};
//! assert!(is_identity_argument_for("uid", Scope::User));
//! assert!(is_identity_argument_for("workspaceId", Scope::Tenant));
//! assert!(is_identity_argument_for("customer_id", Scope::User));
//! assert!(!is_identity_argument_for("customer_id", Scope::Tenant));
//! assert!(!is_identity_argument_for("user_id", Scope::Global));
//! assert!(is_credential_argument("api_key"));
//! assert!(!is_credential_argument("order_id"));
//! ```

use crate::tool::Scope;

/// What an identity-carrying argument name identifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdentityKind {
    /// A user (or the owner of rows): `user_id`, `uid`, `owner_id`, ...
    User,
    /// A tenant: `tenant_id`, `org_id`, `workspace_id`, ...
    Tenant,
    /// Acting as somebody else: `principal`, `on_behalf_of`, ...
    Impersonation,
}

/// Normalized names of a user (see [`normalize`]).
pub const USER_ARGUMENTS: &[&str] = &[
    "userid",
    "uid",
    "user",
    "username",
    "useremail",
    "ownerid",
    "owner",
    "accountid",
    "customerid",
];

/// Normalized names that are a user's only where the scope is the user's:
/// on a `tenant`-scoped tool they name the tenant's records.
const USER_ONLY_ARGUMENTS: &[&str] = &["customerid"];

/// Normalized names of a tenant.
pub const TENANT_ARGUMENTS: &[&str] = &[
    "tenantid",
    "tenant",
    "orgid",
    "org",
    "organizationid",
    "organisationid",
    "workspaceid",
];

/// Normalized names asking to act as somebody else.
pub const IMPERSONATION_ARGUMENTS: &[&str] = &[
    "principal",
    "principalid",
    "asuser",
    "onbehalfof",
    "impersonate",
    "actas",
];

/// Every identity-carrying name, as written in code (for messages and
/// documentation; matching uses the normalized lists).
pub const IDENTITY_ARGUMENTS: &[&str] = &[
    "user_id",
    "uid",
    "user",
    "username",
    "user_email",
    "owner_id",
    "owner",
    "account_id",
    "customer_id",
    "tenant_id",
    "tenant",
    "org_id",
    "org",
    "organization_id",
    "organisation_id",
    "workspace_id",
    "principal",
    "principal_id",
    "as_user",
    "on_behalf_of",
    "impersonate",
    "act_as",
];

/// Normalized names of credentials: a model-visible argument so named
/// would carry a secret through the model provider and the run's records.
pub const CREDENTIAL_ARGUMENTS: &[&str] = &[
    "apikey",
    "apitoken",
    "apisecret",
    "accesskey",
    "secretaccesskey",
    "secretkey",
    "privatekey",
    "signingkey",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "token",
    "accesstoken",
    "refreshtoken",
    "authtoken",
    "bearertoken",
    "sessiontoken",
    "idtoken",
    "secret",
    "clientsecret",
    "webhooksecret",
    "credential",
    "credentials",
    "authorization",
];

/// `name` lower-cased, without a leading `r#` or `_`, and without `_`/`-`.
///
/// ```
/// assert_eq!(agentsec_core::identity_args::normalize("r#User_Id"), "userid");
/// ```
pub fn normalize(name: &str) -> String {
    name.trim_start_matches("r#")
        .trim_start_matches('_')
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// What `name` identifies, whatever the scope.
pub fn identity_kind(name: &str) -> Option<IdentityKind> {
    let name = normalize(name);
    let name = name.as_str();
    if USER_ARGUMENTS.contains(&name) {
        Some(IdentityKind::User)
    } else if TENANT_ARGUMENTS.contains(&name) {
        Some(IdentityKind::Tenant)
    } else if IMPERSONATION_ARGUMENTS.contains(&name) {
        Some(IdentityKind::Impersonation)
    } else {
        None
    }
}

/// Whether `name`, as a model-visible argument of a tool of `scope`, would
/// let the model choose whose data the tool touches (see the module docs).
pub fn is_identity_argument_for(name: &str, scope: Scope) -> bool {
    match scope {
        Scope::Global => false,
        Scope::User => identity_kind(name).is_some(),
        Scope::Tenant => {
            identity_kind(name).is_some()
                && !USER_ONLY_ARGUMENTS.contains(&normalize(name).as_str())
        }
    }
}

/// Whether `name` carries an identity on a `user`-scoped tool (the widest
/// reading).
pub fn is_identity_argument(name: &str) -> bool {
    is_identity_argument_for(name, Scope::User)
}

/// Whether `name` is named like a credential.
pub fn is_credential_argument(name: &str) -> bool {
    CREDENTIAL_ARGUMENTS.contains(&normalize(name).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_former_lists_are_covered() {
        // The macro's former list missed `uid` and `workspace_id`; the
        // policy's missed `principal` and `on_behalf_of`.
        for name in ["uid", "workspace_id", "principal", "on_behalf_of"] {
            assert!(is_identity_argument_for(name, Scope::User), "{name}");
            assert!(is_identity_argument_for(name, Scope::Tenant), "{name}");
        }
        for name in IDENTITY_ARGUMENTS {
            assert!(is_identity_argument(name), "{name}");
            assert!(!is_identity_argument_for(name, Scope::Global), "{name}");
        }
    }

    #[test]
    fn spelling_does_not_matter() {
        for name in [
            "userId",
            "USER_ID",
            "user-id",
            "_user_id",
            "r#user_id",
            "OrgID",
        ] {
            assert!(is_identity_argument(name), "{name}");
        }
    }

    #[test]
    fn customer_id_is_a_record_of_a_tenant() {
        assert!(is_identity_argument_for("customer_id", Scope::User));
        assert!(!is_identity_argument_for("customer_id", Scope::Tenant));
        assert!(is_identity_argument_for("org_id", Scope::Tenant));
        assert!(is_identity_argument_for("user_id", Scope::Tenant));
    }

    #[test]
    fn ordinary_names_are_not_identity() {
        for name in [
            "order_id",
            "limit",
            "query",
            "users_count",
            "amount_cents",
            "sku",
        ] {
            assert_eq!(identity_kind(name), None, "{name}");
        }
    }

    #[test]
    fn credential_names() {
        for name in [
            "api_key",
            "apikey",
            "apiKey",
            "password",
            "passwd",
            "token",
            "access_token",
            "secret",
            "client_secret",
            "private_key",
            "Authorization",
        ] {
            assert!(is_credential_argument(name), "{name}");
        }
        for name in [
            "tokens",
            "max_tokens",
            "secretary",
            "key_count",
            "order_id",
            "keyword",
        ] {
            assert!(!is_credential_argument(name), "{name}");
        }
    }
}
