//! The per-run redactor: every secret value fetched during a run, and every
//! credential-shaped string, is replaced before text leaves the run (traces,
//! logs, stored state, tool output, model requests).
//!
//! # What is caught
//!
//! For each registered secret the [`Redactor`] finds, anywhere in a text:
//! - the value itself;
//! - the value JSON-escaped, however the encoder escaped it (`\"`, `\\`,
//!   `\/`, `\u00e9`, surrogate pairs), and JSON-escaped twice (a JSON
//!   document inside a JSON string, as in tool-call arguments); also as
//!   Rust's `Debug` escapes it (`\'`, `\0`, `\u{7f}`), which is what
//!   `tracing` prints for string fields;
//! - the value percent-encoded with any set of escaped characters and either
//!   hex case, with `+` for space (form encoding), and JSON-escaped text
//!   inside percent-encoded text; a secret that itself contains `%`, written
//!   by an encoder that leaves `%` alone (the WHATWG URL sets `url` and
//!   browsers use), is searched for in each of those sets' encodings;
//! - the value base64-encoded (standard and URL-safe alphabets, padded or
//!   not), also when it is only part of the encoded data (`user:secret` in
//!   HTTP Basic authentication): the characters that carry bits of the
//!   secret are replaced;
//! - the value hex-encoded (either case);
//! - and strings shaped like credentials ([`patterns::find_credentials`]),
//!   replaced by `[REDACTED:credential]`.
//!
//! Escaping and percent-encoding are handled by searching decoded views of
//! the text (so any escaping choice is caught), the encodings by searching
//! for the encoded forms. One efficient multi-pattern automaton (Aho-Corasick)
//! holds every form of every secret; it is rebuilt when a secret is added.
//!
//! # Limits
//!
//! - Secrets shorter than [`MIN_SECRET_LEN`] bytes are not redacted (a
//!   warning is logged): replacing every `12345` would corrupt ordinary text.
//! - A secret split into pieces (across JSON fields, wrapped base64 lines,
//!   or concatenated by the model character by character) is not found: only
//!   contiguous occurrences of the forms above are.
//! - Other encodings (HTML entities, compression, encryption) are not
//!   undone. Keep secrets out of text in the first place; the redactor is
//!   the safety net, not the mechanism.
//! - Searching a text that contains `\` or `%` builds decoded copies of it
//!   with a position map (about 16 bytes per input byte each): redact large
//!   documents in pieces.
//! - The redactor holds the registered values (and their forms) in memory
//!   for as long as it lives: keep one per run and drop it with the run.
//!
//! [`patterns::find_credentials`]: super::patterns::find_credentials

mod forms;
mod json;
mod matcher;
mod store;
mod views;
mod writer;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use secrecy::{ExposeSecret, SecretString};

use super::patterns::CredentialKind;
use matcher::Matcher;

pub use store::RedactingStore;
pub use writer::{RedactingMakeWriter, RedactingWriter};

/// Secrets shorter than this many bytes are not redacted.
pub const MIN_SECRET_LEN: usize = 6;

/// What [`Redactor::register`] did with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Registration {
    /// The value is now redacted.
    Registered,
    /// The value was already registered (perhaps under another name, which
    /// keeps being used in its placeholder).
    AlreadyKnown,
    /// The value is shorter than [`MIN_SECRET_LEN`] bytes and is not
    /// redacted; a warning was logged.
    TooShort,
}

/// Why a span was redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedactionLabel {
    /// A registered secret, by name.
    Secret(Arc<str>),
    /// A credential-shaped string.
    Credential(CredentialKind),
}

impl RedactionLabel {
    /// The text that replaces the span: `[REDACTED:name]` or
    /// `[REDACTED:credential]`.
    pub fn placeholder(&self) -> String {
        match self {
            RedactionLabel::Secret(name) => format!("[REDACTED:{name}]"),
            RedactionLabel::Credential(_) => "[REDACTED:credential]".to_owned(),
        }
    }
}

/// One span of a text to redact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redaction {
    /// The byte range in the text (on `char` boundaries).
    pub range: Range<usize>,
    /// Why.
    pub label: RedactionLabel,
}

/// The per-run redactor. Cheap to clone (clones share the registered
/// secrets) and safe to use from many threads.
///
/// ```
/// use agentsec_runtime::secrets::Redactor;
/// let redactor = Redactor::new();
/// let _ = redactor.register("stripe_api_key", "rk_live_51Hx\"q\\z");
///
/// assert_eq!(
///     redactor.redact_str("calling stripe with rk_live_51Hx\"q\\z"),
///     "calling stripe with [REDACTED:stripe_api_key]"
/// );
/// // The same value as it appears inside serialized JSON.
/// let json = serde_json::json!({ "key": "rk_live_51Hx\"q\\z" }).to_string();
/// assert_eq!(redactor.redact_str(&json), r#"{"key":"[REDACTED:stripe_api_key]"}"#);
/// // Credential-shaped strings are redacted even when never registered.
/// assert_eq!(
///     redactor.redact_str("token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
///     "token [REDACTED:credential]"
/// );
/// // Text without secrets is borrowed, not copied.
/// assert!(matches!(redactor.redact_str("nothing here"), std::borrow::Cow::Borrowed(_)));
/// ```
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Registry>>,
}

#[derive(Default)]
struct Registry {
    names: Vec<Arc<str>>,
    /// Every (value, name index) registered, to answer `AlreadyKnown`.
    values: Vec<(Vec<u8>, usize)>,
    matcher: Arc<Matcher>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        for (value, _) in &mut self.values {
            secrecy::zeroize::Zeroize::zeroize(value);
        }
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let registry = self.inner.read().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("Redactor")
            .field("secrets", &registry.names)
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor with no secrets registered (it still redacts
    /// credential-shaped strings).
    pub fn new() -> Self {
        Self::default()
    }

    /// A redactor that starts with every secret registered here and keeps
    /// its own registrations to itself: one per run, so a run's redactor
    /// holds the runtime's secrets and those the run read, not every secret
    /// any run ever read.
    ///
    /// ```
    /// use agentsec_runtime::secrets::Redactor;
    /// let runtime = Redactor::new();
    /// let _ = runtime.register("stripe_api_key", "rk_live_0123456789");
    /// let run = runtime.scoped();
    /// let _ = run.register("alice_token", "alice-secret-0001");
    /// assert_eq!(run.redact_str("rk_live_0123456789"), "[REDACTED:stripe_api_key]");
    /// assert_eq!(run.redact_str("alice-secret-0001"), "[REDACTED:alice_token]");
    /// // Another run does not carry alice's secret.
    /// assert_eq!(runtime.scoped().secret_names().len(), 1);
    /// ```
    pub fn scoped(&self) -> Redactor {
        let registry = self.inner.read().unwrap_or_else(|p| p.into_inner());
        Redactor {
            inner: Arc::new(RwLock::new(Registry {
                names: registry.names.clone(),
                values: registry.values.clone(),
                matcher: registry.matcher.clone(),
            })),
        }
    }

    /// Registers a secret value under `name`: from now on every occurrence
    /// (in the forms listed in the [module docs](self)) is replaced by
    /// `[REDACTED:name]`.
    pub fn register(&self, name: &str, value: &str) -> Registration {
        if value.len() < MIN_SECRET_LEN {
            tracing::warn!(
                secret = name,
                min_len = MIN_SECRET_LEN,
                "secret is too short to be redacted safely; it will appear in logs and traces as is"
            );
            return Registration::TooShort;
        }
        let mut registry = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if registry.values.iter().any(|(v, _)| v == value.as_bytes()) {
            return Registration::AlreadyKnown;
        }
        let index = match registry.names.iter().position(|n| &**n == name) {
            Some(index) => index,
            None => {
                registry.names.push(Arc::from(name));
                registry.names.len() - 1
            }
        };
        registry.values.push((value.as_bytes().to_vec(), index));
        let matcher = Matcher::build(&registry.values);
        registry.matcher = Arc::new(matcher);
        Registration::Registered
    }

    /// Registers a [`SecretString`] (see [`Redactor::register`]).
    pub fn register_secret(&self, name: &str, value: &SecretString) -> Registration {
        self.register(name, value.expose_secret())
    }

    /// The names of the registered secrets.
    pub fn secret_names(&self) -> Vec<Arc<str>> {
        let registry = self.inner.read().unwrap_or_else(|p| p.into_inner());
        registry.names.clone()
    }

    fn snapshot(&self) -> (Arc<Matcher>, Vec<Arc<str>>) {
        let registry = self.inner.read().unwrap_or_else(|p| p.into_inner());
        (registry.matcher.clone(), registry.names.clone())
    }

    /// The spans of `text` to redact, sorted and not overlapping.
    ///
    /// ```
    /// use agentsec_runtime::secrets::Redactor;
    /// use agentsec_runtime::secrets::redact::RedactionLabel;
    /// let redactor = Redactor::new();
    /// let _ = redactor.register("db", "hunter2hunter2");
    /// let found = redactor.find("pw=hunter2hunter2");
    /// assert_eq!(found[0].range, 3..17);
    /// assert_eq!(found[0].label, RedactionLabel::Secret("db".into()));
    /// ```
    pub fn find(&self, text: &str) -> Vec<Redaction> {
        let (matcher, names) = self.snapshot();
        matcher.find(text, &names)
    }

    /// `text` with every secret and credential-shaped string replaced.
    pub fn redact_str<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let found = self.find(text);
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(apply(text, &found))
    }

    /// Redacts every string in a JSON value, object keys included, recursively.
    /// A number whose digits are a secret becomes a redacted string. Returns
    /// whether anything changed.
    ///
    /// ```
    /// use agentsec_runtime::secrets::Redactor;
    /// let redactor = Redactor::new();
    /// let _ = redactor.register("pin", "40961234");
    /// let mut value = serde_json::json!({ "args": ["x", 40961234], "40961234": true });
    /// assert!(redactor.redact_json(&mut value));
    /// assert_eq!(
    ///     value,
    ///     serde_json::json!({ "args": ["x", "[REDACTED:pin]"], "[REDACTED:pin]": true })
    /// );
    /// ```
    pub fn redact_json(&self, value: &mut serde_json::Value) -> bool {
        let (matcher, names) = self.snapshot();
        json::redact_value(value, &|text| {
            let found = matcher.find(text, &names);
            (!found.is_empty()).then(|| apply(text, &found))
        })
    }
}

/// `text` with each span replaced by its placeholder.
fn apply(text: &str, found: &[Redaction]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for redaction in found {
        out.push_str(text.get(at..redaction.range.start).unwrap_or_default());
        out.push_str(&redaction.label.placeholder());
        at = redaction.range.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}
