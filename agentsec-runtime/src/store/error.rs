use crate::identity::{CallId, RunId};

use super::ApprovalStatus;

/// Why a [`RunStore`](super::RunStore) operation failed.
///
/// The variants a caller acts on are typed: a stale version is a
/// [`Conflict`](StoreError::Conflict), a held lease is
/// [`Busy`](StoreError::Busy), a second intent for one call is a
/// [`DuplicateIntent`](StoreError::DuplicateIntent). A stored row that does not
/// decode is [`Corrupt`](StoreError::Corrupt): rows are untrusted input and
/// never cause a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record does not exist.
    #[error("{what} `{key}` not found")]
    NotFound {
        /// What kind of record (`run`, `approval`, `agent key`, ...).
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// A record with this key already exists.
    #[error("{what} `{key}` already exists")]
    Duplicate {
        /// What kind of record.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// Optimistic concurrency: the run changed since it was read.
    #[error("run {run_id} was updated concurrently: expected version {expected}, found {actual}")]
    Conflict {
        /// The run.
        run_id: RunId,
        /// The version the caller read.
        expected: i64,
        /// The version in the store.
        actual: i64,
    },
    /// Optimistic concurrency on an agent key: it changed (another process
    /// rotated or revoked it) since it was read.
    #[error("agent key `{key_id}` was updated concurrently")]
    KeyConflict {
        /// The key.
        key_id: String,
    },
    /// Another worker holds a live lease on the run.
    #[error("run {run_id} is busy: leased by another worker")]
    Busy {
        /// The run.
        run_id: RunId,
    },
    /// The worker no longer holds the lease it tried to renew or release.
    #[error("worker `{worker}` does not hold the lease on run {run_id}")]
    LeaseLost {
        /// The run.
        run_id: RunId,
        /// The worker that thought it held the lease.
        worker: String,
    },
    /// An approval was already decided (or expired): a decision only lands
    /// on a pending approval, so two approvers cannot both win.
    #[error("approval {approval_id} is no longer pending (status: {status})")]
    NotPending {
        /// The approval.
        approval_id: uuid::Uuid,
        /// Its current status.
        status: ApprovalStatus,
    },
    /// An intent was already recorded for this call: the call must not run
    /// a second time.
    #[error("an intent for call {call_id} of run {run_id} already exists")]
    DuplicateIntent {
        /// The run.
        run_id: RunId,
        /// The call.
        call_id: CallId,
    },
    /// The intent already has a result: results are written once.
    #[error("the intent for call {call_id} of run {run_id} already has a result")]
    IntentFinished {
        /// The run.
        run_id: RunId,
        /// The call.
        call_id: CallId,
    },
    /// The caller passed a value the store refuses (negative usage, a lease
    /// too long to represent, ...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A stored row does not decode: a bad status string, bad JSON, bad id.
    #[error("corrupt row in `{table}` (key `{key}`): {message}")]
    Corrupt {
        /// The table (or collection) the row came from.
        table: &'static str,
        /// The row's key, as far as it could be read.
        key: String,
        /// What did not decode.
        message: String,
    },
    /// The database failed (I/O, connection, constraint not mapped above).
    #[error("store backend failed: {0}")]
    Backend(String),
}

impl StoreError {
    pub(crate) fn corrupt(table: &'static str, key: impl ToString, message: impl ToString) -> Self {
        Self::Corrupt {
            table,
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    pub(crate) fn not_found(what: &'static str, key: impl ToString) -> Self {
        Self::NotFound {
            what,
            key: key.to_string(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Backend(error.to_string())
    }
}
