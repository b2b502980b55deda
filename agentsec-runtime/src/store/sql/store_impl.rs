//! The [`RunStore`](crate::store::RunStore) implementation shared by the SQL
//! stores, as a macro instantiated in each backend module. The backend
//! provides: `Db` and `Row`, a `codec` module (id and JSON parameters and
//! getters), and on the store `pool`, `begin_write()` (a transaction that
//! holds the write lock from its first statement) and `claim_rows()` (the
//! dialect-specific lease claim).

macro_rules! impl_sql_store {
    ($store:ty, $kind:literal) => {
        impl $crate::store::RunStore for $store {
            fn kind(&self) -> &'static str {
                $kind
            }

            fn create_run<'a>(&'a self, run: &'a NewRun) -> StoreFuture<'a, RunRecord> {
                Box::pin(async move {
                    let now = UnixMillis::now();
                    let done = sqlx::query(q::INSERT_RUN)
                        .bind(codec::id(run.id.as_uuid()))
                        .bind(&run.agent)
                        .bind(&run.user_id)
                        .bind(&run.tenant)
                        .bind(run.status.as_str())
                        .bind(codec::json(&run.state))
                        .bind(now.0)
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Duplicate {
                            what: "run",
                            key: run.id.to_string(),
                        });
                    }
                    self.get_run(run.id).await
                })
            }

            fn get_run(&self, id: RunId) -> StoreFuture<'_, RunRecord> {
                Box::pin(async move {
                    let row = sqlx::query(q::GET_RUN)
                        .bind(codec::id(id.as_uuid()))
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref()
                        .map(decode_run)
                        .unwrap_or_else(|| Err(StoreError::not_found("run", id)))
                })
            }

            fn update_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, RunRecord> {
                Box::pin(async move {
                    let row = sqlx::query(q::UPDATE_RUN)
                        .bind(codec::id(run.id.as_uuid()))
                        .bind(run.status.as_str())
                        .bind(codec::json(&run.state))
                        .bind(UnixMillis::now().0)
                        .bind(run.version)
                        .fetch_optional(&self.pool)
                        .await?;
                    if let Some(row) = row {
                        return decode_run(&row);
                    }
                    let actual: Option<i64> = sqlx::query_scalar(q::RUN_VERSION)
                        .bind(codec::id(run.id.as_uuid()))
                        .fetch_optional(&self.pool)
                        .await?;
                    match actual {
                        Some(actual) => Err(StoreError::Conflict {
                            run_id: run.id,
                            expected: run.version,
                            actual,
                        }),
                        None => Err(StoreError::not_found("run", run.id)),
                    }
                })
            }

            fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> StoreFuture<'a, Vec<RunRecord>> {
                Box::pin(async move {
                    let rows = sqlx::query(q::LIST_RUNS)
                        .bind(filter.status.map(|s| s.as_str()))
                        .bind(&filter.agent)
                        .bind(&filter.user_id)
                        .bind(i64::from(filter.limit))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(decode_run).collect()
                })
            }

            fn append_step<'a>(
                &'a self,
                run_id: RunId,
                kind: &'a str,
                data: &'a serde_json::Value,
            ) -> StoreFuture<'a, StepRecord> {
                Box::pin(async move {
                    let mut tx = self.begin_write().await?;
                    let seq: Option<i64> = sqlx::query_scalar(q::BUMP_STEP)
                        .bind(codec::id(run_id.as_uuid()))
                        .fetch_optional(&mut *tx)
                        .await?;
                    let seq = seq.ok_or_else(|| StoreError::not_found("run", run_id))?;
                    let at = UnixMillis::now();
                    sqlx::query(q::INSERT_STEP)
                        .bind(codec::id(run_id.as_uuid()))
                        .bind(seq)
                        .bind(kind)
                        .bind(codec::json(data))
                        .bind(at.0)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(StepRecord {
                        run_id,
                        seq,
                        kind: kind.to_owned(),
                        data: data.clone(),
                        at,
                    })
                })
            }

            fn list_steps(&self, run_id: RunId) -> StoreFuture<'_, Vec<StepRecord>> {
                Box::pin(async move {
                    let rows = sqlx::query(q::LIST_STEPS)
                        .bind(codec::id(run_id.as_uuid()))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(decode_step).collect()
                })
            }

            fn insert_approval<'a>(
                &'a self,
                approval: &'a NewApproval,
            ) -> StoreFuture<'a, ApprovalRecord> {
                Box::pin(async move {
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
                    self.get_approval(approval.id).await
                })
            }

            fn get_approval(&self, id: Uuid) -> StoreFuture<'_, ApprovalRecord> {
                Box::pin(async move {
                    let row = sqlx::query(q::GET_APPROVAL)
                        .bind(codec::id(id))
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref()
                        .map(decode_approval)
                        .unwrap_or_else(|| Err(StoreError::not_found("approval", id)))
                })
            }

            fn list_pending_approvals<'a>(
                &'a self,
                agent: Option<&'a str>,
                user_id: Option<&'a str>,
            ) -> StoreFuture<'a, Vec<ApprovalRecord>> {
                Box::pin(async move {
                    let rows = sqlx::query(q::LIST_PENDING)
                        .bind(UnixMillis::now().0)
                        .bind(agent)
                        .bind(user_id)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(decode_approval).collect()
                })
            }

            fn decide_approval<'a>(
                &'a self,
                id: Uuid,
                decision: &'a ApprovalDecision,
            ) -> StoreFuture<'a, ApprovalRecord> {
                Box::pin(async move {
                    let now = UnixMillis::now();
                    let row = sqlx::query(q::DECIDE_APPROVAL)
                        .bind(codec::id(id))
                        .bind(decision.status().as_str())
                        .bind(&decision.decided_by)
                        .bind(&decision.reason)
                        .bind(&decision.edited_args)
                        .bind(&decision.signature)
                        .bind(now.0)
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
                })
            }

            fn record_intent<'a>(&'a self, intent: &'a NewIntent) -> StoreFuture<'a, IntentRecord> {
                Box::pin(async move {
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
                    self.get_intent(intent.run_id, intent.call_id)
                        .await?
                        .ok_or_else(|| StoreError::not_found("intent", intent.call_id))
                })
            }

            fn record_intent_result<'a>(
                &'a self,
                run_id: RunId,
                call_id: CallId,
                result: &'a serde_json::Value,
            ) -> StoreFuture<'a, IntentRecord> {
                Box::pin(async move {
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
                    match self.get_intent(run_id, call_id).await? {
                        Some(_) => Err(StoreError::IntentFinished { run_id, call_id }),
                        None => Err(StoreError::not_found("intent", call_id)),
                    }
                })
            }

            fn get_intent(
                &self,
                run_id: RunId,
                call_id: CallId,
            ) -> StoreFuture<'_, Option<IntentRecord>> {
                Box::pin(async move {
                    let row = sqlx::query(q::GET_INTENT)
                        .bind(codec::id(run_id.as_uuid()))
                        .bind(codec::id(call_id.as_uuid()))
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(decode_intent).transpose()
                })
            }

            fn unfinished_intents(&self, run_id: RunId) -> StoreFuture<'_, Vec<IntentRecord>> {
                Box::pin(async move {
                    let rows = sqlx::query(q::UNFINISHED_INTENTS)
                        .bind(codec::id(run_id.as_uuid()))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(decode_intent).collect()
                })
            }

            fn add_usage<'a>(
                &'a self,
                run_id: RunId,
                agent: &'a str,
                delta: &'a Usage,
            ) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    delta.check_delta()?;
                    let mut tx = self.begin_write().await?;
                    let done = sqlx::query(q::ADD_RUN_USAGE)
                        .bind(codec::id(run_id.as_uuid()))
                        .bind(delta.tokens_in)
                        .bind(delta.tokens_out)
                        .bind(delta.tool_calls)
                        .bind(delta.cost_micro_usd)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::not_found("run", run_id));
                    }
                    sqlx::query(q::ADD_AGENT_USAGE)
                        .bind(agent)
                        .bind(delta.tokens_in)
                        .bind(delta.tokens_out)
                        .bind(delta.tool_calls)
                        .bind(delta.cost_micro_usd)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn run_usage(&self, run_id: RunId) -> StoreFuture<'_, Usage> {
                Box::pin(async move {
                    let row = sqlx::query(q::RUN_USAGE)
                        .bind(codec::id(run_id.as_uuid()))
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|r| decode_usage(&r, &run_id.to_string()))
                        .unwrap_or(Ok(Usage::default()))
                })
            }

            fn agent_usage<'a>(&'a self, agent: &'a str) -> StoreFuture<'a, Usage> {
                Box::pin(async move {
                    let row = sqlx::query(q::AGENT_USAGE)
                        .bind(agent)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|r| decode_usage(&r, agent))
                        .unwrap_or(Ok(Usage::default()))
                })
            }

            fn insert_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    let done = sqlx::query(q::INSERT_KEY)
                        .bind(&key.key_id)
                        .bind(&key.agent)
                        .bind(&key.environment)
                        .bind(&key.hash)
                        .bind(key.created_at.0)
                        .bind(key.expires_at.map(|t| t.0))
                        .bind(key.revoked_at.map(|t| t.0))
                        .bind(key.rotated_at.map(|t| t.0))
                        .bind(key.overlap_until.map(|t| t.0))
                        .bind(codec::json(&key.cidrs))
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Duplicate {
                            what: "agent key",
                            key: key.key_id.clone(),
                        });
                    }
                    Ok(())
                })
            }

            fn get_agent_key<'a>(
                &'a self,
                key_id: &'a str,
            ) -> StoreFuture<'a, Option<AgentKeyRecord>> {
                Box::pin(async move {
                    let row = sqlx::query(q::GET_KEY)
                        .bind(key_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(decode_key).transpose()
                })
            }

            fn list_agent_keys<'a>(
                &'a self,
                agent: Option<&'a str>,
            ) -> StoreFuture<'a, Vec<AgentKeyRecord>> {
                Box::pin(async move {
                    let rows = sqlx::query(q::LIST_KEYS)
                        .bind(agent)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(decode_key).collect()
                })
            }

            fn update_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    let done = sqlx::query(q::UPDATE_KEY)
                        .bind(&key.key_id)
                        .bind(&key.hash)
                        .bind(key.expires_at.map(|t| t.0))
                        .bind(key.revoked_at.map(|t| t.0))
                        .bind(key.rotated_at.map(|t| t.0))
                        .bind(key.overlap_until.map(|t| t.0))
                        .bind(codec::json(&key.cidrs))
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::not_found("agent key", &key.key_id));
                    }
                    Ok(())
                })
            }

            fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> StoreFuture<'a, AuditEntry> {
                Box::pin(async move {
                    let mut tx = self.begin_write().await?;
                    let head = sqlx::query(q::BUMP_AUDIT_HEAD)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let head = head
                        .ok_or_else(|| StoreError::corrupt("audit_head", 1, "head row missing"))?;
                    let bad = |m: String| StoreError::corrupt("audit_head", 1, m);
                    let seq: i64 = col(&head, "seq").map_err(bad)?;
                    let prev_hash: String = col(&head, "hash").map_err(bad)?;
                    let next = chain_next(entry, seq - 1, &prev_hash, UnixMillis::now());
                    sqlx::query(q::INSERT_AUDIT)
                        .bind(next.seq)
                        .bind(next.at.0)
                        .bind(&next.kind)
                        .bind(&next.actor)
                        .bind(next.run_id.map(|id| codec::id(id.as_uuid())))
                        .bind(
                            serde_json::to_string(&next.data)
                                .map_err(|e| StoreError::Invalid(e.to_string()))?,
                        )
                        .bind(&next.prev_hash)
                        .bind(&next.hash)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(q::SET_AUDIT_HEAD_HASH)
                        .bind(&next.hash)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(next)
                })
            }

            fn list_audit(&self, after_seq: i64, limit: u32) -> StoreFuture<'_, Vec<AuditEntry>> {
                Box::pin(async move {
                    let rows = sqlx::query(q::LIST_AUDIT)
                        .bind(after_seq)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(decode_audit).collect()
                })
            }

            fn verify_audit(&self) -> StoreFuture<'_, AuditVerification> {
                Box::pin(async move {
                    // Read the head first and verify up to it: an append that
                    // commits meanwhile has a larger seq and is not half-seen.
                    let head = sqlx::query(q::AUDIT_HEAD)
                        .fetch_optional(&self.pool)
                        .await?;
                    let head = head
                        .ok_or_else(|| StoreError::corrupt("audit_head", 1, "head row missing"))?;
                    let bad = |m: String| StoreError::corrupt("audit_head", 1, m);
                    let head_seq: i64 = col(&head, "seq").map_err(bad)?;
                    let head_hash: String = col(&head, "hash").map_err(bad)?;
                    let hashes: Vec<String> = sqlx::query_scalar(q::AUDIT_HASHES)
                        .bind(head_seq)
                        .fetch_all(&self.pool)
                        .await?;
                    let mut verifier = ChainVerifier::new(hashes.into_iter().collect());
                    let mut after = 0_i64;
                    'pages: loop {
                        let rows = sqlx::query(q::AUDIT_PAGE)
                            .bind(after)
                            .bind(head_seq)
                            .bind(AUDIT_PAGE_SIZE)
                            .fetch_all(&self.pool)
                            .await?;
                        if rows.is_empty() {
                            break;
                        }
                        for row in &rows {
                            let entry = decode_audit(row)?;
                            after = entry.seq;
                            if !verifier.feed(&entry) {
                                break 'pages;
                            }
                        }
                    }
                    Ok(verifier.finish((head_seq, &head_hash)))
                })
            }

            fn purge_before(&self, cutoff: UnixMillis) -> StoreFuture<'_, PurgeReport> {
                Box::pin(async move {
                    let mut tx = self.begin_write().await?;
                    let steps = sqlx::query(q::PURGE_STEPS)
                        .bind(cutoff.0)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    let runs = sqlx::query(q::PURGE_RUNS)
                        .bind(cutoff.0)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    Ok(PurgeReport { runs, steps })
                })
            }

            fn claim_runnable<'a>(
                &'a self,
                worker: &'a str,
                lease: Duration,
                limit: u32,
            ) -> StoreFuture<'a, Vec<RunRecord>> {
                Box::pin(async move {
                    let now = UnixMillis::now();
                    let rows = self
                        .claim_rows(worker, now, now.saturating_add(lease), i64::from(limit))
                        .await?;
                    rows.iter().map(decode_run).collect()
                })
            }

            fn renew_lease<'a>(
                &'a self,
                run_id: RunId,
                worker: &'a str,
                lease: Duration,
            ) -> StoreFuture<'a, RunRecord> {
                Box::pin(async move {
                    let row = sqlx::query(q::RENEW_LEASE)
                        .bind(codec::id(run_id.as_uuid()))
                        .bind(worker)
                        .bind(UnixMillis::now().saturating_add(lease).0)
                        .fetch_optional(&self.pool)
                        .await?;
                    match row {
                        Some(row) => decode_run(&row),
                        None => {
                            self.require_run(run_id).await?;
                            Err(StoreError::LeaseLost {
                                run_id,
                                worker: worker.to_owned(),
                            })
                        }
                    }
                })
            }

            fn release_lease<'a>(&'a self, run_id: RunId, worker: &'a str) -> StoreFuture<'a, ()> {
                Box::pin(async move {
                    let done = sqlx::query(q::RELEASE_LEASE)
                        .bind(codec::id(run_id.as_uuid()))
                        .bind(worker)
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 0 {
                        self.require_run(run_id).await?;
                        return Err(StoreError::LeaseLost {
                            run_id,
                            worker: worker.to_owned(),
                        });
                    }
                    Ok(())
                })
            }

            fn try_acquire_run<'a>(
                &'a self,
                run_id: RunId,
                worker: &'a str,
                lease: Duration,
            ) -> StoreFuture<'a, RunRecord> {
                Box::pin(async move {
                    let now = UnixMillis::now();
                    let row = sqlx::query(q::ACQUIRE_RUN)
                        .bind(codec::id(run_id.as_uuid()))
                        .bind(worker)
                        .bind(now.saturating_add(lease).0)
                        .bind(now.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    match row {
                        Some(row) => decode_run(&row),
                        None => {
                            self.require_run(run_id).await?;
                            Err(StoreError::Busy { run_id })
                        }
                    }
                })
            }
        }

        impl $store {
            async fn require_run(&self, run_id: RunId) -> Result<(), StoreError> {
                let found: Option<i32> = sqlx::query_scalar(q::RUN_EXISTS)
                    .bind(codec::id(run_id.as_uuid()))
                    .fetch_optional(&self.pool)
                    .await?;
                found
                    .map(|_| ())
                    .ok_or_else(|| StoreError::not_found("run", run_id))
            }
        }
    };
}

pub(crate) use impl_sql_store;

/// How many audit entries verification reads per query.
pub(crate) const AUDIT_PAGE_SIZE: i64 = 1000;
