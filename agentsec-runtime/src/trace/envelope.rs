//! The timestamped envelope every sink receives, and the argument digest.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

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

/// A stable digest of a call's arguments: hex SHA-256 over their canonical
/// JSON (object keys sorted, no whitespace), so the same arguments give the
/// same digest whatever order the model wrote them in. Text that is not JSON
/// is hashed as it is.
///
/// ```
/// use agentsec_runtime::trace::args_digest;
/// assert_eq!(args_digest(r#"{"a":1,"b":2}"#), args_digest(r#"{ "b": 2, "a": 1 }"#));
/// assert_ne!(args_digest(r#"{"a":1}"#), args_digest(r#"{"a":2}"#));
/// ```
pub fn args_digest(arguments: &str) -> String {
    let canonical = match serde_json::from_str::<Value>(arguments) {
        Ok(value) => sorted(value).to_string(),
        Err(_) => arguments.to_owned(),
    };
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// The value with every object's keys in sorted order. serde_json's map keeps
/// insertion order when its `preserve_order` feature is on somewhere in the
/// build, so the keys are re-inserted sorted rather than trusting the map.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
