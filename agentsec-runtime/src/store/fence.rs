//! Fencing tokens: who holds a run's lease, and since which taking of it.

/// The lease a writer holds on a run: its owner id and the lease epoch it
/// took the lease at.
///
/// Every time a run's lease is taken — claimed by a worker, taken over after
/// it expired, acquired to resume or reconcile — the store raises the run's
/// epoch by one. A writer that was paused (SIGSTOP, a long GC, a stalled VM)
/// past its lease and came back holds an older epoch: the fenced writes
/// ([`RunStore::record_intent_fenced`](super::RunStore::record_intent_fenced),
/// [`RunStore::record_intent_result_fenced`](super::RunStore::record_intent_result_fenced))
/// and [`RunStore::check_fence`](super::RunStore::check_fence) refuse it with
/// [`StoreError::LeaseLost`](super::StoreError::LeaseLost).
///
/// ```
/// use agentsec_runtime::store::Fence;
/// let fence = Fence::new("worker-1", 7);
/// assert_eq!((fence.owner.as_str(), fence.epoch), ("worker-1", 7));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The lease owner (a worker's or process's id).
    pub owner: String,
    /// The run's lease epoch when the owner took the lease.
    pub epoch: i64,
}

impl Fence {
    /// The fence of `owner`'s lease taken at `epoch`.
    pub fn new(owner: impl Into<String>, epoch: i64) -> Self {
        Self {
            owner: owner.into(),
            epoch,
        }
    }
}
