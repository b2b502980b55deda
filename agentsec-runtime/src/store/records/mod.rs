//! The records the store keeps. Every record is plain data (serde), so the
//! engine, the CLI and the HTTP layer can share them without knowing which
//! database is underneath.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

mod approvals;
mod keys;
mod runs;
mod usage;

pub use approvals::{ApprovalRecord, IntentRecord, NewApproval, NewIntent};
pub use keys::AgentKeyRecord;
pub(crate) use keys::{KeyRow, millis, networks_json};
pub use runs::{NewRun, PurgeReport, RunFilter, RunRecord, StepRecord};
pub(crate) use usage::ledger_columns;

/// A point in time: milliseconds since the Unix epoch (UTC).
///
/// Plain integers keep the schema portable between SQLite and PostgreSQL and
/// keep the dependency list short.
///
/// ```
/// use agentsec_runtime::store::UnixMillis;
/// use std::time::Duration;
/// let now = UnixMillis::now();
/// assert!(now.saturating_add(Duration::from_secs(1)) > now);
/// assert_eq!(UnixMillis(1_500).saturating_add(Duration::from_millis(500)), UnixMillis(2_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// The current time from the system clock.
    pub fn now() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self(millis)
    }

    /// This time plus `duration`, saturating instead of overflowing.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(millis))
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A stored status string that names no known status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`")]
pub struct UnknownStatus(pub String);

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order (for listing valid values).
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The string stored in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownStatus(other.to_owned())),
                }
            }
        }
    };
}

string_enum!(
    /// Where a run is in its life.
    ///
    /// ```
    /// use agentsec_runtime::store::RunStatus;
    /// assert_eq!("awaiting_approval".parse::<RunStatus>().unwrap(), RunStatus::AwaitingApproval);
    /// assert!(RunStatus::Completed.is_terminal());
    /// assert!("exploded".parse::<RunStatus>().is_err());
    /// ```
    RunStatus {
        /// Being executed (or waiting for a worker to claim it).
        Running => "running",
        /// Paused until a person decides a pending approval.
        AwaitingApproval => "awaiting_approval",
        /// An irreversible call has an intent but no result, and the tool is
        /// not idempotent: a person must reconcile before the run goes on.
        NeedsReconciliation => "needs_reconciliation",
        /// Finished successfully.
        Completed => "completed",
        /// Finished with an error.
        Failed => "failed",
        /// Stopped by a limit or a policy (iterations, budget, guard).
        Halted => "halted",
        /// Quarantined: its stored state (or a call's stored result) does not
        /// decode. No worker claims it; an operator inspects it.
        Corrupt => "corrupt",
    }
);

impl RunStatus {
    /// Whether the run is finished: completed, failed or halted.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Halted)
    }
}

string_enum!(
    /// Where an approval request is.
    ApprovalStatus {
        /// Waiting for a person.
        Pending => "pending",
        /// Approved: the call may run (once).
        Approved => "approved",
        /// Rejected: the call must not run.
        Rejected => "rejected",
        /// Nobody decided before the deadline.
        Expired => "expired",
    }
);
