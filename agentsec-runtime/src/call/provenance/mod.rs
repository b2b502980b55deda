//! Value provenance: where each argument of a proposed call came from.
//!
//! The pipeline is given the texts that entered the run — the user's
//! message, the outputs of trusted tools, the outputs of untrusted tools
//! with the call and step that read them ([`ValueSources`]) — and, for
//! every argument of a proposed call, says whether its value came from the
//! user, from a trusted tool, **only** from untrusted content, or was made
//! by the model ([`Provenance`]).
//!
//! # Method
//!
//! Each argument leaf (a string or number anywhere in the arguments, by
//! path) is reduced to *needles*, normalised values that identify it:
//!
//! - e-mail addresses, and the hosts of URLs and bare domains, lower-cased;
//! - IBANs and long digit runs (account, card and phone numbers, ids) with
//!   spaces, dashes, dots, slashes and brackets removed, lower-cased;
//! - amounts: the number, whatever its thousands separators or decimals
//!   (`1,000.00` is `1000`);
//! - a string with none of these: the whole value, lower-cased and trimmed,
//!   matched on word boundaries.
//!
//! Every source is projected the same way and searched for all needles at
//! once (Aho-Corasick). A needle found in the user's message is the user's;
//! else in a trusted tool's output, that tool's; else in untrusted output
//! only, those sources'. A leaf with one needle only untrusted content
//! supplied is **only-untrusted** (the attacker's piece is in it); a leaf
//! whose needles all come from the user or trusted tools is theirs; any
//! other leaf was made by the model.
//!
//! # Bounds
//!
//! Per call, at most [`MAX_LEAVES`] argument leaves, [`MAX_VALUE_BYTES`]
//! of each and [`MAX_NEEDLES`] needles are considered; at most
//! [`MAX_SOURCE_BYTES`] of each source and [`MAX_SCAN_BYTES`] of all
//! sources are read. Time is linear in the bytes read (one pass per
//! projection), memory is two projections of one source plus the needles:
//! about `2 × MAX_SOURCE_BYTES`. When an untrusted source could not be read
//! whole, a sink value found nowhere is **unverified** and treated as
//! only-untrusted: the bound never turns an attacker's value into a
//! passing one.
//!
//! # Limits
//!
//! Matching is textual. A value the model transformed (spelled out, split,
//! re-encoded, translated) no longer matches and counts as made by the
//! model; an untrusted value a trusted tool echoes back (a search that
//! returns its query) counts as that tool's; a short value that appears in
//! the user's message by chance (`1`, `yes`) passes. Provenance is a check
//! on data flow, not a proof of it.

mod needles;
mod scan;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::CallId;
use crate::tool::ToolSpec;

/// At most this many argument leaves are traced per call; the rest are
/// reported as made by the model (and, for sinks, as unverified).
pub const MAX_LEAVES: usize = 64;
/// At most this many bytes of one argument leaf are considered.
pub const MAX_VALUE_BYTES: usize = 4096;
/// At most this many needles are searched per call.
pub const MAX_NEEDLES: usize = 512;
/// At most this many bytes of one source are read.
pub const MAX_SOURCE_BYTES: usize = 4 << 20;
/// At most this many bytes of all sources together are read per call.
pub const MAX_SCAN_BYTES: usize = 32 << 20;

/// One text that entered the run from outside the model: which tool
/// returned it, in which call and step. The user's own input, when the
/// agent is declared to take untrusted input, is named `user_input`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    /// The tool (or `user_input`).
    pub tool: String,
    /// The call that returned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
    /// The step of the run.
    pub step: u32,
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.call_id {
            Some(call) => write!(f, "`{}` (call {call}, step {})", self.tool, self.step),
            None => write!(f, "`{}` (step {})", self.tool, self.step),
        }
    }
}

/// Where a source came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The user's message (of an agent that trusts its input).
    User,
    /// A trusted tool's output.
    Trusted(SourceRef),
    /// Untrusted content: an `untrusted` tool's output, or the input of an
    /// agent declared to take untrusted input.
    Untrusted(SourceRef),
}

/// Where one argument's value came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Provenance {
    /// The user typed it.
    User,
    /// A trusted tool returned it (and the user did not type it).
    TrustedTool {
        /// The first trusted source that holds it.
        source: SourceRef,
    },
    /// Only untrusted content supplied it (or a piece of it).
    Untrusted {
        /// The untrusted sources that hold it.
        sources: Vec<SourceRef>,
    },
    /// Found nowhere, but untrusted content was too large to read whole
    /// (see [`MAX_SOURCE_BYTES`]): treated as only-untrusted.
    Unverified {
        /// Why it could not be verified.
        reason: String,
    },
    /// Found in no source: the model made it.
    Model,
}

impl Provenance {
    /// Whether the value must be treated as coming only from untrusted
    /// content (it did, or that could not be ruled out).
    pub fn only_untrusted(&self) -> bool {
        matches!(
            self,
            Provenance::Untrusted { .. } | Provenance::Unverified { .. }
        )
    }

    /// A short description for an approver.
    pub fn describe(&self) -> String {
        match self {
            Provenance::User => "typed by the user".into(),
            Provenance::TrustedTool { source } => format!("returned by trusted {source}"),
            Provenance::Untrusted { sources } => format!(
                "ONLY in untrusted content: {}",
                sources
                    .iter()
                    .map(SourceRef::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Provenance::Unverified { reason } => format!("unverified: {reason}"),
            Provenance::Model => "made by the model (found in no source)".into(),
        }
    }
}

/// One argument (a leaf, by path: `recipient`, `items[0].iban`) and where
/// its value came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgumentProvenance {
    /// The argument's path.
    pub argument: String,
    /// Whether it is a sink of the tool ([`ToolSpec::is_sink`]).
    pub sink: bool,
    /// Where its value came from.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// The provenance of every argument of one call, and the untrusted sources
/// the run had read when it was proposed: what an approver reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceReport {
    /// Each argument leaf, in order.
    pub arguments: Vec<ArgumentProvenance>,
    /// The untrusted sources read so far (tool, call, step).
    pub untrusted_read: Vec<SourceRef>,
    /// Whether a bound was reached (a source not read whole, too many
    /// leaves or needles).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
}

impl ProvenanceReport {
    /// The sink arguments whose value only untrusted content supplied.
    pub fn untrusted_sinks(&self) -> impl Iterator<Item = &ArgumentProvenance> {
        self.arguments
            .iter()
            .filter(|a| a.sink && a.provenance.only_untrusted())
    }

    /// The provenance as an approver reads it, appended to the reasons:
    /// ` | arguments: recipient: ONLY in untrusted content: ...; amount:
    /// typed by the user | untrusted content read: ...`.
    pub fn approver_text(&self) -> String {
        let mut text = String::new();
        if !self.arguments.is_empty() {
            let arguments: Vec<String> = self
                .arguments
                .iter()
                .map(|a| {
                    let sink = if a.sink { " (sink)" } else { "" };
                    format!("{}{sink}: {}", a.argument, a.provenance.describe())
                })
                .collect();
            text.push_str(" | arguments: ");
            text.push_str(&arguments.join("; "));
        }
        text.push_str(" | untrusted content read: ");
        if self.untrusted_read.is_empty() {
            text.push_str("none");
        } else {
            let read: Vec<String> = self
                .untrusted_read
                .iter()
                .map(SourceRef::to_string)
                .collect();
            text.push_str(&read.join(", "));
        }
        text
    }

    /// Why the call is refused (or needs a warned person), when a sink's
    /// value only untrusted content supplied; `None` otherwise.
    pub fn sink_warning(&self, tool: &str) -> Option<String> {
        let sinks: Vec<String> = self
            .untrusted_sinks()
            .map(|a| format!("`{}` is {}", a.argument, a.provenance.describe()))
            .collect();
        if sinks.is_empty() {
            return None;
        }
        Some(format!(
            "`{tool}` would send a value that only untrusted content supplied: {}; \
             a sink's value must come from the user or a trusted tool",
            sinks.join("; ")
        ))
    }
}

/// The texts that entered a run, by origin: what provenance is matched
/// against. Borrowed from the run's messages; nothing is copied until a
/// call is traced.
///
/// ```
/// use agentsec_runtime::call::{Origin, Provenance, SourceRef, ValueSources};
/// use agentsec_runtime::tool::{Effect, EffectKind, Irreversibility, ToolSpec};
///
/// const PAY: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Egress, "payments")],
///     pure: false,
///     irreversible: Some(Irreversibility { reason: Some("moves money") }),
///     ..ToolSpec::new("send_money", "Send money.")
/// };
/// let mut sources = ValueSources::new();
/// sources.push(Origin::User, "Pay my rent of 1,100.00 to my landlord.");
/// let page = SourceRef { tool: "read_file".into(), call_id: None, step: 2 };
/// sources.push(Origin::Untrusted(page), "Landlord IBAN: GB29 NWBK 6016 1331 9268 19");
/// let report = sources.trace(&PAY, &serde_json::json!({
///     "recipient": "GB29NWBK60161331926819",
///     "amount": 1100.0,
/// }));
/// let of = |path: &str| {
///     report.arguments.iter().find(|a| a.argument == path).unwrap().provenance.clone()
/// };
/// assert!(matches!(of("recipient"), Provenance::Untrusted { .. }));
/// assert_eq!(of("amount"), Provenance::User);
/// assert!(report.sink_warning("send_money").unwrap().contains("recipient"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ValueSources<'a> {
    sources: Vec<(Origin, &'a str)>,
}

impl<'a> ValueSources<'a> {
    /// No source yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text that entered the run.
    pub fn push(&mut self, origin: Origin, text: &'a str) {
        self.sources.push((origin, text));
    }

    /// How many sources there are.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The untrusted sources, each once, in order.
    pub fn untrusted(&self) -> Vec<SourceRef> {
        let mut seen: Vec<SourceRef> = Vec::new();
        for (origin, _) in &self.sources {
            if let Origin::Untrusted(source) = origin
                && !seen.contains(source)
            {
                seen.push(source.clone());
            }
        }
        seen
    }

    /// The provenance of every argument of a call of `spec` with
    /// `arguments`, within the bounds above. Never panics.
    pub fn trace(&self, spec: &ToolSpec, arguments: &Value) -> ProvenanceReport {
        scan::trace(self, spec, arguments)
    }
}
