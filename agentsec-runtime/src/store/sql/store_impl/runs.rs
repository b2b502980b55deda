//! SQL store methods for runs, steps, leases and retention (see the parent module).

macro_rules! sql_run_methods {
    ($store:ty) => {
        /// Logs a run row that does not decode and is left out.
        fn skip_corrupt(error: &StoreError) {
            tracing::warn!(
                target: "agentsec::corrupt",
                error = %$crate::escape::echo(&error.to_string()),
                "skipping a corrupt run row"
            );
        }

        impl $store {
            async fn sql_create_run(&self, run: &NewRun) -> Result<RunRecord, StoreError> {
                let now = UnixMillis::now();
                let done = sqlx::query(q::INSERT_RUN)
                    .bind(codec::id(run.id.as_uuid()))
                    .bind(&run.agent)
                    .bind(&run.user_id)
                    .bind(&run.tenant)
                    .bind(run.status.as_str())
                    .bind(codec::json(&run.state))
                    .bind(now.0)
                    .bind(&run.request_key)
                    .bind(run.lease.as_ref().map(|(owner, _)| owner))
                    .bind(run.lease.as_ref().map(|(_, until)| until.0))
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    // The request made its run before: that run is the answer.
                    if let Some(key) = &run.request_key {
                        let row = sqlx::query(q::RUN_BY_REQUEST)
                            .bind(key)
                            .fetch_optional(&self.pool)
                            .await?;
                        if let Some(row) = row {
                            return decode_run(&row);
                        }
                    }
                    return Err(StoreError::Duplicate {
                        what: "run",
                        key: run.id.to_string(),
                    });
                }
                self.sql_get_run(run.id).await
            }

            async fn sql_get_run(&self, id: RunId) -> Result<RunRecord, StoreError> {
                let row = sqlx::query(q::GET_RUN)
                    .bind(codec::id(id.as_uuid()))
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref()
                    .map(decode_run)
                    .unwrap_or_else(|| Err(StoreError::not_found("run", id)))
            }

            async fn sql_update_run(&self, run: &RunRecord) -> Result<RunRecord, StoreError> {
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
            }

            async fn sql_list_runs(
                &self,
                filter: &RunFilter,
            ) -> Result<Vec<RunRecord>, StoreError> {
                let rows = sqlx::query(q::LIST_RUNS)
                    .bind(filter.status.map(|s| s.as_str()))
                    .bind(&filter.agent)
                    .bind(&filter.user_id)
                    .bind(i64::from(filter.limit))
                    .fetch_all(&self.pool)
                    .await?;
                // One corrupt row does not hide every other run.
                Ok(rows
                    .iter()
                    .filter_map(|row| match decode_run(row) {
                        Ok(run) => Some(run),
                        Err(error) => {
                            skip_corrupt(&error);
                            None
                        }
                    })
                    .collect())
            }

            async fn sql_append_step(
                &self,
                run_id: RunId,
                kind: &str,
                data: &serde_json::Value,
            ) -> Result<StepRecord, StoreError> {
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
            }

            async fn sql_list_steps(&self, run_id: RunId) -> Result<Vec<StepRecord>, StoreError> {
                let rows = sqlx::query(q::LIST_STEPS)
                    .bind(codec::id(run_id.as_uuid()))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(decode_step).collect()
            }

            async fn sql_purge_before(
                &self,
                cutoff: UnixMillis,
            ) -> Result<PurgeReport, StoreError> {
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
            }

            async fn sql_claim_runnable(
                &self,
                worker: &str,
                lease: Duration,
                limit: u32,
            ) -> Result<Vec<RunRecord>, StoreError> {
                let now = UnixMillis::now();
                let rows = self
                    .claim_rows(worker, now, now.saturating_add(lease), i64::from(limit))
                    .await?;
                let mut claimed = Vec::with_capacity(rows.len());
                for row in &rows {
                    match decode_run(row) {
                        Ok(run) => claimed.push(run),
                        // A row no worker can read is quarantined, not
                        // claimed (and failed) by every worker forever.
                        Err(error) => {
                            skip_corrupt(&error);
                            if let StoreError::Corrupt { key, .. } = &error
                                && let Ok(id) = key.parse::<Uuid>()
                            {
                                sqlx::query(q::QUARANTINE_RUN)
                                    .bind(codec::id(id))
                                    .bind(UnixMillis::now().0)
                                    .execute(&self.pool)
                                    .await?;
                            }
                        }
                    }
                }
                Ok(claimed)
            }

            async fn sql_renew_lease(
                &self,
                run_id: RunId,
                worker: &str,
                lease: Duration,
            ) -> Result<RunRecord, StoreError> {
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
            }

            async fn sql_release_lease(
                &self,
                run_id: RunId,
                worker: &str,
            ) -> Result<(), StoreError> {
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
            }

            async fn sql_try_acquire_run(
                &self,
                run_id: RunId,
                worker: &str,
                lease: Duration,
            ) -> Result<RunRecord, StoreError> {
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
            }
        }
    };
}

pub(crate) use sql_run_methods;
