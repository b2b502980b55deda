use super::*;

impl Inner {
    pub(super) fn create_run(&mut self, run: &NewRun) -> Result<RunRecord, StoreError> {
        if self.runs.contains_key(&run.id) {
            return Err(StoreError::Duplicate {
                what: "run",
                key: run.id.to_string(),
            });
        }
        if let Some(key) = &run.request_key
            && let Some(existing) = self.request_keys.get(key).and_then(|id| self.runs.get(id))
        {
            return Ok(existing.clone());
        }
        let now = UnixMillis::now();
        let record = RunRecord {
            id: run.id,
            agent: run.agent.clone(),
            user_id: run.user_id.clone(),
            tenant: run.tenant.clone(),
            status: run.status,
            state: run.state.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
            lease_owner: run.lease.as_ref().map(|(owner, _)| owner.clone()),
            lease_until: run.lease.as_ref().map(|(_, until)| *until),
        };
        if let Some(key) = &run.request_key {
            self.request_keys.insert(key.clone(), run.id);
        }
        self.runs.insert(run.id, record.clone());
        Ok(record)
    }

    pub(super) fn get_run(&mut self, id: RunId) -> Result<RunRecord, StoreError> {
        self.run_mut(id).map(|r| r.clone())
    }

    pub(super) fn update_run(&mut self, run: &RunRecord) -> Result<RunRecord, StoreError> {
        let stored = self.run_mut(run.id)?;
        if stored.version != run.version {
            return Err(StoreError::Conflict {
                run_id: run.id,
                expected: run.version,
                actual: stored.version,
            });
        }
        stored.status = run.status;
        stored.state = run.state.clone();
        stored.version += 1;
        stored.updated_at = UnixMillis::now();
        Ok(stored.clone())
    }

    pub(super) fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let mut runs: Vec<RunRecord> = self
            .runs
            .values()
            .filter(|r| filter.status.is_none_or(|s| r.status == s))
            .filter(|r| filter.agent.as_ref().is_none_or(|a| &r.agent == a))
            .filter(|r| filter.user_id.as_ref().is_none_or(|u| &r.user_id == u))
            .cloned()
            .collect();
        runs.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
        runs.truncate(filter.limit as usize);
        Ok(runs)
    }

    pub(super) fn append_step(
        &mut self,
        run_id: RunId,
        kind: &str,
        data: &serde_json::Value,
    ) -> Result<StepRecord, StoreError> {
        self.run_mut(run_id)?;
        let steps = self.steps.entry(run_id).or_default();
        let step = StepRecord {
            run_id,
            seq: steps.len() as i64 + 1,
            kind: kind.to_owned(),
            data: data.clone(),
            at: UnixMillis::now(),
        };
        steps.push(step.clone());
        Ok(step)
    }

    pub(super) fn list_steps(&mut self, run_id: RunId) -> Result<Vec<StepRecord>, StoreError> {
        Ok(self.steps.get(&run_id).cloned().unwrap_or_default())
    }

    pub(super) fn purge_before(&mut self, cutoff: UnixMillis) -> Result<PurgeReport, StoreError> {
        let doomed: Vec<RunId> = self
            .runs
            .values()
            .filter(|r| r.status.is_terminal() && r.updated_at < cutoff)
            .map(|r| r.id)
            .collect();
        let mut report = PurgeReport::default();
        for id in doomed {
            self.runs.remove(&id);
            report.runs += 1;
            report.steps += self.steps.remove(&id).map_or(0, |s| s.len() as u64);
            self.approvals.retain(|_, a| a.run_id != id);
            let gone: Vec<(RunId, CallId)> =
                self.intents.keys().filter(|k| k.0 == id).copied().collect();
            for key in gone {
                if let Some(intent) = self.intents.remove(&key) {
                    self.idempotency_keys.remove(&intent.idempotency_key);
                }
            }
            self.run_usage.remove(&id);
        }
        Ok(report)
    }

    pub(super) fn claim_runnable(
        &mut self,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let now = UnixMillis::now();
        let mut ready: Vec<&mut RunRecord> = self
            .runs
            .values_mut()
            .filter(|r| r.status == RunStatus::Running && lease_is_free(r, now))
            .collect();
        ready.sort_by_key(|r| (r.updated_at, r.id));
        Ok(ready
            .into_iter()
            .take(limit as usize)
            .map(|r| {
                r.lease_owner = Some(worker.to_owned());
                r.lease_until = Some(now.saturating_add(lease));
                r.clone()
            })
            .collect::<Vec<_>>()
            .into_iter()
            .inspect(|r| *self.lease_epochs.entry(r.id).or_default() += 1)
            .collect())
    }

    pub(super) fn lease_fence(
        &mut self,
        run_id: RunId,
        worker: &str,
    ) -> Result<crate::store::Fence, StoreError> {
        let run = self.run_mut(run_id)?;
        let live = run.lease_owner.as_deref() == Some(worker)
            && run
                .lease_until
                .is_some_and(|until| until > UnixMillis::now());
        if !live {
            return Err(StoreError::LeaseLost {
                run_id,
                worker: worker.to_owned(),
            });
        }
        let epoch = self.lease_epochs.get(&run_id).copied().unwrap_or(0);
        Ok(crate::store::Fence::new(worker, epoch))
    }

    pub(super) fn check_fence(
        &mut self,
        run_id: RunId,
        fence: &crate::store::Fence,
    ) -> Result<(), StoreError> {
        match self.lease_fence(run_id, &fence.owner) {
            Ok(current) if current.epoch == fence.epoch => Ok(()),
            Ok(_) => Err(StoreError::LeaseLost {
                run_id,
                worker: fence.owner.clone(),
            }),
            Err(error) => Err(error),
        }
    }

    pub(super) fn renew_lease(
        &mut self,
        run_id: RunId,
        worker: &str,
        lease: Duration,
    ) -> Result<RunRecord, StoreError> {
        let run = self.run_mut(run_id)?;
        if run.lease_owner.as_deref() != Some(worker) {
            return Err(StoreError::LeaseLost {
                run_id,
                worker: worker.to_owned(),
            });
        }
        run.lease_until = Some(UnixMillis::now().saturating_add(lease));
        Ok(run.clone())
    }

    pub(super) fn release_lease(&mut self, run_id: RunId, worker: &str) -> Result<(), StoreError> {
        let run = self.run_mut(run_id)?;
        if run.lease_owner.as_deref() != Some(worker) {
            return Err(StoreError::LeaseLost {
                run_id,
                worker: worker.to_owned(),
            });
        }
        run.lease_owner = None;
        run.lease_until = None;
        Ok(())
    }

    pub(super) fn try_acquire_run(
        &mut self,
        run_id: RunId,
        worker: &str,
        lease: Duration,
    ) -> Result<RunRecord, StoreError> {
        let run = self.run_mut(run_id)?;
        let now = UnixMillis::now();
        if !lease_is_free(run, now) {
            return Err(StoreError::Busy { run_id });
        }
        run.lease_owner = Some(worker.to_owned());
        run.lease_until = Some(now.saturating_add(lease));
        let record = run.clone();
        *self.lease_epochs.entry(run_id).or_default() += 1;
        Ok(record)
    }
}
