//! SQL store methods for usage, agent keys and the audit chain (see the parent module).

macro_rules! sql_ledger_methods {
    ($store:ty) => {
        impl $store {
            async fn sql_add_usage(
                &self,
                run_id: RunId,
                agent: &str,
                delta: &Usage,
            ) -> Result<(), StoreError> {
                let [input_tokens, output_tokens, tool_calls, cost_micro_usd] =
                    $crate::store::records::ledger_columns(delta)?;
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(q::ADD_RUN_USAGE)
                    .bind(codec::id(run_id.as_uuid()))
                    .bind(input_tokens)
                    .bind(output_tokens)
                    .bind(tool_calls)
                    .bind(cost_micro_usd)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("run", run_id));
                }
                sqlx::query(q::ADD_AGENT_USAGE)
                    .bind(agent)
                    .bind(input_tokens)
                    .bind(output_tokens)
                    .bind(tool_calls)
                    .bind(cost_micro_usd)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn sql_run_usage(&self, run_id: RunId) -> Result<Usage, StoreError> {
                let row = sqlx::query(q::RUN_USAGE)
                    .bind(codec::id(run_id.as_uuid()))
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| decode_usage(&r, &run_id.to_string()))
                    .unwrap_or(Ok(Usage::default()))
            }

            async fn sql_agent_usage(&self, agent: &str) -> Result<Usage, StoreError> {
                let row = sqlx::query(q::AGENT_USAGE)
                    .bind(agent)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| decode_usage(&r, agent))
                    .unwrap_or(Ok(Usage::default()))
            }

            async fn sql_insert_agent_key(&self, key: &AgentKeyRecord) -> Result<(), StoreError> {
                let bad = |m: String| StoreError::corrupt("agent_keys", &key.key_id, m);
                let millis = |t| $crate::store::records::millis(t).map_err(bad);
                let done = sqlx::query(q::INSERT_KEY)
                    .bind(&key.key_id)
                    .bind(&key.agent)
                    .bind(key.environment.tag())
                    .bind(hex::encode(key.secret_hash))
                    .bind(millis(key.created_at)?.0)
                    .bind(key.expires_at.map(millis).transpose()?.map(|t| t.0))
                    .bind(key.revoked_at.map(millis).transpose()?.map(|t| t.0))
                    .bind(key.replaced_by.as_ref().map(|_| UnixMillis::now().0))
                    .bind(key.retires_at.map(millis).transpose()?.map(|t| t.0))
                    .bind(codec::json(&$crate::store::records::networks_json(
                        &key.allowed_networks,
                    )))
                    .bind(i64::try_from(key.version).map_err(|_| bad("version too large".into()))?)
                    .bind(&key.replaced_by)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Duplicate {
                        what: "agent key",
                        key: key.key_id.clone(),
                    });
                }
                Ok(())
            }

            async fn sql_get_agent_key(
                &self,
                key_id: &str,
            ) -> Result<Option<AgentKeyRecord>, StoreError> {
                let row = sqlx::query(q::GET_KEY)
                    .bind(key_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(decode_key).transpose()
            }

            async fn sql_list_agent_keys(
                &self,
                agent: Option<&str>,
            ) -> Result<Vec<AgentKeyRecord>, StoreError> {
                let rows = sqlx::query(q::LIST_KEYS)
                    .bind(agent)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(decode_key).collect()
            }

            async fn sql_update_agent_key(&self, key: &AgentKeyRecord) -> Result<(), StoreError> {
                let bad = |m: String| StoreError::corrupt("agent_keys", &key.key_id, m);
                let millis = |t| $crate::store::records::millis(t).map_err(bad);
                let done = sqlx::query(q::UPDATE_KEY)
                    .bind(&key.key_id)
                    .bind(i64::try_from(key.version).map_err(|_| bad("version too large".into()))?)
                    .bind(hex::encode(key.secret_hash))
                    .bind(key.expires_at.map(millis).transpose()?.map(|t| t.0))
                    .bind(key.revoked_at.map(millis).transpose()?.map(|t| t.0))
                    .bind(key.retires_at.map(millis).transpose()?.map(|t| t.0))
                    .bind(codec::json(&$crate::store::records::networks_json(
                        &key.allowed_networks,
                    )))
                    .bind(&key.replaced_by)
                    .bind(UnixMillis::now().0)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 1 {
                    return Ok(());
                }
                let exists: i64 = sqlx::query_scalar(q::KEY_EXISTS)
                    .bind(&key.key_id)
                    .fetch_one(&self.pool)
                    .await?;
                if exists == 0 {
                    return Err(StoreError::not_found("agent key", &key.key_id));
                }
                Err(StoreError::KeyConflict {
                    key_id: key.key_id.clone(),
                })
            }

            async fn sql_append_audit(
                &self,
                entry: &NewAuditEntry,
            ) -> Result<AuditEntry, StoreError> {
                let mut tx = self.begin_write().await?;
                let head = sqlx::query(q::BUMP_AUDIT_HEAD)
                    .fetch_optional(&mut *tx)
                    .await?;
                let head =
                    head.ok_or_else(|| StoreError::corrupt("audit_head", 1, "head row missing"))?;
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
            }

            async fn sql_list_audit(
                &self,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<AuditEntry>, StoreError> {
                let rows = sqlx::query(q::LIST_AUDIT)
                    .bind(after_seq)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(decode_audit).collect()
            }

            async fn sql_verify_audit(&self) -> Result<AuditVerification, StoreError> {
                // One snapshot for the head and every entry, so an append
                // committing meanwhile is either fully seen or not at all.
                let mut tx = self.begin_snapshot().await?;
                let head = sqlx::query(q::AUDIT_HEAD).fetch_optional(&mut *tx).await?;
                let head =
                    head.ok_or_else(|| StoreError::corrupt("audit_head", 1, "head row missing"))?;
                let bad = |m: String| StoreError::corrupt("audit_head", 1, m);
                let head_seq: i64 = col(&head, "seq").map_err(bad)?;
                let head_hash: String = col(&head, "hash").map_err(bad)?;
                let hashes: Vec<String> = sqlx::query_scalar(q::AUDIT_HASHES)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut verifier = ChainVerifier::new(hashes.into_iter().collect());
                let mut after = i64::MIN;
                'pages: loop {
                    let rows = sqlx::query(q::LIST_AUDIT)
                        .bind(after)
                        .bind(AUDIT_PAGE_SIZE)
                        .fetch_all(&mut *tx)
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
                tx.commit().await?;
                Ok(verifier.finish((head_seq, &head_hash)))
            }
        }
    };
}

pub(crate) use sql_ledger_methods;
