//! Code shared by the SQL stores: the statements, the row decoders and the
//! [`RunStore`](crate::store::RunStore) implementation (as macros that each
//! backend instantiates with its own column codec).

pub(crate) mod decode;
pub(crate) mod queries;
pub(crate) mod store_impl;

/// One embedded migration: applied once, in order, recorded in
/// `agentsec_schema_migrations`.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) description: &'static str,
    pub(crate) sql: &'static str,
}
