//! Scoped grants enforced by PostgreSQL row-level security.
//!
//! The grant minted for a tool call names the user, tenant, scope and
//! effects of exactly that call. [`begin_scoped`] opens a transaction in
//! which the database knows them too: it runs as a restricted role and the
//! claims are transaction-local settings (`request.jwt.claims`, as
//! PostgREST sets them). Row-level security policies keyed on those
//! settings then hold the tool's SQL to the grant, so a query that forgets
//! `WHERE owner_id = ...` still returns only the user's rows, and a tool
//! granted `read:orders` cannot update them.
//!
//! [`EXAMPLE_RLS_SCHEMA`] is a complete example (orders and payments, the
//! restricted role `agentsec_tool`, the policies); [`GrantConstraints`] is the
//! same mapping seen from Rust.
//!
//! What it does not do: the claims are settings any SQL in the transaction
//! could overwrite with `set_config`, so they guard against tool code that is
//! wrong or steered through its arguments into the wrong rows, not against
//! tool code that runs arbitrary SQL on purpose (keep SQL parameterized).

mod constraints;
mod session;

pub use constraints::{GrantConstraints, OWNER_COLUMN, RowScope, SqlOperation, TENANT_COLUMN};
pub use session::{
    CLAIM_SETTING_PREFIX, CLAIMS_SETTING, DEFAULT_TOOL_ROLE, RlsError, RlsSession, begin_scoped,
};

/// The example schema: `orders` and `payments` with `owner_id` and
/// `tenant_id`, row-level security enabled and forced on both, the helper
/// functions `agentsec_grant()`, `agentsec_has_effect(text)` and
/// `agentsec_row_in_scope(owner, tenant)`, one policy per operation mapped
/// from the effects, and the restricted role (`agentsec_tool`, or the value
/// of the setting `agentsec.tool_role`) granted only what the example needs.
/// Objects are created in the current schema.
///
/// ```
/// use agentsec_runtime::permission::rls::EXAMPLE_RLS_SCHEMA;
/// assert!(EXAMPLE_RLS_SCHEMA.contains("FORCE ROW LEVEL SECURITY"));
/// assert!(EXAMPLE_RLS_SCHEMA.contains("current_setting('request.jwt.claims', true)"));
/// ```
pub const EXAMPLE_RLS_SCHEMA: &str = include_str!("../../../migrations/examples/rls_orders.sql");
