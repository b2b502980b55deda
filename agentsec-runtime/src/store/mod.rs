//! Durable storage: runs, steps, approvals, intents, usage, agent keys and
//! the hash-chained audit log, behind one object-safe trait, [`RunStore`].
//!
//! - [`MemoryStore`]: in memory, for tests and examples.
//! - [`SqliteStore`]: the embedded default, one file created on first use.
//! - [`PostgresStore`]: production; several workers share it and claim runs
//!   under leases (`FOR UPDATE SKIP LOCKED`).
//!
//! The engine's run state is opaque JSON to the store. Every write has
//! committed when its method returns. The guarantees the engine builds on:
//!
//! - run updates are compare-and-swap on a version
//!   ([`StoreError::Conflict`] when stale);
//! - an approval is decided by one conditional write, so of two racing
//!   approvers exactly one wins ([`StoreError::NotPending`] for the other);
//! - one intent per tool call, ever ([`StoreError::DuplicateIntent`]), and
//!   one result per intent: an approved irreversible action runs at most once;
//! - a run is leased to one worker at a time ([`StoreError::Busy`]), and
//!   every taking of the lease raises the run's epoch: a writer paused past
//!   its lease is fenced off ([`Fence`]);
//! - the audit log is a hash chain whose appends are serialized;
//!   [`RunStore::verify_audit`] names the first altered, missing or reordered
//!   entry, and retention ([`RunStore::purge_before`]) never touches it;
//! - stored rows are untrusted: a row that does not decode is
//!   [`StoreError::Corrupt`], never a panic.
//!
//! Migrations are embedded SQL (`migrations/sqlite`, `migrations/postgres`),
//! applied in order on open and recorded in `agentsec_schema_migrations`.

mod audit;
mod error;
mod fence;
mod memory;
mod postgres;
mod records;
mod run_store;
mod sql;
mod sqlite;

pub use audit::{
    AuditBreak, AuditBreakKind, AuditEntry, AuditVerification, GENESIS_HASH, NewAuditEntry,
    verify_chain,
};
pub use error::StoreError;
pub use fence::Fence;
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use records::{
    AgentKeyRecord, ApprovalRecord, ApprovalStatus, IntentRecord, NewApproval, NewIntent, NewRun,
    PurgeReport, RunFilter, RunRecord, RunStatus, StepRecord, UnixMillis, UnknownStatus,
};
pub use run_store::{RunStore, StoreFuture};
pub use sqlite::SqliteStore;
