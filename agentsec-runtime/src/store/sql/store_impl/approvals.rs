//! SQL store methods for approvals and intents (see the parent module).

macro_rules! sql_approval_methods {
    ($store:ty) => {
        impl $store {
            async fn sql_insert_approval(
                &self,
                approval: &NewApproval,
            ) -> Result<ApprovalRecord, StoreError> {
                self.require_run(approval.run_id).await?;
                let done = sqlx::query(q::INSERT_APPROVAL)
                    .bind(codec::id(approval.id))
                    .bind(codec::id(approval.run_id.as_uuid()))
                    .bind(codec::id(approval.call_id.as_uuid()))
                    .bind(&approval.tool)
                    .bind(&approval.args_sha256)
                    .bind(&approval.requested_by)
                    .bind(UnixMillis::now().0)
                    .bind(approval.expires_at.0)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Duplicate {
                        what: "approval",
                        key: approval.id.to_string(),
                    });
                }
                self.sql_get_approval(approval.id).await
            }

            async fn sql_get_approval(&self, id: Uuid) -> Result<ApprovalRecord, StoreError> {
                let row = sqlx::query(q::GET_APPROVAL)
                    .bind(codec::id(id))
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref()
                    .map(decode_approval)
                    .unwrap_or_else(|| Err(StoreError::not_found("approval", id)))
            }

            async fn sql_list_pending_approvals(
                &self,
                agent: Option<&str>,
                user_id: Option<&str>,
            ) -> Result<Vec<ApprovalRecord>, StoreError> {
                let rows = sqlx::query(q::LIST_PENDING)
                    .bind(UnixMillis::now().0)
                    .bind(agent)
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(decode_approval).collect()
            }

            async fn sql_decide_approval(
                &self,
                id: Uuid,
                decision: &ApprovalDecision,
            ) -> Result<ApprovalRecord, StoreError> {
                let now = UnixMillis::now();
                let row = sqlx::query(q::DECIDE_APPROVAL)
                    .bind(codec::id(id))
                    .bind(decision.status().as_str())
                    .bind(&decision.approver.id)
                    .bind(decision.reason())
                    .bind(decision.edited_arguments())
                    .bind(&decision.signature)
                    .bind(now.0)
                    .bind(
                        serde_json::to_string(&decision.approver.roles)
                            .unwrap_or_else(|_| "[]".into()),
                    )
                    .bind(&decision.approver.tenant)
                    .fetch_optional(&self.pool)
                    .await?;
                if let Some(row) = row {
                    return decode_approval(&row);
                }
                // Lost the race, already decided, expired, or unknown: say which.
                sqlx::query(q::EXPIRE_APPROVAL)
                    .bind(codec::id(id))
                    .bind(now.0)
                    .execute(&self.pool)
                    .await?;
                let status: Option<String> = sqlx::query_scalar(q::APPROVAL_STATUS)
                    .bind(codec::id(id))
                    .fetch_optional(&self.pool)
                    .await?;
                let status = status.ok_or_else(|| StoreError::not_found("approval", id))?;
                let status = status
                    .parse()
                    .map_err(|e| StoreError::corrupt("approvals", id, e))?;
                Err(StoreError::NotPending {
                    approval_id: id,
                    status,
                })
            }

            async fn sql_record_intent(
                &self,
                intent: &NewIntent,
            ) -> Result<IntentRecord, StoreError> {
                self.require_run(intent.run_id).await?;
                let done = sqlx::query(q::INSERT_INTENT)
                    .bind(codec::id(intent.run_id.as_uuid()))
                    .bind(codec::id(intent.call_id.as_uuid()))
                    .bind(&intent.idempotency_key)
                    .bind(intent.approval_id.map(codec::id))
                    .bind(UnixMillis::now().0)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::DuplicateIntent {
                        run_id: intent.run_id,
                        call_id: intent.call_id,
                    });
                }
                self.sql_get_intent(intent.run_id, intent.call_id)
                    .await?
                    .ok_or_else(|| StoreError::not_found("intent", intent.call_id))
            }

            async fn sql_record_intent_result(
                &self,
                run_id: RunId,
                call_id: CallId,
                result: &serde_json::Value,
            ) -> Result<IntentRecord, StoreError> {
                let row = sqlx::query(q::FINISH_INTENT)
                    .bind(codec::id(run_id.as_uuid()))
                    .bind(codec::id(call_id.as_uuid()))
                    .bind(codec::json(result))
                    .bind(UnixMillis::now().0)
                    .fetch_optional(&self.pool)
                    .await?;
                if let Some(row) = row {
                    return decode_intent(&row);
                }
                match self.sql_get_intent(run_id, call_id).await? {
                    Some(_) => Err(StoreError::IntentFinished { run_id, call_id }),
                    None => Err(StoreError::not_found("intent", call_id)),
                }
            }

            async fn sql_get_intent(
                &self,
                run_id: RunId,
                call_id: CallId,
            ) -> Result<Option<IntentRecord>, StoreError> {
                let row = sqlx::query(q::GET_INTENT)
                    .bind(codec::id(run_id.as_uuid()))
                    .bind(codec::id(call_id.as_uuid()))
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(decode_intent).transpose()
            }

            async fn sql_unfinished_intents(
                &self,
                run_id: RunId,
            ) -> Result<Vec<IntentRecord>, StoreError> {
                let rows = sqlx::query(q::UNFINISHED_INTENTS)
                    .bind(codec::id(run_id.as_uuid()))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(decode_intent).collect()
            }
        }
    };
}

pub(crate) use sql_approval_methods;
