use super::*;

impl Inner {
    pub(super) fn insert_approval(
        &mut self,
        approval: &NewApproval,
    ) -> Result<ApprovalRecord, StoreError> {
        self.run_mut(approval.run_id)?;
        if self.approvals.contains_key(&approval.id) {
            return Err(StoreError::Duplicate {
                what: "approval",
                key: approval.id.to_string(),
            });
        }
        let record = ApprovalRecord {
            id: approval.id,
            run_id: approval.run_id,
            call_id: approval.call_id,
            tool: approval.tool.clone(),
            args_sha256: approval.args_sha256.clone(),
            status: ApprovalStatus::Pending,
            requested_by: approval.requested_by.clone(),
            requested_at: UnixMillis::now(),
            decided_by: None,
            decided_roles: Vec::new(),
            decided_tenant: None,
            reason: None,
            edited_args: None,
            expires_at: approval.expires_at,
            decided_at: None,
            signature: None,
        };
        self.approvals.insert(approval.id, record.clone());
        Ok(record)
    }

    pub(super) fn get_approval(&mut self, id: Uuid) -> Result<ApprovalRecord, StoreError> {
        self.approvals
            .get(&id)
            .cloned()
            .ok_or_else(|| StoreError::not_found("approval", id))
    }

    pub(super) fn list_pending_approvals(
        &mut self,
        agent: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        let now = UnixMillis::now();
        let mut out: Vec<ApprovalRecord> = self
            .approvals
            .values()
            .filter(|a| a.status == ApprovalStatus::Pending && a.expires_at > now)
            .filter(|a| {
                self.runs.get(&a.run_id).is_some_and(|r| {
                    agent.is_none_or(|x| r.agent == x) && user_id.is_none_or(|u| r.user_id == u)
                })
            })
            .cloned()
            .collect();
        out.sort_by_key(|a| (a.requested_at, a.id));
        Ok(out)
    }

    pub(super) fn decide_approval(
        &mut self,
        id: Uuid,
        decision: &ApprovalDecision,
    ) -> Result<ApprovalRecord, StoreError> {
        let approval = self
            .approvals
            .get_mut(&id)
            .ok_or_else(|| StoreError::not_found("approval", id))?;
        let now = UnixMillis::now();
        if approval.status == ApprovalStatus::Pending && approval.expires_at <= now {
            approval.status = ApprovalStatus::Expired;
        }
        if approval.status != ApprovalStatus::Pending {
            return Err(StoreError::NotPending {
                approval_id: id,
                status: approval.status,
            });
        }
        approval.status = decision.status();
        approval.decided_by = Some(decision.approver.id.clone());
        approval.reason = decision.reason().map(str::to_owned);
        approval.edited_args = decision.edited_arguments().map(str::to_owned);
        approval.decided_roles.clone_from(&decision.approver.roles);
        approval
            .decided_tenant
            .clone_from(&decision.approver.tenant);
        approval.signature.clone_from(&decision.signature);
        approval.decided_at = Some(now);
        Ok(approval.clone())
    }

    pub(super) fn record_intent(&mut self, intent: &NewIntent) -> Result<IntentRecord, StoreError> {
        self.run_mut(intent.run_id)?;
        let key = (intent.run_id, intent.call_id);
        if self.intents.contains_key(&key)
            || self.idempotency_keys.contains(&intent.idempotency_key)
        {
            return Err(StoreError::DuplicateIntent {
                run_id: intent.run_id,
                call_id: intent.call_id,
            });
        }
        let record = IntentRecord {
            run_id: intent.run_id,
            call_id: intent.call_id,
            idempotency_key: intent.idempotency_key.clone(),
            approval_id: intent.approval_id,
            started_at: UnixMillis::now(),
            result: None,
            finished_at: None,
        };
        self.idempotency_keys.insert(intent.idempotency_key.clone());
        self.intents.insert(key, record.clone());
        Ok(record)
    }

    pub(super) fn record_intent_result(
        &mut self,
        run_id: RunId,
        call_id: CallId,
        result: &serde_json::Value,
    ) -> Result<IntentRecord, StoreError> {
        let intent = self
            .intents
            .get_mut(&(run_id, call_id))
            .ok_or_else(|| StoreError::not_found("intent", call_id))?;
        if intent.result.is_some() {
            return Err(StoreError::IntentFinished { run_id, call_id });
        }
        intent.result = Some(result.clone());
        intent.finished_at = Some(UnixMillis::now());
        Ok(intent.clone())
    }

    pub(super) fn get_intent(
        &mut self,
        run_id: RunId,
        call_id: CallId,
    ) -> Result<Option<IntentRecord>, StoreError> {
        Ok(self.intents.get(&(run_id, call_id)).cloned())
    }

    pub(super) fn unfinished_intents(
        &mut self,
        run_id: RunId,
    ) -> Result<Vec<IntentRecord>, StoreError> {
        let mut out: Vec<IntentRecord> = self
            .intents
            .values()
            .filter(|i| i.run_id == run_id && i.result.is_none())
            .cloned()
            .collect();
        out.sort_by_key(|i| (i.started_at, i.call_id));
        Ok(out)
    }
}
