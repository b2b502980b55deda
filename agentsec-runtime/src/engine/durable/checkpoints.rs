//! [`StoreCheckpoints`] as the engine's [`Checkpoints`]: states, and the
//! intents that make approved calls run exactly once.

use super::{StoreCheckpoints, approval_id, store_error};
use crate::BoxFuture;
use crate::engine::checkpoint::{CallIntent, IntentBegin, IntentOutcome, RecordedIntent};
use crate::engine::{CheckpointError, Checkpoints, PendingCall, RunState};
use crate::identity::{CallId, RunId};
use crate::store::{Fence, NewIntent, RunStore, StoreError};
use crate::tool::ApprovalProof;
use std::sync::Arc;

fn decode_outcome(
    run_id: RunId,
    call_id: CallId,
    value: serde_json::Value,
) -> Result<IntentOutcome, CheckpointError> {
    serde_json::from_value(value).map_err(|e| CheckpointError::Corrupt {
        run_id,
        message: format!("the result of call {call_id} does not decode: {e}"),
    })
}

/// The store's intent row for `intent`.
pub(super) fn new_intent(intent: &CallIntent) -> NewIntent {
    NewIntent {
        run_id: intent.run_id,
        call_id: intent.call_id,
        idempotency_key: intent.idempotency_key.clone(),
        approval_id: intent.approved.then(|| approval_id(intent.call_id)),
    }
}

impl StoreCheckpoints {
    /// The intent found when writing `intent` found one.
    pub(super) async fn existing(
        &self,
        intent: &CallIntent,
    ) -> Result<IntentBegin, CheckpointError> {
        let recorded = self.intent(intent.run_id, intent.call_id).await?;
        recorded.map(IntentBegin::Existing).ok_or_else(|| {
            CheckpointError::Backend(format!(
                "the intent of call {} is both duplicate and missing",
                intent.call_id
            ))
        })
    }
}

impl Checkpoints for StoreCheckpoints {
    fn audit_store(&self) -> Option<Arc<dyn RunStore>> {
        Some(self.store.clone())
    }

    fn save<'a>(&'a self, state: &'a RunState) -> BoxFuture<'a, Result<(), CheckpointError>> {
        Box::pin(self.save_state(state))
    }

    fn load<'a>(
        &'a self,
        run_id: RunId,
    ) -> BoxFuture<'a, Result<Option<RunState>, CheckpointError>> {
        Box::pin(self.load_state(run_id))
    }

    fn create<'a>(
        &'a self,
        state: &'a RunState,
        request_key: Option<&'a str>,
        drive: bool,
    ) -> BoxFuture<'a, Result<RunState, CheckpointError>> {
        Box::pin(self.create_run(state, request_key, drive))
    }

    fn begin_intent<'a>(
        &'a self,
        intent: &'a CallIntent,
    ) -> BoxFuture<'a, Result<IntentBegin, CheckpointError>> {
        Box::pin(async move {
            let new = new_intent(intent);
            match self.store.record_intent(&new).await {
                Ok(_) => Ok(IntentBegin::Started),
                Err(StoreError::DuplicateIntent { .. }) => self.existing(intent).await,
                Err(other) => Err(store_error(other)),
            }
        })
    }

    fn finish_intent<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        outcome: &'a IntentOutcome,
    ) -> BoxFuture<'a, Result<(), CheckpointError>> {
        Box::pin(async move {
            let value = serde_json::to_value(outcome)
                .map_err(|e| CheckpointError::Backend(format!("cannot encode a result: {e}")))?;
            self.store
                .record_intent_result(run_id, call_id, &value)
                .await
                .map(|_| ())
                .map_err(store_error)
        })
    }

    fn verify_approval<'a>(
        &'a self,
        state: &'a RunState,
        call: &'a PendingCall,
    ) -> BoxFuture<'a, Result<ApprovalProof, CheckpointError>> {
        Box::pin(self.verify_approved(state, call))
    }

    fn fence(&self, run_id: RunId) -> BoxFuture<'_, Result<Option<Fence>, CheckpointError>> {
        Box::pin(async move { self.current_fence(run_id).await.map(Some) })
    }

    fn check_fence<'a>(
        &'a self,
        run_id: RunId,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<(), CheckpointError>> {
        Box::pin(async move {
            self.store
                .check_fence(run_id, fence)
                .await
                .map_err(store_error)
        })
    }

    fn begin_intent_fenced<'a>(
        &'a self,
        intent: &'a CallIntent,
        fence: Option<&'a Fence>,
    ) -> BoxFuture<'a, Result<IntentBegin, CheckpointError>> {
        match fence {
            Some(fence) => Box::pin(self.begin_fenced(intent, fence)),
            None => self.begin_intent(intent),
        }
    }

    fn finish_intent_fenced<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        outcome: &'a IntentOutcome,
        fence: Option<&'a Fence>,
    ) -> BoxFuture<'a, Result<(), CheckpointError>> {
        match fence {
            Some(fence) => Box::pin(self.finish_fenced(run_id, call_id, outcome, fence)),
            None => self.finish_intent(run_id, call_id, outcome),
        }
    }

    fn hand_off(&self, run_id: RunId) -> BoxFuture<'_, Result<(), CheckpointError>> {
        Box::pin(async move {
            match self.store.release_lease(run_id, &self.owner).await {
                Ok(()) | Err(StoreError::LeaseLost { .. }) => Ok(()),
                Err(other) => Err(store_error(other)),
            }
        })
    }

    fn intent(
        &self,
        run_id: RunId,
        call_id: CallId,
    ) -> BoxFuture<'_, Result<Option<RecordedIntent>, CheckpointError>> {
        Box::pin(async move {
            let Some(record) = self
                .store
                .get_intent(run_id, call_id)
                .await
                .map_err(store_error)?
            else {
                return Ok(None);
            };
            let outcome = record
                .result
                .map(|value| decode_outcome(run_id, call_id, value))
                .transpose()?;
            Ok(Some(RecordedIntent { outcome }))
        })
    }
}
