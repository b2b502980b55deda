//! The [`RunStore`](crate::store::RunStore) implementation shared by the SQL
//! stores, as a macro instantiated in each backend module. The backend
//! provides: `Db` and `Row`, a `codec` module (id and JSON parameters and
//! getters), and on the store `pool`, `begin_write()` (a transaction that
//! holds the write lock from its first statement), `begin_snapshot()` (a
//! read transaction over one consistent snapshot) and `claim_rows()` (the
//! dialect-specific lease claim).

mod approvals;
mod fence;
mod ledger;
mod runs;

pub(crate) use approvals::sql_approval_methods;
pub(crate) use fence::sql_fence_methods;
pub(crate) use ledger::sql_ledger_methods;
pub(crate) use runs::sql_run_methods;

macro_rules! impl_sql_store {
    ($store:ty, $kind:literal) => {
        $crate::store::sql::store_impl::sql_run_methods!($store);
        $crate::store::sql::store_impl::sql_approval_methods!($store);
        $crate::store::sql::store_impl::sql_ledger_methods!($store);
        $crate::store::sql::store_impl::sql_fence_methods!($store);

        // Each method delegates to the backend's inherent `sql_*` method.
        impl $crate::store::RunStore for $store {
            fn kind(&self) -> &'static str {
                $kind
            }

            fn create_run<'a>(&'a self, run: &'a NewRun) -> StoreFuture<'a, RunRecord> {
                Box::pin(self.sql_create_run(run))
            }

            fn get_run(&self, id: RunId) -> StoreFuture<'_, RunRecord> {
                Box::pin(self.sql_get_run(id))
            }

            fn update_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, RunRecord> {
                Box::pin(self.sql_update_run(run))
            }

            fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> StoreFuture<'a, Vec<RunRecord>> {
                Box::pin(self.sql_list_runs(filter))
            }

            fn append_step<'a>(
                &'a self,
                run_id: RunId,
                kind: &'a str,
                data: &'a serde_json::Value,
            ) -> StoreFuture<'a, StepRecord> {
                Box::pin(self.sql_append_step(run_id, kind, data))
            }

            fn list_steps(&self, run_id: RunId) -> StoreFuture<'_, Vec<StepRecord>> {
                Box::pin(self.sql_list_steps(run_id))
            }

            fn insert_approval<'a>(
                &'a self,
                approval: &'a NewApproval,
            ) -> StoreFuture<'a, ApprovalRecord> {
                Box::pin(self.sql_insert_approval(approval))
            }

            fn get_approval(&self, id: Uuid) -> StoreFuture<'_, ApprovalRecord> {
                Box::pin(self.sql_get_approval(id))
            }

            fn list_pending_approvals<'a>(
                &'a self,
                agent: Option<&'a str>,
                user_id: Option<&'a str>,
            ) -> StoreFuture<'a, Vec<ApprovalRecord>> {
                Box::pin(self.sql_list_pending_approvals(agent, user_id))
            }

            fn decide_approval<'a>(
                &'a self,
                id: Uuid,
                decision: &'a ApprovalDecision,
            ) -> StoreFuture<'a, ApprovalRecord> {
                Box::pin(self.sql_decide_approval(id, decision))
            }

            fn record_intent<'a>(&'a self, intent: &'a NewIntent) -> StoreFuture<'a, IntentRecord> {
                Box::pin(self.sql_record_intent(intent))
            }

            fn record_intent_result<'a>(
                &'a self,
                run_id: RunId,
                call_id: CallId,
                result: &'a serde_json::Value,
            ) -> StoreFuture<'a, IntentRecord> {
                Box::pin(self.sql_record_intent_result(run_id, call_id, result))
            }

            fn get_intent(
                &self,
                run_id: RunId,
                call_id: CallId,
            ) -> StoreFuture<'_, Option<IntentRecord>> {
                Box::pin(self.sql_get_intent(run_id, call_id))
            }

            fn unfinished_intents(&self, run_id: RunId) -> StoreFuture<'_, Vec<IntentRecord>> {
                Box::pin(self.sql_unfinished_intents(run_id))
            }

            fn add_usage<'a>(
                &'a self,
                run_id: RunId,
                agent: &'a str,
                delta: &'a Usage,
            ) -> StoreFuture<'a, ()> {
                Box::pin(self.sql_add_usage(run_id, agent, delta))
            }

            fn run_usage(&self, run_id: RunId) -> StoreFuture<'_, Usage> {
                Box::pin(self.sql_run_usage(run_id))
            }

            fn agent_usage<'a>(&'a self, agent: &'a str) -> StoreFuture<'a, Usage> {
                Box::pin(self.sql_agent_usage(agent))
            }

            fn insert_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
                Box::pin(self.sql_insert_agent_key(key))
            }

            fn get_agent_key<'a>(
                &'a self,
                key_id: &'a str,
            ) -> StoreFuture<'a, Option<AgentKeyRecord>> {
                Box::pin(self.sql_get_agent_key(key_id))
            }

            fn list_agent_keys<'a>(
                &'a self,
                agent: Option<&'a str>,
            ) -> StoreFuture<'a, Vec<AgentKeyRecord>> {
                Box::pin(self.sql_list_agent_keys(agent))
            }

            fn update_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
                Box::pin(self.sql_update_agent_key(key))
            }

            fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> StoreFuture<'a, AuditEntry> {
                Box::pin(self.sql_append_audit(entry))
            }

            fn list_audit(&self, after_seq: i64, limit: u32) -> StoreFuture<'_, Vec<AuditEntry>> {
                Box::pin(self.sql_list_audit(after_seq, limit))
            }

            fn verify_audit(&self) -> StoreFuture<'_, AuditVerification> {
                Box::pin(self.sql_verify_audit())
            }

            fn purge_before(&self, cutoff: UnixMillis) -> StoreFuture<'_, PurgeReport> {
                Box::pin(self.sql_purge_before(cutoff))
            }

            fn claim_runnable<'a>(
                &'a self,
                worker: &'a str,
                lease: Duration,
                limit: u32,
            ) -> StoreFuture<'a, Vec<RunRecord>> {
                Box::pin(self.sql_claim_runnable(worker, lease, limit))
            }

            fn renew_lease<'a>(
                &'a self,
                run_id: RunId,
                worker: &'a str,
                lease: Duration,
            ) -> StoreFuture<'a, RunRecord> {
                Box::pin(self.sql_renew_lease(run_id, worker, lease))
            }

            fn release_lease<'a>(&'a self, run_id: RunId, worker: &'a str) -> StoreFuture<'a, ()> {
                Box::pin(self.sql_release_lease(run_id, worker))
            }

            fn lease_fence<'a>(
                &'a self,
                run_id: RunId,
                worker: &'a str,
            ) -> StoreFuture<'a, $crate::store::Fence> {
                Box::pin(self.sql_lease_fence(run_id, worker))
            }

            fn check_fence<'a>(
                &'a self,
                run_id: RunId,
                fence: &'a $crate::store::Fence,
            ) -> StoreFuture<'a, ()> {
                Box::pin(self.sql_check_fence(run_id, fence))
            }

            fn record_intent_fenced<'a>(
                &'a self,
                intent: &'a NewIntent,
                fence: &'a $crate::store::Fence,
            ) -> StoreFuture<'a, IntentRecord> {
                Box::pin(self.sql_record_intent_fenced(intent, fence))
            }

            fn record_intent_result_fenced<'a>(
                &'a self,
                run_id: RunId,
                call_id: CallId,
                result: &'a serde_json::Value,
                fence: &'a $crate::store::Fence,
            ) -> StoreFuture<'a, IntentRecord> {
                Box::pin(self.sql_record_intent_result_fenced(run_id, call_id, result, fence))
            }

            fn try_acquire_run<'a>(
                &'a self,
                run_id: RunId,
                worker: &'a str,
                lease: Duration,
            ) -> StoreFuture<'a, RunRecord> {
                Box::pin(self.sql_try_acquire_run(run_id, worker, lease))
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
