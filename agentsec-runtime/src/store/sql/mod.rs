//! Code shared by the SQL stores: the statements, the row decoders and the
//! [`RunStore`](crate::store::RunStore) implementation (as macros that each
//! backend instantiates with its own column codec).

pub(crate) mod decode;
pub(crate) mod queries;
pub(crate) mod store_impl;

/// The names the shared SQL macros use unqualified; each backend module
/// imports it whole (`use super::sql::prelude::*;`).
pub(crate) mod prelude {
    pub(crate) use super::queries as q;
    pub(crate) use super::store_impl::AUDIT_PAGE_SIZE;
    pub(crate) use crate::hitl::ApprovalDecision;
    pub(crate) use crate::identity::{CallId, RunId};
    pub(crate) use crate::model::Usage;
    pub(crate) use crate::store::audit::{ChainVerifier, chain_next};
    pub(crate) use crate::store::{
        AgentKeyRecord, ApprovalRecord, AuditEntry, AuditVerification, IntentRecord, NewApproval,
        NewAuditEntry, NewIntent, NewRun, PurgeReport, RunFilter, RunRecord, StepRecord,
        StoreError, StoreFuture, UnixMillis,
    };
    pub(crate) use uuid::Uuid;
}

/// The constructor from a pool and the pool accessor of a SQL store
/// `$store { pool: $pool }` (whose `migrate` brings the schema up to date).
macro_rules! sql_store_pool {
    ($store:ty, $pool:ty, $requirement:literal) => {
        impl $store {
            #[doc = concat!("Wraps an existing pool", $requirement, " and migrates the schema.")]
            pub async fn from_pool(pool: $pool) -> Result<Self, StoreError> {
                let store = Self { pool };
                store.migrate().await?;
                Ok(store)
            }

            /// The connection pool, for maintenance and tests. Writes made
            /// through it bypass the store's guarantees (and the audit chain
            /// will show them).
            pub fn pool(&self) -> &$pool {
                &self.pool
            }
        }
    };
}

pub(crate) use sql_store_pool;

/// The table sqlx's migrator records the store's migrations in (its own
/// name, so an application's `_sqlx_migrations` in the same database is
/// left alone). Databases from before kept theirs in
/// `agentsec_schema_migrations`, which is still read once to adopt them.
pub(crate) const MIGRATIONS_TABLE: &str = "agentsec_sqlx_migrations";
