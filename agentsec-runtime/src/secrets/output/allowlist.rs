//! Hosts that links in model output may point to.

use url::Host;

/// Hosts links may point to: exact hosts (`docs.example.com`, `10.0.0.1`)
/// and wildcards (`*.example.com`: every subdomain of `example.com` at any
/// depth, but not `example.com` itself — list both if both are wanted).
///
/// Hosts are compared after the same normalisation browsers apply
/// (lower case, internationalised names in punycode, a trailing dot
/// dropped), so `Docs.Example.COM.` matches `docs.example.com`.
///
/// ```
/// use agentsec_runtime::secrets::output::HostAllowlist;
/// let allow = HostAllowlist::new().allow("docs.example.com")?.allow("*.cdn.example.com")?;
/// assert!(allow.allows("docs.example.com"));
/// assert!(allow.allows("img.eu.cdn.example.com"));
/// assert!(!allow.allows("cdn.example.com"));
/// assert!(!allow.allows("evil-docs.example.com"));
/// assert!(!allow.allows("docs.example.com.evil.io"));
/// assert!(HostAllowlist::new().allow("*.").is_err());
/// # Ok::<(), agentsec_runtime::secrets::output::AllowlistError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostAllowlist {
    exact: Vec<String>,
    /// Stored with a leading dot: `.example.com`.
    suffixes: Vec<String>,
}

/// An allowlist entry that is not a host or `*.domain` wildcard.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{entry}` is not a host name, IP address or `*.domain` wildcard")]
pub struct AllowlistError {
    /// The refused entry.
    pub entry: String,
}

impl HostAllowlist {
    /// An empty allowlist: no host is allowed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an exact host or a `*.domain` wildcard.
    pub fn allow(mut self, entry: &str) -> Result<Self, AllowlistError> {
        let error = || AllowlistError {
            entry: entry.to_owned(),
        };
        if let Some(domain) = entry.strip_prefix("*.") {
            match normalise(domain) {
                Some(Host::Domain(domain)) if !domain.is_empty() => {
                    self.suffixes.push(format!(".{domain}"))
                }
                _ => return Err(error()),
            }
        } else {
            let host = normalise(entry).ok_or_else(error)?;
            self.exact.push(host_text(&host));
        }
        Ok(self)
    }

    /// Whether links to `host` (as [`url::Url::host_str`] gives it) are
    /// allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        self.exact.contains(&host) || self.suffixes.iter().any(|s| host.ends_with(s.as_str()))
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.suffixes.is_empty()
    }
}

/// Parses a host the way URLs are parsed, so allowlist entries and hosts in
/// links compare equal when browsers would treat them as the same host.
fn normalise(entry: &str) -> Option<Host<String>> {
    let entry = entry.strip_suffix('.').unwrap_or(entry);
    if entry.is_empty() || entry.contains(['/', '?', '#', '@', ':', '*']) && !entry.starts_with('[')
    {
        return None;
    }
    let url = url::Url::parse(&format!("https://{entry}/")).ok()?;
    if url.port().is_some() || !url.username().is_empty() || url.path() != "/" {
        return None;
    }
    url.host().map(|h| h.to_owned())
}

fn host_text(host: &Host<String>) -> String {
    let text = host.to_string();
    text.strip_suffix('.').map(str::to_owned).unwrap_or(text)
}
