//! Sinks and the bus that fans events out to them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};

use super::anomaly::{AnomalyConfig, AnomalyRules};
use super::{EventEnvelope, SecurityEvent};
use crate::secrets::Redactor;

/// Receives security events. Implementations must be quick: they are called
/// inline by the engine (hand slow work to a channel or a task, as
/// [`WebhookSink`](super::WebhookSink) and [`AuditSink`](super::AuditSink) do).
///
/// ```
/// use agentsec_runtime::trace::{EventBus, EventEnvelope, EventSink};
/// struct CountKinds(std::sync::Mutex<Vec<&'static str>>);
/// impl EventSink for CountKinds {
///     fn publish(&self, envelope: &EventEnvelope) {
///         self.0.lock().unwrap().push(envelope.event.kind());
///     }
/// }
/// let bus = EventBus::default().with(CountKinds(Default::default()));
/// # let _ = bus;
/// ```
pub trait EventSink: Send + Sync + 'static {
    /// Handles one event.
    fn publish(&self, envelope: &EventEnvelope);

    /// Whether this sink appends to the audit chain (an
    /// [`AuditSink`](super::AuditSink)); a runtime whose bus has one does
    /// not add its default one.
    fn records_audit(&self) -> bool {
        false
    }
}

/// Calls a function whenever a call starts waiting for a person (an
/// `approval_requested` event), so approvals are pushed to the application
/// (a chat message, a page) instead of only polled. The event is published
/// when the pipeline decides the call needs approval, just before the run
/// saves its state and pauses; it carries the reason text, with each
/// argument's provenance and the untrusted sources read.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use agentsec_runtime::identity::{CallId, RunId};
/// use agentsec_runtime::trace::{ApprovalNotifier, EventBus, SecurityEvent};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let bus = EventBus::default().with(ApprovalNotifier::new(move |event: &SecurityEvent| {
///     log.lock().unwrap().push(event.kind());
/// }));
/// bus.publish(SecurityEvent::RunHalted { run_id: RunId::new(), agent: "a".into(), reason: "budget".into() });
/// bus.publish(SecurityEvent::ApprovalRequested {
///     run_id: RunId::new(), agent: "a".into(), user: "alice".into(), tool: "send_money".into(),
///     call_id: CallId::new(), reason: "`send_money` cannot be undone".into(),
/// });
/// assert_eq!(*seen.lock().unwrap(), vec!["approval_requested"]);
/// ```
pub struct ApprovalNotifier<F> {
    notify: F,
}

impl<F: Fn(&SecurityEvent) + Send + Sync + 'static> ApprovalNotifier<F> {
    /// A notifier calling `notify` with each `approval_requested` event.
    pub fn new(notify: F) -> Self {
        Self { notify }
    }
}

impl<F: Fn(&SecurityEvent) + Send + Sync + 'static> EventSink for ApprovalNotifier<F> {
    fn publish(&self, envelope: &EventEnvelope) {
        if matches!(envelope.event, SecurityEvent::ApprovalRequested { .. }) {
            (self.notify)(&envelope.event);
        }
    }
}

/// Keeps every event in memory: for tests and for inspecting a run.
///
/// ```
/// use agentsec_runtime::identity::RunId;
/// use agentsec_runtime::trace::{CollectingSink, EventBus, SecurityEvent};
/// let sink = CollectingSink::default();
/// let bus = EventBus::default().with(sink.clone());
/// bus.publish(SecurityEvent::RunHalted { run_id: RunId::new(), agent: "a".into(), reason: "budget".into() });
/// assert_eq!(sink.events()[0].kind(), "run_halted");
/// assert!(sink.envelopes()[0].at.0 > 0);
/// ```
#[derive(Clone, Default)]
pub struct CollectingSink {
    envelopes: Arc<Mutex<Vec<EventEnvelope>>>,
}

impl CollectingSink {
    /// The events received so far.
    pub fn events(&self) -> Vec<SecurityEvent> {
        self.envelopes().into_iter().map(|e| e.event).collect()
    }

    /// The events received so far, with their timestamps.
    pub fn envelopes(&self) -> Vec<EventEnvelope> {
        self.envelopes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl EventSink for CollectingSink {
    fn publish(&self, envelope: &EventEnvelope) {
        self.envelopes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(envelope.clone());
    }
}

/// Forwards events into a bounded `tokio::sync::mpsc` channel, for a
/// consumer task of the application's own. Never blocks: when the channel is
/// full (or closed) the event is dropped and counted.
///
/// ```
/// use agentsec_runtime::identity::RunId;
/// use agentsec_runtime::trace::{ChannelSink, EventBus, SecurityEvent};
/// let (sink, mut rx) = ChannelSink::new(16);
/// let bus = EventBus::default().with(sink.clone());
/// bus.publish(SecurityEvent::RunHalted { run_id: RunId::new(), agent: "a".into(), reason: "x".into() });
/// assert_eq!(rx.try_recv().unwrap().event.kind(), "run_halted");
/// assert_eq!(sink.dropped(), 0);
/// ```
#[derive(Clone)]
pub struct ChannelSink {
    sender: mpsc::Sender<EventEnvelope>,
    dropped: Arc<AtomicU64>,
}

impl ChannelSink {
    /// A sink and the receiving end of its channel, which holds up to
    /// `capacity` events (at least 1).
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<EventEnvelope>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let sink = Self {
            sender,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (sink, receiver)
    }

    /// Events dropped because the channel was full or its receiver gone.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl EventSink for ChannelSink {
    fn publish(&self, envelope: &EventEnvelope) {
        if self.sender.try_send(envelope.clone()).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// How many events a lagging [`EventBus::subscribe`] receiver may fall behind
/// before it loses the oldest.
pub const SUBSCRIBER_CAPACITY: usize = 1024;

/// Fans events out to every registered sink, to in-process subscribers and
/// to the log, after stamping them with the time.
///
/// ```
/// use agentsec_runtime::identity::RunId;
/// use agentsec_runtime::trace::{EventBus, SecurityEvent};
/// let bus = EventBus::default();
/// let mut events = bus.subscribe();
/// bus.publish(SecurityEvent::RunHalted { run_id: RunId::new(), agent: "a".into(), reason: "x".into() });
/// assert_eq!(events.try_recv().unwrap().event.kind(), "run_halted");
/// ```
#[derive(Clone)]
pub struct EventBus {
    sinks: Vec<Arc<dyn EventSink>>,
    subscribers: broadcast::Sender<EventEnvelope>,
    anomalies: Option<Arc<AnomalyRules>>,
    redactor: Option<Redactor>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            sinks: Vec::new(),
            subscribers: broadcast::channel(SUBSCRIBER_CAPACITY).0,
            anomalies: None,
            redactor: None,
        }
    }
}

impl EventBus {
    /// A bus with no sinks (events still go to the log and to subscribers).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sink.
    pub fn with(mut self, sink: impl EventSink) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Whether one of the sinks appends to the audit chain.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use agentsec_runtime::store::{MemoryStore, RunStore};
    /// use agentsec_runtime::trace::{AuditSink, CollectingSink, EventBus};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
    /// assert!(!EventBus::default().with(CollectingSink::default()).has_audit_sink());
    /// assert!(EventBus::default().with(AuditSink::spawn(store).unwrap()).has_audit_sink());
    /// # });
    /// ```
    pub fn has_audit_sink(&self) -> bool {
        self.sinks.iter().any(|s| s.records_audit())
    }

    /// Adds a shared sink.
    pub fn with_shared(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Watches the stream with the built-in anomaly rules; every
    /// [`SecurityEvent::Anomaly`] they raise is published on this bus like
    /// any other event (to all sinks, subscribers and the log).
    pub fn with_anomaly_detection(mut self, config: AnomalyConfig) -> Self {
        self.anomalies = Some(Arc::new(AnomalyRules::new(config)));
        self
    }

    /// Passes every event through `redactor` before anything sees it: the
    /// `WARN` log line, the sinks (audit, webhook, OTLP), the subscribers and
    /// the anomaly rules get the redacted event. An
    /// [`AgentRuntime`](crate::engine::AgentRuntime) (and a
    /// [`Dispatcher`](crate::tool::Dispatcher)) sets its redactor on the bus
    /// it is built with.
    ///
    /// ```
    /// use agentsec_runtime::identity::RunId;
    /// use agentsec_runtime::secrets::Redactor;
    /// use agentsec_runtime::trace::{EventBus, SecurityEvent};
    /// let redactor = Redactor::new();
    /// let _ = redactor.register("canary", "canary-8b");
    /// let bus = EventBus::default().with_redactor(redactor);
    /// let mut events = bus.subscribe();
    /// bus.publish(SecurityEvent::RunHalted { run_id: RunId::new(), agent: "a".into(), reason: "saw canary-8b".into() });
    /// let seen = serde_json::to_string(&events.try_recv().unwrap()).unwrap();
    /// assert!(!seen.contains("canary-8b") && seen.contains("[REDACTED:canary]"));
    /// ```
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// A receiver of every event published from now on. A receiver that
    /// falls more than [`SUBSCRIBER_CAPACITY`] events behind loses the oldest
    /// (`RecvError::Lagged`); the publisher never waits for it.
    pub fn subscribe(&self) -> broadcast::Receiver<EventEnvelope> {
        self.subscribers.subscribe()
    }

    /// Whether a published event would reach anyone: a sink, a subscriber,
    /// the anomaly rules or an enabled `WARN` log. Hot paths ask before
    /// building an event nobody would see.
    pub fn is_listened_to(&self) -> bool {
        !self.sinks.is_empty()
            || self.anomalies.is_some()
            || self.subscribers.receiver_count() > 0
            || tracing::enabled!(target: "agentsec::security", tracing::Level::WARN)
    }

    /// Stamps `event` with the current time and publishes it.
    pub fn publish(&self, event: SecurityEvent) {
        self.publish_envelope(&EventEnvelope::now(event));
    }

    /// Publishes an already stamped event to every sink and subscriber, logs
    /// it at `WARN`, and runs the anomaly rules over it.
    pub fn publish_envelope(&self, envelope: &EventEnvelope) {
        let redacted;
        let envelope = match self.redacted(envelope) {
            Ok(None) => envelope,
            Ok(Some(clean)) => {
                redacted = clean;
                &redacted
            }
            Err(error) => {
                // Never publish what could not be cleaned.
                tracing::warn!(
                    target: "agentsec::security",
                    kind = envelope.event.kind(),
                    %error,
                    "a security event carrying a secret could not be redacted: dropped"
                );
                return;
            }
        };
        self.dispatch(envelope);
        if let Some(rules) = &self.anomalies {
            for anomaly in rules.observe(envelope) {
                match self.redacted(&anomaly) {
                    Ok(Some(clean)) => self.dispatch(&clean),
                    Ok(None) => self.dispatch(&anomaly),
                    Err(_) => {}
                }
            }
        }
    }

    /// The event with every string field redacted, when the redactor found
    /// something in it (`None`: nothing to redact).
    fn redacted(&self, envelope: &EventEnvelope) -> Result<Option<EventEnvelope>, String> {
        let Some(redactor) = &self.redactor else {
            return Ok(None);
        };
        let mut value = serde_json::to_value(&envelope.event).map_err(|e| e.to_string())?;
        if !redactor.redact_json(&mut value) {
            return Ok(None);
        }
        let event = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Ok(Some(EventEnvelope::new(envelope.at, event)))
    }

    fn dispatch(&self, envelope: &EventEnvelope) {
        tracing::warn!(
            target: "agentsec::security",
            kind = envelope.event.kind(),
            at = envelope.at.0,
            event = ?envelope.event,
            "security event"
        );
        for sink in &self.sinks {
            sink.publish(envelope);
        }
        // No subscriber is not an error: the event still reached the sinks.
        if self.subscribers.receiver_count() > 0 {
            let _ = self.subscribers.send(envelope.clone());
        }
    }
}

impl EventSink for EventBus {
    fn publish(&self, envelope: &EventEnvelope) {
        self.publish_envelope(envelope);
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("sinks", &self.sinks.len())
            .field("subscribers", &self.subscribers.receiver_count())
            .field("anomaly_detection", &self.anomalies.is_some())
            .field("redacted", &self.redactor.is_some())
            .finish()
    }
}
