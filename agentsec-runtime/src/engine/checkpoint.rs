use std::collections::HashMap;
use std::sync::Mutex;

use super::RunState;
use crate::identity::RunId;
use crate::tool::BoxFuture;

/// Why a state could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Another writer saved a newer state of the run first.
    #[error(
        "run {run_id} was saved by another writer (stored version {stored}, this one {attempted})"
    )]
    Conflict {
        /// The run.
        run_id: RunId,
        /// The version in the store.
        stored: u64,
        /// The version this writer tried to save.
        attempted: u64,
    },
    /// The backing store failed.
    #[error("checkpoint store failed: {0}")]
    Backend(String),
}

/// Where the engine saves every state before the next step starts.
///
/// The durable stores (SQLite, PostgreSQL) implement it; [`MemoryCheckpoints`]
/// keeps states in memory.
pub trait Checkpoints: Send + Sync + 'static {
    /// Saves `state`; refuses a state whose `version` is not newer than the stored one.
    fn save<'a>(&'a self, state: &'a RunState) -> BoxFuture<'a, Result<(), CheckpointError>>;

    /// The last saved state of `run_id`.
    fn load<'a>(
        &'a self,
        run_id: RunId,
    ) -> BoxFuture<'a, Result<Option<RunState>, CheckpointError>>;
}

/// Run states in memory.
#[derive(Default)]
pub struct MemoryCheckpoints {
    runs: Mutex<HashMap<RunId, RunState>>,
}

impl MemoryCheckpoints {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Checkpoints for MemoryCheckpoints {
    fn save<'a>(&'a self, state: &'a RunState) -> BoxFuture<'a, Result<(), CheckpointError>> {
        let result = {
            let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
            match runs.get(&state.run_id) {
                Some(stored) if stored.version >= state.version => Err(CheckpointError::Conflict {
                    run_id: state.run_id,
                    stored: stored.version,
                    attempted: state.version,
                }),
                _ => {
                    runs.insert(state.run_id, state.clone());
                    Ok(())
                }
            }
        };
        Box::pin(async move { result })
    }

    fn load<'a>(
        &'a self,
        run_id: RunId,
    ) -> BoxFuture<'a, Result<Option<RunState>, CheckpointError>> {
        let state = self
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&run_id)
            .cloned();
        Box::pin(async move { Ok(state) })
    }
}
