//! Sinks: the arguments of a tool whose value must not come from untrusted
//! content alone (a payment's recipient, an email's address, a URL to
//! post to, an amount).
//!
//! A tool declares its sinks with `#[sink]` on an argument; a hand-written
//! spec lists them in [`ToolSpec::sinks`]. Whatever is declared, an
//! `egress` or `#[irreversible]` tool also has the default sinks: every
//! argument whose name says it is a recipient, a destination, an address,
//! a URL or host, an account, a phone number or an amount
//! ([`is_default_sink_name`]). A user who declares nothing extra is covered.

use crate::tool::ToolSpec;

/// What the runtime does with a call whose sink argument carries a value
/// that only untrusted content supplied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SinkPolicy {
    /// The call is denied by policy; the model is told why and the run
    /// goes on (the default).
    #[default]
    Deny,
    /// A person is asked instead, with the warning in the approval request.
    Ask,
}

impl SinkPolicy {
    /// The keyword used in `#[tool(untrusted_sink = "...")]`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SinkPolicy::Deny => "deny",
            SinkPolicy::Ask => "ask",
        }
    }
}

/// A tool's sink arguments and what happens when one carries a value only
/// untrusted content supplied.
///
/// ```
/// use agentsec_core::{Effect, EffectKind, Irreversibility, SinkPolicy, Sinks, ToolSpec};
/// const SEND: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Egress, "chat")],
///     pure: false,
///     irreversible: Some(Irreversibility { reason: None }),
///     sinks: Sinks { declared: &["channel_id"], on_untrusted: SinkPolicy::Deny },
///     ..ToolSpec::new("post_message", "Post a chat message.")
/// };
/// assert!(SEND.is_sink("channel_id")); // declared
/// assert!(SEND.is_sink("recipient")); // a default of an egress tool
/// assert!(!SEND.is_sink("body"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sinks {
    /// The top-level arguments declared as sinks (`#[sink]`), besides the
    /// defaults.
    pub declared: &'static [&'static str],
    /// What happens when a sink's value comes only from untrusted content.
    pub on_untrusted: SinkPolicy,
}

impl Sinks {
    /// No declared sink (the defaults still apply), untrusted values denied.
    pub const DEFAULT: Sinks = Sinks {
        declared: &[],
        on_untrusted: SinkPolicy::Deny,
    };
}

impl Default for Sinks {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Words that make an argument a sink of an egress or irreversible tool
/// when they are the whole name or one of its `_`/`-`-separated parts
/// (`to`, `email_to`, `dest_host`).
const SINK_WORDS: &[&str] = &[
    "to",
    "cc",
    "bcc",
    "dest",
    "destination",
    "recipient",
    "recipients",
    "receiver",
    "payee",
    "beneficiary",
    "iban",
    "bic",
    "swift",
    "account",
    "accounts",
    "email",
    "emails",
    "address",
    "addresses",
    "url",
    "urls",
    "uri",
    "link",
    "host",
    "hostname",
    "domain",
    "endpoint",
    "webhook",
    "phone",
    "number",
    "channel",
    "user",
    "users",
    "participants",
    "attendees",
    "target",
    "amount",
    "price",
    "total",
];

/// Whether an argument called `name` is a default sink of an egress or
/// irreversible tool: one of its `_`/`-`-separated parts (case ignored)
/// names a recipient, destination, address, URL or host, account, phone
/// number, channel or user, or an amount.
///
/// ```
/// use agentsec_core::sink::is_default_sink_name;
/// assert!(is_default_sink_name("recipient"));
/// assert!(is_default_sink_name("email_to"));
/// assert!(is_default_sink_name("webhookUrl") == false); // parts are `_`/`-` separated
/// assert!(is_default_sink_name("amount_cents"));
/// assert!(!is_default_sink_name("subject"));
/// assert!(!is_default_sink_name("token"));
/// ```
pub fn is_default_sink_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower
        .split(['_', '-'])
        .any(|part| SINK_WORDS.contains(&part))
}

impl ToolSpec {
    /// Whether the top-level argument `argument` is a sink of this tool:
    /// declared with `#[sink]`, or a default sink (see
    /// [`is_default_sink_name`]) of an `egress` or `#[irreversible]` tool.
    pub fn is_sink(&self, argument: &str) -> bool {
        self.sinks.declared.contains(&argument)
            || ((self.has_egress() || self.is_irreversible()) && is_default_sink_name(argument))
    }

    /// Whether the tool may have sinks at all: it sends data out, changes
    /// state or cannot be undone.
    pub const fn may_have_sinks(&self) -> bool {
        self.changes_state() || self.is_irreversible()
    }
}
