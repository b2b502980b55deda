use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use uuid::Uuid;

use super::audit::{ChainVerifier, GENESIS_HASH, chain_next};
use super::{
    AgentKeyRecord, ApprovalDecision, ApprovalRecord, ApprovalStatus, AuditEntry,
    AuditVerification, IntentRecord, NewApproval, NewAuditEntry, NewIntent, NewRun, PurgeReport,
    RunFilter, RunRecord, RunStatus, RunStore, StepRecord, StoreError, StoreFuture, UnixMillis,
    Usage,
};
use crate::identity::{CallId, RunId};

/// A store held in memory: for tests, examples and the scripted demo.
///
/// Same behaviour as the database stores (the conformance tests run against
/// all of them), nothing survives the process.
///
/// ```
/// use agentsec_runtime::store::{MemoryStore, NewAuditEntry, RunStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let entry = NewAuditEntry { kind: "key_issued".into(), actor: "admin".into(), run_id: None, data: serde_json::json!({}) };
/// store.append_audit(&entry).await.unwrap();
/// assert!(store.verify_audit().await.unwrap().is_intact());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    runs: HashMap<RunId, RunRecord>,
    steps: HashMap<RunId, Vec<StepRecord>>,
    approvals: HashMap<Uuid, ApprovalRecord>,
    intents: BTreeMap<(RunId, CallId), IntentRecord>,
    idempotency_keys: HashSet<String>,
    run_usage: HashMap<RunId, Usage>,
    agent_usage: HashMap<String, Usage>,
    keys: BTreeMap<String, AgentKeyRecord>,
    audit: Vec<AuditEntry>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied write:
        // every method validates before it mutates.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> StoreFuture<'_, T> {
        let result = f(&mut self.lock());
        Box::pin(std::future::ready(result))
    }
}

fn lease_is_free(run: &RunRecord, now: UnixMillis) -> bool {
    run.lease_until.is_none_or(|until| until <= now)
}

impl Inner {
    fn run_mut(&mut self, id: RunId) -> Result<&mut RunRecord, StoreError> {
        self.runs
            .get_mut(&id)
            .ok_or_else(|| StoreError::not_found("run", id))
    }
}

impl RunStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn create_run<'a>(&'a self, run: &'a NewRun) -> StoreFuture<'a, RunRecord> {
        self.run(|inner| {
            if inner.runs.contains_key(&run.id) {
                return Err(StoreError::Duplicate {
                    what: "run",
                    key: run.id.to_string(),
                });
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
                lease_owner: None,
                lease_until: None,
            };
            inner.runs.insert(run.id, record.clone());
            Ok(record)
        })
    }

    fn get_run(&self, id: RunId) -> StoreFuture<'_, RunRecord> {
        self.run(move |inner| inner.run_mut(id).map(|r| r.clone()))
    }

    fn update_run<'a>(&'a self, run: &'a RunRecord) -> StoreFuture<'a, RunRecord> {
        self.run(|inner| {
            let stored = inner.run_mut(run.id)?;
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
        })
    }

    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> StoreFuture<'a, Vec<RunRecord>> {
        self.run(|inner| {
            let mut runs: Vec<RunRecord> = inner
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
        })
    }

    fn append_step<'a>(
        &'a self,
        run_id: RunId,
        kind: &'a str,
        data: &'a serde_json::Value,
    ) -> StoreFuture<'a, StepRecord> {
        self.run(move |inner| {
            inner.run_mut(run_id)?;
            let steps = inner.steps.entry(run_id).or_default();
            let step = StepRecord {
                run_id,
                seq: steps.len() as i64 + 1,
                kind: kind.to_owned(),
                data: data.clone(),
                at: UnixMillis::now(),
            };
            steps.push(step.clone());
            Ok(step)
        })
    }

    fn list_steps(&self, run_id: RunId) -> StoreFuture<'_, Vec<StepRecord>> {
        self.run(move |inner| Ok(inner.steps.get(&run_id).cloned().unwrap_or_default()))
    }

    fn insert_approval<'a>(&'a self, approval: &'a NewApproval) -> StoreFuture<'a, ApprovalRecord> {
        self.run(|inner| {
            inner.run_mut(approval.run_id)?;
            if inner.approvals.contains_key(&approval.id) {
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
                reason: None,
                edited_args: None,
                expires_at: approval.expires_at,
                decided_at: None,
                signature: None,
            };
            inner.approvals.insert(approval.id, record.clone());
            Ok(record)
        })
    }

    fn get_approval(&self, id: Uuid) -> StoreFuture<'_, ApprovalRecord> {
        self.run(move |inner| {
            inner
                .approvals
                .get(&id)
                .cloned()
                .ok_or_else(|| StoreError::not_found("approval", id))
        })
    }

    fn list_pending_approvals<'a>(
        &'a self,
        agent: Option<&'a str>,
        user_id: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<ApprovalRecord>> {
        self.run(move |inner| {
            let now = UnixMillis::now();
            let mut out: Vec<ApprovalRecord> = inner
                .approvals
                .values()
                .filter(|a| a.status == ApprovalStatus::Pending && a.expires_at > now)
                .filter(|a| {
                    inner.runs.get(&a.run_id).is_some_and(|r| {
                        agent.is_none_or(|x| r.agent == x) && user_id.is_none_or(|u| r.user_id == u)
                    })
                })
                .cloned()
                .collect();
            out.sort_by_key(|a| (a.requested_at, a.id));
            Ok(out)
        })
    }

    fn decide_approval<'a>(
        &'a self,
        id: Uuid,
        decision: &'a ApprovalDecision,
    ) -> StoreFuture<'a, ApprovalRecord> {
        self.run(move |inner| {
            let approval = inner
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
            approval.decided_by = Some(decision.decided_by.clone());
            approval.reason.clone_from(&decision.reason);
            approval.edited_args.clone_from(&decision.edited_args);
            approval.signature.clone_from(&decision.signature);
            approval.decided_at = Some(now);
            Ok(approval.clone())
        })
    }

    fn record_intent<'a>(&'a self, intent: &'a NewIntent) -> StoreFuture<'a, IntentRecord> {
        self.run(|inner| {
            inner.run_mut(intent.run_id)?;
            let key = (intent.run_id, intent.call_id);
            if inner.intents.contains_key(&key)
                || inner.idempotency_keys.contains(&intent.idempotency_key)
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
            inner
                .idempotency_keys
                .insert(intent.idempotency_key.clone());
            inner.intents.insert(key, record.clone());
            Ok(record)
        })
    }

    fn record_intent_result<'a>(
        &'a self,
        run_id: RunId,
        call_id: CallId,
        result: &'a serde_json::Value,
    ) -> StoreFuture<'a, IntentRecord> {
        self.run(move |inner| {
            let intent = inner
                .intents
                .get_mut(&(run_id, call_id))
                .ok_or_else(|| StoreError::not_found("intent", call_id))?;
            if intent.result.is_some() {
                return Err(StoreError::IntentFinished { run_id, call_id });
            }
            intent.result = Some(result.clone());
            intent.finished_at = Some(UnixMillis::now());
            Ok(intent.clone())
        })
    }

    fn get_intent(&self, run_id: RunId, call_id: CallId) -> StoreFuture<'_, Option<IntentRecord>> {
        self.run(move |inner| Ok(inner.intents.get(&(run_id, call_id)).cloned()))
    }

    fn unfinished_intents(&self, run_id: RunId) -> StoreFuture<'_, Vec<IntentRecord>> {
        self.run(move |inner| {
            let mut out: Vec<IntentRecord> = inner
                .intents
                .values()
                .filter(|i| i.run_id == run_id && i.result.is_none())
                .cloned()
                .collect();
            out.sort_by_key(|i| (i.started_at, i.call_id));
            Ok(out)
        })
    }

    fn add_usage<'a>(
        &'a self,
        run_id: RunId,
        agent: &'a str,
        delta: &'a Usage,
    ) -> StoreFuture<'a, ()> {
        self.run(move |inner| {
            delta.check_delta()?;
            inner.run_mut(run_id)?;
            let run = inner.run_usage.entry(run_id).or_default();
            *run = run.plus(delta);
            let per_agent = inner.agent_usage.entry(agent.to_owned()).or_default();
            *per_agent = per_agent.plus(delta);
            Ok(())
        })
    }

    fn run_usage(&self, run_id: RunId) -> StoreFuture<'_, Usage> {
        self.run(move |inner| Ok(inner.run_usage.get(&run_id).copied().unwrap_or_default()))
    }

    fn agent_usage<'a>(&'a self, agent: &'a str) -> StoreFuture<'a, Usage> {
        self.run(move |inner| Ok(inner.agent_usage.get(agent).copied().unwrap_or_default()))
    }

    fn insert_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
        self.run(|inner| {
            if inner.keys.contains_key(&key.key_id) {
                return Err(StoreError::Duplicate {
                    what: "agent key",
                    key: key.key_id.clone(),
                });
            }
            inner.keys.insert(key.key_id.clone(), key.clone());
            Ok(())
        })
    }

    fn get_agent_key<'a>(&'a self, key_id: &'a str) -> StoreFuture<'a, Option<AgentKeyRecord>> {
        self.run(move |inner| Ok(inner.keys.get(key_id).cloned()))
    }

    fn list_agent_keys<'a>(
        &'a self,
        agent: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<AgentKeyRecord>> {
        self.run(move |inner| {
            Ok(inner
                .keys
                .values()
                .filter(|k| agent.is_none_or(|a| k.agent == a))
                .cloned()
                .collect())
        })
    }

    fn update_agent_key<'a>(&'a self, key: &'a AgentKeyRecord) -> StoreFuture<'a, ()> {
        self.run(|inner| {
            let stored = inner
                .keys
                .get_mut(&key.key_id)
                .ok_or_else(|| StoreError::not_found("agent key", &key.key_id))?;
            stored.hash.clone_from(&key.hash);
            stored.expires_at = key.expires_at;
            stored.revoked_at = key.revoked_at;
            stored.rotated_at = key.rotated_at;
            stored.overlap_until = key.overlap_until;
            stored.cidrs = key.cidrs.clone();
            Ok(())
        })
    }

    fn append_audit<'a>(&'a self, entry: &'a NewAuditEntry) -> StoreFuture<'a, AuditEntry> {
        self.run(|inner| {
            let (prev_seq, prev_hash) = inner
                .audit
                .last()
                .map(|e| (e.seq, e.hash.as_str()))
                .unwrap_or((0, GENESIS_HASH));
            let next = chain_next(entry, prev_seq, prev_hash, UnixMillis::now());
            inner.audit.push(next.clone());
            Ok(next)
        })
    }

    fn list_audit(&self, after_seq: i64, limit: u32) -> StoreFuture<'_, Vec<AuditEntry>> {
        self.run(move |inner| {
            Ok(inner
                .audit
                .iter()
                .filter(|e| e.seq > after_seq)
                .take(limit as usize)
                .cloned()
                .collect())
        })
    }

    fn verify_audit(&self) -> StoreFuture<'_, AuditVerification> {
        self.run(|inner| {
            let known = inner.audit.iter().map(|e| e.hash.clone()).collect();
            let mut verifier = ChainVerifier::new(known);
            for entry in &inner.audit {
                if !verifier.feed(entry) {
                    break;
                }
            }
            let head = inner
                .audit
                .last()
                .map(|e| (e.seq, e.hash.as_str()))
                .unwrap_or((0, GENESIS_HASH));
            Ok(verifier.finish(head))
        })
    }

    fn purge_before(&self, cutoff: UnixMillis) -> StoreFuture<'_, PurgeReport> {
        self.run(move |inner| {
            let doomed: Vec<RunId> = inner
                .runs
                .values()
                .filter(|r| r.status.is_terminal() && r.updated_at < cutoff)
                .map(|r| r.id)
                .collect();
            let mut report = PurgeReport::default();
            for id in doomed {
                inner.runs.remove(&id);
                report.runs += 1;
                report.steps += inner.steps.remove(&id).map_or(0, |s| s.len() as u64);
                inner.approvals.retain(|_, a| a.run_id != id);
                let gone: Vec<(RunId, CallId)> = inner
                    .intents
                    .keys()
                    .filter(|k| k.0 == id)
                    .copied()
                    .collect();
                for key in gone {
                    if let Some(intent) = inner.intents.remove(&key) {
                        inner.idempotency_keys.remove(&intent.idempotency_key);
                    }
                }
                inner.run_usage.remove(&id);
            }
            Ok(report)
        })
    }

    fn claim_runnable<'a>(
        &'a self,
        worker: &'a str,
        lease: Duration,
        limit: u32,
    ) -> StoreFuture<'a, Vec<RunRecord>> {
        self.run(move |inner| {
            let now = UnixMillis::now();
            let mut ready: Vec<&mut RunRecord> = inner
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
                .collect())
        })
    }

    fn renew_lease<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord> {
        self.run(move |inner| {
            let run = inner.run_mut(run_id)?;
            if run.lease_owner.as_deref() != Some(worker) {
                return Err(StoreError::LeaseLost {
                    run_id,
                    worker: worker.to_owned(),
                });
            }
            run.lease_until = Some(UnixMillis::now().saturating_add(lease));
            Ok(run.clone())
        })
    }

    fn release_lease<'a>(&'a self, run_id: RunId, worker: &'a str) -> StoreFuture<'a, ()> {
        self.run(move |inner| {
            let run = inner.run_mut(run_id)?;
            if run.lease_owner.as_deref() != Some(worker) {
                return Err(StoreError::LeaseLost {
                    run_id,
                    worker: worker.to_owned(),
                });
            }
            run.lease_owner = None;
            run.lease_until = None;
            Ok(())
        })
    }

    fn try_acquire_run<'a>(
        &'a self,
        run_id: RunId,
        worker: &'a str,
        lease: Duration,
    ) -> StoreFuture<'a, RunRecord> {
        self.run(move |inner| {
            let run = inner.run_mut(run_id)?;
            let now = UnixMillis::now();
            if !lease_is_free(run, now) {
                return Err(StoreError::Busy { run_id });
            }
            run.lease_owner = Some(worker.to_owned());
            run.lease_until = Some(now.saturating_add(lease));
            Ok(run.clone())
        })
    }
}
