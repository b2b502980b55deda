//! Built-in anomaly rules over the security event stream.
//!
//! Three rules, each raising a [`SecurityEvent::Anomaly`] with its rule id:
//!
//! - [`REPEATED_DENIALS`]: a run collected `denials_per_run` or more
//!   `PermissionDenied` / `ToolRefused` events — a model probing its limits,
//!   or an injected instruction trying tool after tool;
//! - [`TOOL_CALL_RATE`]: an agent's calls in the last `rate_window` exceed
//!   `rate_ratio` times its moving average per window, and at least
//!   `rate_floor` (so a burst on a quiet agent, whose average is near zero,
//!   is caught without every second call on it firing);
//! - [`REPEATED_IRREVERSIBLE`]: two different calls of one irreversible tool
//!   with the same arguments digest within `repeat_window` — the classic
//!   double refund.
//!
//! The rules read the time from the events' envelopes, never from the
//! clock, so replayed or delayed streams give the same answers.

mod rules;

use std::time::Duration;

pub(crate) use rules::AnomalyRules;

use super::{EventEnvelope, EventSink, SecurityEvent};

/// Rule id: repeated denials in one run.
pub const REPEATED_DENIALS: &str = "repeated_denials";
/// Rule id: tool-call rate far above the agent's norm.
pub const TOOL_CALL_RATE: &str = "tool_call_rate";
/// Rule id: an identical irreversible call repeated.
pub const REPEATED_IRREVERSIBLE: &str = "repeated_irreversible";

/// Thresholds of the built-in anomaly rules.
///
/// ```
/// use std::time::Duration;
/// use agentsec_runtime::trace::AnomalyConfig;
/// let config = AnomalyConfig { denials_per_run: 5, rate_window: Duration::from_secs(30), ..Default::default() };
/// assert_eq!(config.rate_floor, AnomalyConfig::default().rate_floor);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AnomalyConfig {
    /// Denials (`PermissionDenied` or `ToolRefused`) in one run that raise
    /// [`REPEATED_DENIALS`]. Default 3.
    pub denials_per_run: u32,
    /// The sliding window the call rate is counted over. Default one minute.
    pub rate_window: Duration,
    /// How many times its moving average an agent's calls per window must
    /// exceed to raise [`TOOL_CALL_RATE`]. Default 5.
    pub rate_ratio: f64,
    /// The absolute floor: a window with this many calls or fewer never
    /// raises [`TOOL_CALL_RATE`], whatever the average. Default 30.
    pub rate_floor: u32,
    /// The weight of the newest window in the moving average (0..=1).
    /// Default 0.2.
    pub rate_smoothing: f64,
    /// How long an irreversible call is remembered for
    /// [`REPEATED_IRREVERSIBLE`]. Default ten minutes.
    pub repeat_window: Duration,
    /// How long an idle run or agent is remembered, and how many of each
    /// are tracked before idle ones are forgotten (bounded memory).
    /// Defaults one hour and 10 000.
    pub retention: Duration,
    /// See `retention`.
    pub max_tracked: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            denials_per_run: 3,
            rate_window: Duration::from_secs(60),
            rate_ratio: 5.0,
            rate_floor: 30,
            rate_smoothing: 0.2,
            repeat_window: Duration::from_secs(600),
            retention: Duration::from_secs(3600),
            max_tracked: 10_000,
        }
    }
}

/// An [`EventSink`] wrapper that passes every event on to `inner` and, after
/// it, any [`SecurityEvent::Anomaly`] the built-in rules raise.
///
/// To have anomalies reach every sink and subscriber of a bus, use
/// [`EventBus::with_anomaly_detection`](super::EventBus::with_anomaly_detection)
/// instead.
///
/// ```
/// use agentsec_runtime::identity::{CallId, RunId};
/// use agentsec_runtime::store::UnixMillis;
/// use agentsec_runtime::trace::{AnomalyDetector, CollectingSink, EventEnvelope, EventSink, SecurityEvent};
/// let seen = CollectingSink::default();
/// let detector = AnomalyDetector::new(seen.clone());
/// let run_id = RunId::new();
/// for i in 0..3 {
///     detector.publish(&EventEnvelope::new(UnixMillis(i), SecurityEvent::ToolRefused {
///         run_id, tool: "rm".into(), call_id: CallId::new(), error: "unknown tool".into(),
///     }));
/// }
/// let kinds: Vec<_> = seen.events().iter().map(|e| e.kind()).collect();
/// assert_eq!(kinds, ["tool_refused", "tool_refused", "tool_refused", "anomaly"]);
/// ```
pub struct AnomalyDetector<S> {
    rules: AnomalyRules,
    inner: S,
}

impl<S: EventSink> AnomalyDetector<S> {
    /// A detector with the default thresholds in front of `inner`.
    pub fn new(inner: S) -> Self {
        Self::with_config(inner, AnomalyConfig::default())
    }

    /// A detector with `config`'s thresholds in front of `inner`.
    pub fn with_config(inner: S, config: AnomalyConfig) -> Self {
        Self {
            rules: AnomalyRules::new(config),
            inner,
        }
    }

    /// Runs the rules over one event and returns the anomalies it raised
    /// (without publishing anything).
    pub fn observe(&self, envelope: &EventEnvelope) -> Vec<EventEnvelope> {
        self.rules.observe(envelope)
    }
}

impl<S: EventSink> EventSink for AnomalyDetector<S> {
    fn publish(&self, envelope: &EventEnvelope) {
        self.inner.publish(envelope);
        for anomaly in self.rules.observe(envelope) {
            if let SecurityEvent::Anomaly {
                rule, description, ..
            } = &anomaly.event
            {
                tracing::warn!(target: "agentsec::security", rule = %rule, "anomaly: {description}");
            }
            self.inner.publish(&anomaly);
        }
    }
}
