//! The timestamped envelope every sink receives, and the argument digest.

use serde::{Deserialize, Serialize};

use super::SecurityEvent;
use crate::store::UnixMillis;

/// A [`SecurityEvent`] with the time it was published.
///
/// The engine constructs plain [`SecurityEvent`]s; [`EventBus::publish`](super::EventBus::publish)
/// stamps them. Serialized, the envelope is the event's own object with an
/// `at` field (unix milliseconds) added beside `event`:
///
/// ```
/// use agentsec_runtime::identity::RunId;
/// use agentsec_runtime::store::UnixMillis;
/// use agentsec_runtime::trace::{EventEnvelope, SecurityEvent};
/// let envelope = EventEnvelope::new(
///     UnixMillis(1_700_000_000_000),
///     SecurityEvent::RunHalted { run_id: RunId::new(), agent: "support".into(), reason: "budget".into() },
/// );
/// let json = serde_json::to_value(&envelope).unwrap();
/// assert_eq!(json["at"], 1_700_000_000_000i64);
/// assert_eq!(json["event"], "run_halted");
/// let back: EventEnvelope = serde_json::from_value(json).unwrap();
/// assert_eq!(back, envelope);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    /// When the event was published.
    pub at: UnixMillis,
    /// What happened.
    #[serde(flatten)]
    pub event: SecurityEvent,
}

impl EventEnvelope {
    /// An envelope stamped with `at`.
    pub fn new(at: UnixMillis, event: SecurityEvent) -> Self {
        Self { at, event }
    }

    /// An envelope stamped with the current time.
    pub fn now(event: SecurityEvent) -> Self {
        Self::new(UnixMillis::now(), event)
    }
}
