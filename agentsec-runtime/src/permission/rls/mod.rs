//! Scoped grants enforced by PostgreSQL row-level security.
//!
//! The grant minted for a tool call names the user, tenant, scope and
//! effects of exactly that call. [`RlsSession::begin`] opens a transaction in
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
//! It holds against hostile SQL in the transaction (a tool that splices
//! model text into a query, or runs what it is told): the login the pool
//! connects as is checked so that leaving the tool role (`RESET ROLE`,
//! `set_config('role', ...)`) changes nothing RLS decides; the claims are
//! tagged with an [`RlsKey`] the SQL cannot read, so claims it writes itself
//! reach no row; and the connection is reset (`DISCARD ALL`) before and
//! after each call. What it does not do: stop a tool from reading or
//! changing the rows its own grant reaches, or from wasting the
//! transaction (a `COMMIT` in the middle ends the scoped part early — the
//! claims and role go with it, so later statements see nothing).

mod constraints;
mod key;
mod login;
mod scoped;
mod session;

pub use constraints::{GrantConstraints, OWNER_COLUMN, RowScope, SqlOperation, TENANT_COLUMN};
pub use key::{RLS_KEY_BYTES, RlsKey};
pub use scoped::ScopedTransaction;
pub use session::{
    CLAIM_SETTING_PREFIX, CLAIMS_SETTING, CLAIMS_TAG_SETTING, DEFAULT_TOOL_ROLE, RlsError,
    RlsSession,
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
