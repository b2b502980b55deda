//! SQL store methods for fencing: a writer paused past its lease is refused
//! (see [`Fence`](crate::store::Fence) and the parent module).

macro_rules! sql_fence_methods {
    ($store:ty) => {
        impl $store {
            fn lease_lost(run_id: RunId, fence: &$crate::store::Fence) -> StoreError {
                StoreError::LeaseLost {
                    run_id,
                    worker: fence.owner.clone(),
                }
            }

            async fn sql_lease_fence(
                &self,
                run_id: RunId,
                worker: &str,
            ) -> Result<$crate::store::Fence, StoreError> {
                let epoch: Option<i64> = sqlx::query_scalar(q::LEASE_FENCE)
                    .bind(codec::id(run_id.as_uuid()))
                    .bind(worker)
                    .bind(UnixMillis::now().0)
                    .fetch_optional(&self.pool)
                    .await?;
                match epoch {
                    Some(epoch) => Ok($crate::store::Fence::new(worker, epoch)),
                    None => {
                        self.require_run(run_id).await?;
                        Err(StoreError::LeaseLost {
                            run_id,
                            worker: worker.to_owned(),
                        })
                    }
                }
            }

            async fn sql_check_fence(
                &self,
                run_id: RunId,
                fence: &$crate::store::Fence,
            ) -> Result<(), StoreError> {
                let held: Option<i32> = sqlx::query_scalar(q::CHECK_FENCE)
                    .bind(codec::id(run_id.as_uuid()))
                    .bind(&fence.owner)
                    .bind(fence.epoch)
                    .bind(UnixMillis::now().0)
                    .fetch_optional(&self.pool)
                    .await?;
                match held {
                    Some(_) => Ok(()),
                    None => {
                        self.require_run(run_id).await?;
                        Err(Self::lease_lost(run_id, fence))
                    }
                }
            }

            /// Locks the run's row while `fence` holds, inside `tx`.
            async fn hold_fence(
                tx: &mut sqlx::Transaction<'static, Db>,
                run_id: RunId,
                fence: &$crate::store::Fence,
            ) -> Result<(), StoreError> {
                let done = sqlx::query(q::HOLD_FENCE)
                    .bind(codec::id(run_id.as_uuid()))
                    .bind(&fence.owner)
                    .bind(fence.epoch)
                    .bind(UnixMillis::now().0)
                    .execute(&mut **tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(Self::lease_lost(run_id, fence));
                }
                Ok(())
            }

            async fn sql_record_intent_fenced(
                &self,
                intent: &NewIntent,
                fence: &$crate::store::Fence,
            ) -> Result<IntentRecord, StoreError> {
                self.require_run(intent.run_id).await?;
                let mut tx = self.begin_write().await?;
                Self::hold_fence(&mut tx, intent.run_id, fence).await?;
                let done = sqlx::query(q::INSERT_INTENT)
                    .bind(codec::id(intent.run_id.as_uuid()))
                    .bind(codec::id(intent.call_id.as_uuid()))
                    .bind(&intent.idempotency_key)
                    .bind(intent.approval_id.map(codec::id))
                    .bind(UnixMillis::now().0)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::DuplicateIntent {
                        run_id: intent.run_id,
                        call_id: intent.call_id,
                    });
                }
                tx.commit().await?;
                self.sql_get_intent(intent.run_id, intent.call_id)
                    .await?
                    .ok_or_else(|| StoreError::not_found("intent", intent.call_id))
            }

            async fn sql_record_intent_result_fenced(
                &self,
                run_id: RunId,
                call_id: CallId,
                result: &serde_json::Value,
                fence: &$crate::store::Fence,
            ) -> Result<IntentRecord, StoreError> {
                let mut tx = self.begin_write().await?;
                Self::hold_fence(&mut tx, run_id, fence).await?;
                let row = sqlx::query(q::FINISH_INTENT)
                    .bind(codec::id(run_id.as_uuid()))
                    .bind(codec::id(call_id.as_uuid()))
                    .bind(codec::json(result))
                    .bind(UnixMillis::now().0)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    drop(tx);
                    return match self.sql_get_intent(run_id, call_id).await? {
                        Some(_) => Err(StoreError::IntentFinished { run_id, call_id }),
                        None => Err(StoreError::not_found("intent", call_id)),
                    };
                };
                let record = decode_intent(&row)?;
                tx.commit().await?;
                Ok(record)
            }
        }
    };
}

pub(crate) use sql_fence_methods;
