//! Taint tracking per run, and the "rule of two": a run that has both
//! ingested untrusted content and read private data must not change state
//! or talk to the outside world without a person approving it.
//!
//! The agent macro already refuses agents whose *declared* tools form the
//! lethal trifecta; this is the per-run check that still holds when the
//! declarations alone would allow it (an irreversible egress tool, a
//! write tool, untrusted user input).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::tool::{Scope, ToolSpec};

/// What a run has been exposed to so far. Serializable: it is part of the
/// run's checkpointed state, so a resumed run keeps its taint.
///
/// ```
/// use agentsec_runtime::guard::TaintTracker;
/// use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
///
/// const FETCH: ToolSpec = ToolSpec { untrusted: true, ..ToolSpec::new("fetch_page", "Fetch a page.") };
/// const ORDERS: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Read, "orders")],
///     scope: Some(Scope::User),
///     pure: false,
///     ..ToolSpec::new("list_orders", "List orders.")
/// };
/// const EMAIL: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Egress, "email")],
///     pure: false,
///     ..ToolSpec::new("send_email", "Send an email.")
/// };
///
/// let mut taint = TaintTracker::new();
/// taint.record_call(&FETCH);
/// assert!(taint.requires_approval(&EMAIL).is_none()); // untrusted only: one of three
/// taint.record_call(&ORDERS);
/// let reason = taint.requires_approval(&EMAIL).unwrap();
/// assert!(reason.contains("fetch_page") && reason.contains("list_orders"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaintTracker {
    /// Sources of untrusted content the run has read: tool names, or
    /// `user_input` for the input of an agent declared untrusted.
    pub ingested_untrusted: BTreeSet<String>,
    /// Tools that read private (user- or tenant-scoped) data in this run.
    pub read_private: BTreeSet<String>,
}

/// The source name recorded for untrusted user input.
pub const UNTRUSTED_USER_INPUT: &str = "user_input";

impl TaintTracker {
    /// A clean run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a completed tool call: an `untrusted` tool taints the run, a
    /// tool reading private data marks it as holding private data.
    pub fn record_call(&mut self, spec: &ToolSpec) {
        if spec.untrusted {
            self.ingested_untrusted.insert(spec.name.to_owned());
        }
        if spec.reads_private_data() {
            self.read_private.insert(spec.name.to_owned());
        }
    }

    /// Records untrusted text that did not come from a tool (the input of
    /// an agent declared untrusted, a webhook body).
    pub fn record_untrusted_input(&mut self, source: &str) {
        self.ingested_untrusted.insert(source.to_owned());
    }

    /// Whether the run has read untrusted content.
    pub fn is_tainted(&self) -> bool {
        !self.ingested_untrusted.is_empty()
    }

    /// Whether the run has read private data.
    pub fn holds_private_data(&self) -> bool {
        !self.read_private.is_empty()
    }

    /// Why a call of `spec` needs a human approval under the rule of two,
    /// whatever its declaration; `None` when the run may proceed.
    ///
    /// A call needs approval when it changes state or sends data out and
    /// the run has ingested untrusted content and holds private data (read
    /// earlier, or read by this very call).
    pub fn requires_approval(&self, spec: &ToolSpec) -> Option<String> {
        if !(spec.changes_state() || spec.has_egress()) || !self.is_tainted() {
            return None;
        }
        let mut private: Vec<&str> = self.read_private.iter().map(String::as_str).collect();
        // A call that reads, or changes, the user's or tenant's own data
        // touches a sensitive system itself: after untrusted content that is
        // the second leg already (a planted "add this to my calendar").
        let touches_private = spec.reads_private_data()
            || (spec.changes_state()
                && matches!(spec.scope, Some(Scope::User) | Some(Scope::Tenant)));
        if touches_private && !self.read_private.contains(spec.name) {
            private.push(spec.name);
        }
        if private.is_empty() {
            return None;
        }
        let untrusted: Vec<&str> = self.ingested_untrusted.iter().map(String::as_str).collect();
        let what = if spec.has_egress() {
            "sends data outside"
        } else {
            "changes state"
        };
        Some(format!(
            "this run has read untrusted content (from {}) and private data (from {}); `{}` {what}, \
             so a person must approve it (rule of two)",
            untrusted.join(", "),
            private.join(", "),
            spec.name,
        ))
    }
}
