//! Code shared by the SQL stores: the statements, the row decoders and the
//! [`RunStore`](crate::store::RunStore) implementation (as macros that each
//! backend instantiates with its own column codec).

pub(crate) mod decode;
pub(crate) mod queries;
pub(crate) mod store_impl;

/// The table sqlx's migrator records the store's migrations in (its own
/// name, so an application's `_sqlx_migrations` in the same database is
/// left alone). Databases from before kept theirs in
/// `agentsec_schema_migrations`, which is still read once to adopt them.
pub(crate) const MIGRATIONS_TABLE: &str = "agentsec_sqlx_migrations";
