use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! time_ordered_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        ///
        /// In text, JSON and events alike the id reads as it displays
        /// (`prefix_` and 32 hex digits), so the id a person copies from the
        /// CLI finds the same run in logs and event streams; a bare UUID (the
        /// form of earlier versions) is still accepted when reading.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// A fresh id: a UUIDv7, so ids sort by creation time.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id as a UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            /// Parses both the displayed form (`run_0190…`) and a bare UUID.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let bare = s.strip_prefix(concat!($prefix, "_")).unwrap_or(s);
                Uuid::parse_str(bare).map(Self)
            }
        }
    };
}

time_ordered_id!(
    /// The id of one execution of an agent.
    ///
    /// ```
    /// use agentsec_runtime::identity::RunId;
    /// let run = RunId::new();
    /// assert!(run.to_string().starts_with("run_"));
    /// assert_eq!(run.to_string().parse::<RunId>().unwrap(), run);
    /// // JSON carries the same form; a bare UUID is read too.
    /// let json = serde_json::to_string(&run).unwrap();
    /// assert_eq!(json, format!("\"{run}\""));
    /// let bare = format!("\"{}\"", run.as_uuid());
    /// assert_eq!(serde_json::from_str::<RunId>(&bare).unwrap(), run);
    /// ```
    RunId,
    "run"
);

time_ordered_id!(
    /// The id of one tool call inside a run.
    ///
    /// ```
    /// use agentsec_runtime::identity::CallId;
    /// let call = CallId::new();
    /// assert!(call.to_string().starts_with("call_"));
    /// ```
    CallId,
    "call"
);
