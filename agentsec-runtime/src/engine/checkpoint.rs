use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{CallStatus, PendingCall, RunState};
use crate::BoxFuture;
use crate::identity::{CallId, RunId};
use crate::store::Fence;
use crate::tool::ApprovalProof;

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
    /// Another worker holds the run's lease: this one must stop driving it.
    #[error("run {run_id} is leased by another worker")]
    LeaseLost {
        /// The run.
        run_id: RunId,
    },
    /// The run's stored state, or a call's stored result, does not decode
    /// (a damaged or tampered row): the run cannot be driven.
    #[error("run {run_id} is corrupt: {message}")]
    Corrupt {
        /// The run.
        run_id: RunId,
        /// What did not decode.
        message: String,
    },
    /// The backing store failed.
    #[error("checkpoint store failed: {0}")]
    Backend(String),
    /// The state says a call was approved, but no signed decision in the
    /// store verifies for it (its tool, call, arguments, run and the
    /// approval policy): the state was altered, or the decision was.
    #[error("run {run_id}: call {call_id} is marked approved but {reason}")]
    Integrity {
        /// The run.
        run_id: RunId,
        /// The call.
        call_id: CallId,
        /// What did not verify.
        reason: String,
    },
}

/// The intent to make an approved (or irreversible) call, written before
/// the call runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallIntent {
    /// The run.
    pub run_id: RunId,
    /// The call: one intent per call, ever.
    pub call_id: CallId,
    /// The tool.
    pub tool: String,
    /// The key the tool sees as `ctx.idempotency_key()`, the same on a retry.
    pub idempotency_key: String,
    /// Whether a person approved the call.
    pub approved: bool,
}

/// What an intended call returned, written once after it returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum IntentOutcome {
    /// It ran; `content` is the result as the model saw it.
    Executed {
        /// The result text.
        content: String,
    },
    /// It failed or was refused; it had no effect the engine knows of.
    Failed {
        /// The error as the model saw it.
        error: String,
    },
}

/// What writing an intent found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntentBegin {
    /// The intent is new: the call may run now.
    Started,
    /// An intent for this call was written before (an earlier attempt, or
    /// another worker): the call must not simply run again.
    Existing(RecordedIntent),
}

/// An intent found in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedIntent {
    /// The call's result, if one was written. `None` means the call may or
    /// may not have happened.
    pub outcome: Option<IntentOutcome>,
}

/// Where the engine saves every state before the next step starts.
///
/// The durable stores (SQLite, PostgreSQL) implement it; [`MemoryCheckpoints`]
/// keeps states in memory.
pub trait Checkpoints: Send + Sync + 'static {
    /// Saves `state`; refuses a state whose `version` is not newer than the stored one.
    fn save<'a>(&'a self, state: &'a RunState) -> BoxFuture<'a, Result<(), CheckpointError>>;

    /// Creates a run from its first state (version 1) and returns the run's
    /// stored state.
    ///
    /// - `request_key`: the key of the client request creating the run. A
    ///   key used before creates nothing: the returned state is that run's
    ///   latest (a different `run_id` than `state`'s).
    /// - `drive`: the caller drives the run now, so it takes the run's lease
    ///   in the same write that creates the run (no worker can claim it in
    ///   between); `false` leaves the run to whichever worker claims it.
    ///
    /// The default saves `state` and supports no request keys.
    fn create<'a>(
        &'a self,
        state: &'a RunState,
        request_key: Option<&'a str>,
        drive: bool,
    ) -> BoxFuture<'a, Result<RunState, CheckpointError>> {
        let _ = drive;
        Box::pin(async move {
            if request_key.is_some() {
                return Err(CheckpointError::Backend(
                    "this checkpoint store does not keep request keys".into(),
                ));
            }
            self.save(state).await?;
            Ok(state.clone())
        })
    }

    /// The store these checkpoints write to, when they are durable: the
    /// runtime appends its security events to that store's audit chain by
    /// default. `None` (the default) for checkpoints outside a [`RunStore`].
    ///
    /// [`RunStore`]: crate::store::RunStore
    fn audit_store(&self) -> Option<std::sync::Arc<dyn crate::store::RunStore>> {
        None
    }

    /// The last saved state of `run_id`.
    fn load<'a>(
        &'a self,
        run_id: RunId,
    ) -> BoxFuture<'a, Result<Option<RunState>, CheckpointError>>;

    /// Durably writes the intent to make a call, unless one exists for the
    /// call already; then reports the existing one. Of several writers
    /// racing for one call, exactly one gets [`IntentBegin::Started`].
    fn begin_intent<'a>(
        &'a self,
        intent: &'a CallIntent,
    ) -> BoxFuture<'a, Result<IntentBegin, CheckpointError>>;

    /// Durably writes what the intended call returned.
    fn finish_intent<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        outcome: &'a IntentOutcome,
    ) -> BoxFuture<'a, Result<(), CheckpointError>>;

    /// The caller stops driving the run (it was submitted for a worker):
    /// stores that lease runs to their writers give the lease up here.
    fn hand_off(&self, run_id: RunId) -> BoxFuture<'_, Result<(), CheckpointError>> {
        let _ = run_id;
        Box::pin(async { Ok(()) })
    }

    /// Checks the approval of a call `state` says was approved against what
    /// was signed, before the call runs, and returns the proof it runs
    /// under. [`CheckpointError::Integrity`] when nothing verifies.
    ///
    /// The default trusts the state (states that never leave the process,
    /// as in [`MemoryCheckpoints`]); the durable
    /// [`StoreCheckpoints`](super::StoreCheckpoints) verify the signed
    /// decision in the store.
    fn verify_approval<'a>(
        &'a self,
        state: &'a RunState,
        call: &'a PendingCall,
    ) -> BoxFuture<'a, Result<ApprovalProof, CheckpointError>> {
        let result = match &call.status {
            CallStatus::Approved { proof } => Ok(proof.clone()),
            _ => Err(CheckpointError::Integrity {
                run_id: state.run_id,
                call_id: call.call_id,
                reason: "it is not approved".into(),
            }),
        };
        Box::pin(std::future::ready(result))
    }

    /// The fence of the caller's lease on the run (taking the lease when it
    /// is free), captured once when a driver starts on the run; `None` for
    /// stores without leases.
    fn fence(&self, run_id: RunId) -> BoxFuture<'_, Result<Option<Fence>, CheckpointError>> {
        let _ = run_id;
        Box::pin(std::future::ready(Ok(None)))
    }

    /// [`LeaseLost`](CheckpointError::LeaseLost) unless `fence` is still the
    /// run's lease (nobody took the run over since).
    fn check_fence<'a>(
        &'a self,
        run_id: RunId,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<(), CheckpointError>> {
        let _ = (run_id, fence);
        Box::pin(std::future::ready(Ok(())))
    }

    /// [`begin_intent`](Self::begin_intent), atomically with a
    /// [`check_fence`](Self::check_fence) when `fence` is given.
    fn begin_intent_fenced<'a>(
        &'a self,
        intent: &'a CallIntent,
        fence: Option<&'a Fence>,
    ) -> BoxFuture<'a, Result<IntentBegin, CheckpointError>> {
        let _ = fence;
        self.begin_intent(intent)
    }

    /// [`finish_intent`](Self::finish_intent), atomically with a
    /// [`check_fence`](Self::check_fence) when `fence` is given.
    fn finish_intent_fenced<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        outcome: &'a IntentOutcome,
        fence: Option<&'a Fence>,
    ) -> BoxFuture<'a, Result<(), CheckpointError>> {
        let _ = fence;
        self.finish_intent(run_id, call_id, outcome)
    }

    /// The intent of a call, if one was written.
    fn intent(
        &self,
        run_id: RunId,
        call_id: CallId,
    ) -> BoxFuture<'_, Result<Option<RecordedIntent>, CheckpointError>>;
}

/// Run states in memory.
#[derive(Default)]
pub struct MemoryCheckpoints {
    runs: Mutex<HashMap<RunId, RunState>>,
    request_keys: Mutex<HashMap<String, RunId>>,
    intents: Mutex<HashMap<(RunId, CallId), Option<IntentOutcome>>>,
}

impl MemoryCheckpoints {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Checkpoints for MemoryCheckpoints {
    fn create<'a>(
        &'a self,
        state: &'a RunState,
        request_key: Option<&'a str>,
        _drive: bool,
    ) -> BoxFuture<'a, Result<RunState, CheckpointError>> {
        let result = (|| {
            let mut keys = self.request_keys.lock().unwrap_or_else(|p| p.into_inner());
            let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(existing) = request_key
                .and_then(|key| keys.get(key))
                .and_then(|id| runs.get(id))
            {
                return Ok(existing.clone());
            }
            if runs.contains_key(&state.run_id) {
                return Err(CheckpointError::Conflict {
                    run_id: state.run_id,
                    stored: 1,
                    attempted: state.version,
                });
            }
            if let Some(key) = request_key {
                keys.insert(key.to_owned(), state.run_id);
            }
            runs.insert(state.run_id, state.clone());
            Ok(state.clone())
        })();
        Box::pin(async move { result })
    }

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

    fn begin_intent<'a>(
        &'a self,
        intent: &'a CallIntent,
    ) -> BoxFuture<'a, Result<IntentBegin, CheckpointError>> {
        let mut intents = self.intents.lock().unwrap_or_else(|p| p.into_inner());
        let begin = match intents.get(&(intent.run_id, intent.call_id)) {
            Some(outcome) => IntentBegin::Existing(RecordedIntent {
                outcome: outcome.clone(),
            }),
            None => {
                intents.insert((intent.run_id, intent.call_id), None);
                IntentBegin::Started
            }
        };
        Box::pin(async move { Ok(begin) })
    }

    fn finish_intent<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        outcome: &'a IntentOutcome,
    ) -> BoxFuture<'a, Result<(), CheckpointError>> {
        let mut intents = self.intents.lock().unwrap_or_else(|p| p.into_inner());
        let result = match intents.get_mut(&(run_id, call_id)) {
            Some(slot @ None) => {
                *slot = Some(outcome.clone());
                Ok(())
            }
            Some(Some(_)) => Err(CheckpointError::Backend(format!(
                "the intent of call {call_id} already has a result"
            ))),
            None => Err(CheckpointError::Backend(format!(
                "no intent for call {call_id}"
            ))),
        };
        Box::pin(async move { result })
    }

    fn intent(
        &self,
        run_id: RunId,
        call_id: CallId,
    ) -> BoxFuture<'_, Result<Option<RecordedIntent>, CheckpointError>> {
        let found = self
            .intents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(run_id, call_id))
            .map(|outcome| RecordedIntent {
                outcome: outcome.clone(),
            });
        Box::pin(async move { Ok(found) })
    }
}
