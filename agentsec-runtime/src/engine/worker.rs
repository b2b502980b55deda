//! Workers: claim runnable runs from a shared store and drive them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::durable::store_error;
use super::{
    Agent, AgentRuntime, CheckpointError, EngineError, LeaseGuard, RunOutcome, RunReport,
    StoreCheckpoints,
};
use crate::BoxFuture;
use crate::identity::RunId;
use crate::store::{RunRecord, RunStatus};

/// Something that continues saved runs of one agent: an
/// [`AgentRuntime`] (object safe, so a worker can hold several agents).
pub trait RunDriver: Send + Sync + 'static {
    /// The agent's name.
    fn agent(&self) -> &'static str;

    /// Continues the saved run until it completes, halts, fails or pauses.
    fn continue_run(&self, run_id: RunId) -> BoxFuture<'_, Result<RunReport, EngineError>>;

    /// Reports that the run was quarantined because `reason` (something in
    /// it does not decode). The default does nothing; an [`AgentRuntime`]
    /// publishes a [`SecurityEvent::RunQuarantined`](crate::trace::SecurityEvent::RunQuarantined).
    fn quarantined(&self, run_id: RunId, reason: &str) {
        let _ = (run_id, reason);
    }
}

impl<A: Agent> RunDriver for AgentRuntime<A> {
    fn agent(&self) -> &'static str {
        A::SPEC.name
    }

    fn continue_run(&self, run_id: RunId) -> BoxFuture<'_, Result<RunReport, EngineError>> {
        Box::pin(AgentRuntime::continue_run(self, run_id))
    }

    fn quarantined(&self, run_id: RunId, reason: &str) {
        self.events
            .publish(crate::trace::SecurityEvent::RunQuarantined {
                run_id,
                agent: A::SPEC.name.to_owned(),
                reason: reason.to_owned(),
            });
    }
}

/// What a worker did with one claimed run.
#[derive(Debug)]
pub struct WorkerReport {
    /// The run.
    pub run_id: RunId,
    /// How far it got, or why it could not be driven (another worker took
    /// it over, the store failed, no runtime for its agent).
    pub outcome: Result<RunOutcome, EngineError>,
}

/// Claims runnable runs (status `running`, lease free or expired) from a
/// store several workers share, and drives each under a lease renewed
/// while it works. A worker that dies stops renewing; its leases run out
/// and another worker continues its runs from their last checkpoint.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_runtime::engine::{StoreCheckpoints, Worker};
/// use agentsec_runtime::store::{MemoryStore, RunStore};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
/// let worker = Worker::new(&StoreCheckpoints::new(store).with_owner("worker-1"));
/// // `.agent(runtime)` for each agent it may drive; nothing to do yet:
/// assert!(worker.run_once().await.unwrap().is_empty());
/// # });
/// ```
pub struct Worker {
    checkpoints: StoreCheckpoints,
    drivers: HashMap<&'static str, Arc<dyn RunDriver>>,
    batch: u32,
    poll: Duration,
}

impl Worker {
    /// A worker claiming from the checkpoints' store under their owner id.
    /// Give the runtimes it drives the same checkpoints.
    pub fn new(checkpoints: &StoreCheckpoints) -> Self {
        Self {
            checkpoints: checkpoints.clone(),
            drivers: HashMap::new(),
            batch: 8,
            poll: Duration::from_millis(500),
        }
    }

    /// Drives runs of this runtime's agent.
    pub fn agent(mut self, runtime: Arc<dyn RunDriver>) -> Self {
        self.drivers.insert(runtime.agent(), runtime);
        self
    }

    /// How many runs one claim takes at most (default 8).
    pub fn batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// How long [`Worker::run_until`] waits when nothing is runnable.
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// The worker's id (the lease owner).
    pub fn id(&self) -> &str {
        self.checkpoints.owner()
    }

    /// Claims one batch of runnable runs and drives each; returns what
    /// became of them (empty when nothing was runnable).
    pub async fn run_once(&self) -> Result<Vec<WorkerReport>, EngineError> {
        let claimed = self
            .checkpoints
            .store()
            .claim_runnable(
                self.checkpoints.owner(),
                self.checkpoints.lease(),
                self.batch,
            )
            .await
            .map_err(|e| EngineError::Checkpoint(store_error(e)))?;
        // Every claimed lease is renewed from now on, also while the runs
        // before it are driven.
        let leases: Vec<LeaseGuard> = claimed
            .into_iter()
            .map(|record| LeaseGuard::held(&self.checkpoints, record))
            .collect();
        let mut reports = Vec::with_capacity(leases.len());
        for lease in leases {
            let run_id = lease.record().id;
            let outcome = match self.drivers.get(lease.record().agent.as_str()) {
                Some(driver) => driver.continue_run(run_id).await.map(|r| r.outcome),
                None => Err(EngineError::Config(format!(
                    "worker `{}` has no runtime for agent `{}`",
                    self.id(),
                    lease.record().agent
                ))),
            };
            match &outcome {
                Err(EngineError::Checkpoint(CheckpointError::Corrupt { message, .. })) => {
                    self.quarantine(lease.record(), message).await;
                }
                Err(error) => {
                    tracing::warn!(%run_id, %error, worker = self.id(), "could not drive a claimed run");
                }
                Ok(_) => {}
            }
            lease.release().await;
            reports.push(WorkerReport { run_id, outcome });
        }
        Ok(reports)
    }

    /// Sets a run that does not decode aside (status `corrupt`) so that no
    /// worker claims it again, and reports it.
    async fn quarantine(&self, claimed: &RunRecord, reason: &str) {
        let store = self.checkpoints.store();
        // The row as it is now (the driver may have advanced it before it
        // hit the corrupt part); its state is kept as found.
        let result = match store.get_run(claimed.id).await {
            Ok(mut record) => {
                record.status = RunStatus::Corrupt;
                store.update_run(&record).await.map(|_| ())
            }
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            tracing::warn!(run_id = %claimed.id, %error, "could not quarantine a corrupt run");
            return;
        }
        tracing::warn!(
            target: "agentsec::corrupt",
            run_id = %claimed.id,
            reason = %crate::escape::echo(reason),
            worker = self.id(),
            "quarantined a corrupt run"
        );
        if let Some(driver) = self.drivers.get(claimed.agent.as_str()) {
            driver.quarantined(claimed.id, reason);
        }
    }

    /// Claims and drives runs until `shutdown` resolves, waiting the poll
    /// interval whenever nothing is runnable. Store failures are logged and
    /// retried after the poll interval.
    pub async fn run_until(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let idle = match self.run_once().await {
                Ok(reports) => reports.is_empty(),
                Err(error) => {
                    tracing::warn!(%error, worker = self.id(), "claiming runs failed");
                    true
                }
            };
            let wait = if idle { self.poll } else { Duration::ZERO };
            if tokio::time::timeout(wait, shutdown.as_mut()).await.is_ok() {
                return;
            }
        }
    }
}
