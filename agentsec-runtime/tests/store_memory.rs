//! The store conformance suite against `MemoryStore`.

mod conformance;

use std::future::Future;
use std::sync::Arc;

use agentsec_runtime::store::{MemoryStore, RunStore};

async fn with_memory<F, Fut>(body: F)
where
    F: FnOnce(conformance::Stores) -> Fut,
    Fut: Future<Output = ()>,
{
    let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
    body(conformance::Stores {
        a: store.clone(),
        b: store,
        exec: None,
    })
    .await;
}

conformance_tests!(with_memory;
    single: [
        run_roundtrip_and_cas_conflict, list_runs_filters, steps_append_in_order,
        approvals_list_and_decide_once, intents_are_exactly_once, usage_counts_per_run_and_agent,
        agent_keys_roundtrip, audit_chain_appends_and_verifies, purge_respects_retention_and_keeps_audit,
        leases_renew_and_release,
    ];
    pair: [
        racing_approval_decisions, concurrent_audit_appends_never_fork, concurrent_claims_are_disjoint,
        expired_lease_is_reclaimed, single_flight_acquire,
    ];
    sql: [];
);
