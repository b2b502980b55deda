//! Names of model-visible arguments that would carry an identity.
//!
//! Identity comes from the run's context, never from the model.

/// Argument names that carry an identity (compared case-insensitively).
pub const IDENTITY_ARGUMENTS: &[&str] = &[
    "user_id",
    "userid",
    "user",
    "username",
    "tenant_id",
    "tenantid",
    "tenant",
    "owner_id",
    "ownerid",
    "owner",
    "account_id",
    "accountid",
    "customer_id",
    "customerid",
    "org_id",
    "orgid",
    "organization_id",
    "organisation_id",
    "principal",
    "principal_id",
    "as_user",
    "on_behalf_of",
    "impersonate",
];

/// Whether `name` is an identity-carrying argument name.
pub fn is_identity_argument(name: &str) -> bool {
    let name = name.trim_start_matches("r#").trim_start_matches('_');
    IDENTITY_ARGUMENTS
        .iter()
        .any(|candidate| candidate.eq_ignore_ascii_case(name))
}
