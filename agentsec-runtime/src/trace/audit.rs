//! A sink that appends the events an auditor needs to the store's
//! hash-chained audit log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{EventEnvelope, EventSink, SecurityEvent, SinkError};
use crate::store::{NewAuditEntry, RunStore};

/// Queue and retry settings of an [`AuditSink`].
#[derive(Clone, Debug)]
pub struct AuditSinkConfig {
    /// Entries waiting to be appended; past this, new ones are dropped,
    /// counted and logged at `ERROR`.
    pub queue_capacity: usize,
    /// Attempts per entry, the first included.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles per retry.
    pub initial_backoff: Duration,
    /// The longest wait between retries.
    pub max_backoff: Duration,
}

impl Default for AuditSinkConfig {
    /// A queue of 10 000, 5 attempts, backoff from 50 ms to 5 s.
    fn default() -> Self {
        Self {
            queue_capacity: 10_000,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Counters of an [`AuditSink`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Entries appended to the chain.
    pub appended: u64,
    /// Entries dropped because the queue was full.
    pub dropped: u64,
    /// Entries given up on after every attempt failed.
    pub failed: u64,
}

#[derive(Default)]
struct Counters {
    appended: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

enum Command {
    Append(NewAuditEntry),
    Flush(oneshot::Sender<()>),
}

/// Appends the security events to the store's audit chain
/// ([`RunStore::append_audit`]): approvals requested, granted and rejected,
/// permission denials, rejected agent keys, executed irreversible calls,
/// screening that flagged or blocked input, taint escalations, blocked
/// exfiltration and exceeded budgets; other events (routine tool calls,
/// budget warnings, halts, redactions) are ignored (see [`audit_entry`]).
///
/// A runtime whose checkpoints are in a store adds one by default (see
/// `AgentRuntimeBuilder::without_audit` to opt out).
///
/// Appends run on one background task, in publication order, fed by a
/// bounded queue, so [`EventSink::publish`] never waits on the database.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_runtime::identity::{CallId, RunId};
/// use agentsec_runtime::store::{MemoryStore, RunStore};
/// use agentsec_runtime::trace::{AuditSink, EventBus, SecurityEvent};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
/// let audit = AuditSink::spawn(store.clone()).unwrap();
/// let bus = EventBus::default().with(audit.clone());
/// bus.publish(SecurityEvent::ApprovalGranted {
///     run_id: RunId::new(), call_id: CallId::new(), tool: "refund_order".into(), approver: "bob".into(),
/// });
/// audit.flush().await;
/// let log = store.list_audit(0, 10).await.unwrap();
/// assert_eq!((log[0].kind.as_str(), log[0].actor.as_str()), ("approval_granted", "user:bob"));
/// assert!(store.verify_audit().await.unwrap().is_intact());
/// # });
/// ```
#[derive(Clone)]
pub struct AuditSink {
    queue: mpsc::Sender<Command>,
    counters: Arc<Counters>,
}

impl AuditSink {
    /// Starts the append task with the default settings.
    pub fn spawn(store: Arc<dyn RunStore>) -> Result<Self, SinkError> {
        Self::spawn_with_config(store, AuditSinkConfig::default())
    }

    /// Starts the append task with `config`.
    pub fn spawn_with_config(
        store: Arc<dyn RunStore>,
        config: AuditSinkConfig,
    ) -> Result<Self, SinkError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SinkError::NoRuntime)?;
        let (queue, commands) = mpsc::channel(config.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            store,
            config,
            counters: counters.clone(),
        };
        runtime.spawn(worker.run(commands));
        Ok(Self { queue, counters })
    }

    /// The counters so far.
    pub fn stats(&self) -> AuditStats {
        AuditStats {
            appended: self.counters.appended.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    /// Waits until every entry queued before this call has been appended or
    /// given up on (for shutdown and tests).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Command::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

impl EventSink for AuditSink {
    fn records_audit(&self) -> bool {
        true
    }

    fn publish(&self, envelope: &EventEnvelope) {
        let Some(entry) = audit_entry(envelope) else {
            return;
        };
        if self.queue.try_send(Command::Append(entry)).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!(target: "agentsec::security", kind = envelope.event.kind(), "audit queue full: entry dropped");
        }
    }
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink")
            .field("stats", &self.stats())
            .finish()
    }
}

/// The audit entry an event becomes, or `None` for events the audit log
/// does not keep. The entry's `kind` is the event's kind, its `actor` the
/// person or agent that acted, and its `data` the whole envelope (the
/// event's own time included).
///
/// ```
/// use agentsec_runtime::identity::RunId;
/// use agentsec_runtime::trace::{audit_entry, EventEnvelope, SecurityEvent};
/// let rejected = EventEnvelope::now(SecurityEvent::KeyRejected {
///     key_id: Some("ak_123".into()), agent: Some("support".into()), reason: "revoked".into(),
/// });
/// let entry = audit_entry(&rejected).unwrap();
/// assert_eq!((entry.kind.as_str(), entry.actor.as_str()), ("key_rejected", "key:ak_123"));
/// let halted = EventEnvelope::now(SecurityEvent::RunHalted {
///     run_id: RunId::new(), agent: "support".into(), reason: "budget".into(),
/// });
/// assert!(audit_entry(&halted).is_none());
/// ```
pub fn audit_entry(envelope: &EventEnvelope) -> Option<NewAuditEntry> {
    let actor = match &envelope.event {
        SecurityEvent::ApprovalGranted { approver, .. }
        | SecurityEvent::ApprovalRejected { approver, .. } => {
            format!("user:{approver}")
        }
        SecurityEvent::PermissionDenied { agent, .. }
        | SecurityEvent::IrreversibleExecuted { agent, .. }
        | SecurityEvent::ApprovalRequested { agent, .. }
        | SecurityEvent::InputFlagged { agent, .. }
        | SecurityEvent::InputBlocked { agent, .. }
        | SecurityEvent::TaintEscalation { agent, .. }
        | SecurityEvent::ExfiltrationBlocked { agent, .. }
        | SecurityEvent::BudgetExceeded { agent, .. } => {
            format!("agent:{agent}")
        }
        SecurityEvent::KeyRejected { key_id, .. } => match key_id {
            Some(id) => format!("key:{id}"),
            None => "key:unknown".to_owned(),
        },
        _ => return None,
    };
    let data = serde_json::to_value(envelope).ok()?;
    Some(NewAuditEntry {
        kind: envelope.event.kind().to_owned(),
        actor,
        run_id: envelope.event.run_id(),
        data,
    })
}

struct Worker {
    store: Arc<dyn RunStore>,
    config: AuditSinkConfig,
    counters: Arc<Counters>,
}

impl Worker {
    async fn run(self, mut commands: mpsc::Receiver<Command>) {
        while let Some(command) = commands.recv().await {
            match command {
                Command::Append(entry) => self.append(&entry).await,
                Command::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    /// Appends one entry, retrying; the next entry waits, which keeps the
    /// chain in publication order.
    async fn append(&self, entry: &NewAuditEntry) {
        let attempts = self.config.max_attempts.max(1);
        let mut backoff = self.config.initial_backoff;
        for attempt in 1..=attempts {
            match self.store.append_audit(entry).await {
                Ok(_) => {
                    self.counters.appended.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(error) if attempt == attempts => {
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(target: "agentsec::security", kind = %entry.kind, %error, "audit append gave up");
                }
                Err(error) => {
                    tracing::warn!(target: "agentsec::security", kind = %entry.kind, attempt, %error, "audit append failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
            }
        }
    }
}
