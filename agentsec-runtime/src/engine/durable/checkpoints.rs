//! [`StoreCheckpoints`] as the engine's [`Checkpoints`]: states, and the
//! intents that make approved calls run exactly once.

use super::{StoreCheckpoints, approval_id, store_error};
use crate::BoxFuture;
use crate::engine::checkpoint::{CallIntent, IntentBegin, IntentOutcome, RecordedIntent};
use crate::engine::{CheckpointError, Checkpoints, RunState};
use crate::identity::{CallId, RunId};
use crate::store::{NewIntent, StoreError};

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

impl Checkpoints for StoreCheckpoints {
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
            let new = NewIntent {
                run_id: intent.run_id,
                call_id: intent.call_id,
                idempotency_key: intent.idempotency_key.clone(),
                approval_id: intent.approved.then(|| approval_id(intent.call_id)),
            };
            match self.store.record_intent(&new).await {
                Ok(_) => Ok(IntentBegin::Started),
                Err(StoreError::DuplicateIntent { .. }) => {
                    let recorded = self.intent(intent.run_id, intent.call_id).await?;
                    recorded.map(IntentBegin::Existing).ok_or_else(|| {
                        CheckpointError::Backend(format!(
                            "the intent of call {} is both duplicate and missing",
                            intent.call_id
                        ))
                    })
                }
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
