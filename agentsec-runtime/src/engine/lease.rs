//! Holding a run's lease while driving it.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::StoreCheckpoints;
use crate::identity::RunId;
use crate::store::{RunRecord, RunStore, StoreError};

/// A lease on one run, renewed in the background until released or
/// dropped. While it is held no other worker claims or resumes the run.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_runtime::engine::{LeaseGuard, StoreCheckpoints};
/// use agentsec_runtime::store::{MemoryStore, NewRun, RunStore, StoreError};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
/// let run = store.create_run(&NewRun::new("support", "alice", serde_json::json!({}))).await.unwrap();
/// let checkpoints = StoreCheckpoints::new(store.clone());
/// let lease = LeaseGuard::acquire(&checkpoints, run.id).await.unwrap();
/// // Single flight: the run is busy until the lease is released.
/// assert!(matches!(LeaseGuard::acquire(&checkpoints, run.id).await, Err(StoreError::Busy { .. })));
/// lease.release().await;
/// assert!(LeaseGuard::acquire(&checkpoints, run.id).await.is_ok());
/// # });
/// ```
pub struct LeaseGuard {
    store: Arc<dyn RunStore>,
    owner: String,
    record: RunRecord,
    renewal: JoinHandle<()>,
}

impl LeaseGuard {
    /// Leases `run_id` for the checkpoints' owner; a run anyone holds a
    /// live lease on (this owner included) is [`StoreError::Busy`].
    pub async fn acquire(
        checkpoints: &StoreCheckpoints,
        run_id: RunId,
    ) -> Result<Self, StoreError> {
        let record = checkpoints
            .store()
            .try_acquire_run(run_id, checkpoints.owner(), checkpoints.lease())
            .await?;
        Ok(Self::held(checkpoints, record))
    }

    /// Keeps renewing a lease already taken (by `claim_runnable`).
    pub(crate) fn held(checkpoints: &StoreCheckpoints, record: RunRecord) -> Self {
        let store = checkpoints.store().clone();
        let owner = checkpoints.owner().to_owned();
        let lease = checkpoints.lease();
        let renewal = tokio::spawn(renew(store.clone(), record.id, owner.clone(), lease));
        Self {
            store,
            owner,
            record,
            renewal,
        }
    }

    /// The run as it was when the lease was taken.
    pub fn record(&self) -> &RunRecord {
        &self.record
    }

    /// Stops renewing and gives the lease up (if it is still this owner's).
    pub async fn release(self) {
        self.renewal.abort();
        match self.store.release_lease(self.record.id, &self.owner).await {
            Ok(()) | Err(StoreError::LeaseLost { .. }) => {}
            Err(error) => {
                tracing::warn!(run_id = %self.record.id, %error, "could not release a lease");
            }
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        // Without a release the lease simply runs out.
        self.renewal.abort();
    }
}

/// Renews the lease at a third of its length until the owner loses it.
async fn renew(store: Arc<dyn RunStore>, run_id: RunId, owner: String, lease: Duration) {
    let period = (lease / 3).max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(period).await;
        if let Err(error) = store.renew_lease(run_id, &owner, lease).await {
            tracing::debug!(%run_id, %error, "lease renewal stopped");
            return;
        }
    }
}
