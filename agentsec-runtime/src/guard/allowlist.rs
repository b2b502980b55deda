//! The one egress allowlist: the hosts a run may reach or point to.
//!
//! The same [`HostAllowlist`] decides which URLs a fetching tool may request
//! ([`FetchAllowlist`]) and which links may stay in answers and outgoing
//! messages when they carry data
//! ([`OutputChecker`](crate::secrets::OutputChecker)): a URL is allowed when
//! its scheme, user information, port and host pass [`HostAllowlist::check_url`],
//! whichever of the two asks. An injected instruction can then neither fetch
//! from nor link to an attacker's server or an internal address.
//!
//! URLs are parsed with the WHATWG parser of the `url` crate — the one HTTP
//! clients such as `reqwest` and browsers use — so the host checked here is
//! the host the request goes to (no parser differential on `\`, `@`, `%2e`
//! or numeric IPv4 forms). Hosts are compared in their ASCII (punycode),
//! lower-case form without a trailing dot.

use std::collections::BTreeSet;
use std::net::IpAddr;

use url::{Host, Url};

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlRefused {
    /// The text is not a URL.
    #[error("not a valid URL: {0}")]
    Invalid(String),
    /// Only `https` (and `http`, unless [`HostAllowlist::require_https`]) are allowed.
    #[error("scheme `{0}` is not allowed")]
    Scheme(String),
    /// `user:password@host` URLs are refused: they are used to disguise the real host.
    #[error("URLs with user information are not allowed")]
    Userinfo,
    /// The URL has no host.
    #[error("the URL has no host")]
    MissingHost,
    /// An IP address that is not explicitly listed.
    #[error("IP address `{0}` is not allowed")]
    IpLiteral(String),
    /// A host that is not on the list.
    #[error("host `{0}` is not on the allowlist")]
    HostNotAllowed(String),
    /// A non-default port, and the list does not allow other ports.
    #[error("port {0} is not allowed")]
    Port(u16),
}

/// An allowlist entry that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid allowlist entry `{entry}`: {reason}")]
pub struct AllowlistError {
    /// The entry as given.
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The hosts a run may reach: exact hosts, `*.domain` wildcards (every
/// subdomain at any depth, not the domain itself — list both if both are
/// wanted) and explicit IP addresses. An IP address is allowed only when it
/// is listed, whatever its spelling in the URL (`2130706433`, `0x7f.1`).
///
/// The empty list ([`HostAllowlist::default`]) allows nothing.
///
/// ```
/// use agentsec_runtime::guard::{HostAllowlist, UrlRefused};
/// let list = HostAllowlist::new(["docs.rs", "*.example.com", "bücher.example"]).unwrap();
/// assert!(list.check("https://docs.rs/serde").is_ok());
/// assert!(list.check("https://api.example.com./v1").is_ok());
/// assert!(list.check("https://xn--bcher-kva.example/").is_ok());
/// assert!(matches!(list.check("https://example.com/"), Err(UrlRefused::HostNotAllowed(_))));
/// assert!(matches!(list.check("https://docs.rs@evil.test/"), Err(UrlRefused::Userinfo)));
/// assert!(matches!(list.check("http://127.0.0.1/"), Err(UrlRefused::IpLiteral(_))));
/// assert!(matches!(list.check("file:///etc/passwd"), Err(UrlRefused::Scheme(_))));
/// assert!(list.allows_host("API.example.com."));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostAllowlist {
    exact: BTreeSet<String>,
    suffixes: BTreeSet<String>,
    ips: BTreeSet<IpAddr>,
    https_only: bool,
    any_port: bool,
}

impl HostAllowlist {
    /// A list of `entries`: `host`, `*.domain`, an IPv4 address or a
    /// bracketed IPv6 address (`[::1]`). Internationalised names are
    /// converted to punycode.
    pub fn new<I, S>(entries: I) -> Result<Self, AllowlistError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Self::default();
        for entry in entries {
            list.add(entry.as_ref())?;
        }
        Ok(list)
    }

    /// Adds one entry (see [`HostAllowlist::new`]).
    pub fn add(&mut self, entry: &str) -> Result<(), AllowlistError> {
        let err = |reason: &str| AllowlistError {
            entry: entry.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = entry.trim();
        let (wildcard, name) = match trimmed.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if name.is_empty()
            || (name.contains(['/', '@', ':', '*', '?', '#']) && !name.starts_with('['))
        {
            return Err(err("expected a host name, `*.domain` or an IP address"));
        }
        match Host::parse(name).map_err(|e| err(&e.to_string()))? {
            Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_owned();
                if d.is_empty() || d.split('.').any(str::is_empty) {
                    return Err(err("empty label"));
                }
                if wildcard {
                    self.suffixes.insert(d);
                } else {
                    self.exact.insert(d);
                }
            }
            Host::Ipv4(ip) if !wildcard => {
                self.ips.insert(IpAddr::V4(ip));
            }
            Host::Ipv6(ip) if !wildcard => {
                self.ips.insert(IpAddr::V6(ip));
            }
            _ => return Err(err("a wildcard needs a domain name")),
        }
        Ok(())
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.suffixes.is_empty() && self.ips.is_empty()
    }

    /// Refuses plain `http`.
    pub fn require_https(mut self) -> Self {
        self.https_only = true;
        self
    }

    /// Allows ports other than the scheme's default.
    pub fn allow_any_port(mut self) -> Self {
        self.any_port = true;
        self
    }

    /// Parses `url` and checks it against the list; the returned [`Url`] is
    /// the one to fetch (fetch it, not the original string).
    pub fn check(&self, url: &str) -> Result<Url, UrlRefused> {
        let parsed = Url::parse(url.trim()).map_err(|e| UrlRefused::Invalid(e.to_string()))?;
        self.check_url(&parsed)?;
        Ok(parsed)
    }

    /// Checks an already parsed URL: an allowed scheme (`https`, and `http`
    /// unless [`require_https`](Self::require_https)), no user information,
    /// the scheme's default port (unless
    /// [`allow_any_port`](Self::allow_any_port)) and a listed host.
    pub fn check_url(&self, url: &Url) -> Result<(), UrlRefused> {
        match url.scheme() {
            "https" => {}
            "http" if !self.https_only => {}
            other => return Err(UrlRefused::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlRefused::Userinfo);
        }
        if let Some(port) = url.port()
            && !self.any_port
        {
            return Err(UrlRefused::Port(port));
        }
        match url.host() {
            None => Err(UrlRefused::MissingHost),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(Host::Domain(d)) => {
                let host = d.trim_end_matches('.');
                if self.allows_domain(host) {
                    Ok(())
                } else {
                    Err(UrlRefused::HostNotAllowed(host.to_owned()))
                }
            }
        }
    }

    /// Whether `host` alone (a name, an IPv4 address or a bracketed IPv6
    /// address, as [`Url::host_str`] gives it) is on the list. It is
    /// normalised as URLs are (case, punycode, trailing dot); text that is
    /// not a host is not allowed.
    pub fn allows_host(&self, host: &str) -> bool {
        match Host::parse(host.trim()) {
            Ok(Host::Domain(d)) => self.allows_domain(d.trim_end_matches('.')),
            Ok(Host::Ipv4(ip)) => self.ips.contains(&IpAddr::V4(ip)),
            Ok(Host::Ipv6(ip)) => self.ips.contains(&IpAddr::V6(ip)),
            Err(_) => false,
        }
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), UrlRefused> {
        if self.ips.contains(&ip) {
            Ok(())
        } else {
            Err(UrlRefused::IpLiteral(ip.to_string()))
        }
    }

    fn allows_domain(&self, host: &str) -> bool {
        if host.is_empty() || host.split('.').any(str::is_empty) {
            return false;
        }
        self.exact.contains(host)
            || self.suffixes.iter().any(|s| {
                host.strip_suffix(s.as_str())
                    .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
            })
    }
}

/// The allowlist of the runtime's URL-fetching tools, stored as application
/// state and looked up by type.
///
/// A fetching tool takes it as `#[state] allow: &FetchAllowlist` (or looks it
/// up with `ctx.state::<FetchAllowlist>()`) and fetches only the URL that
/// [`FetchAllowlist::check`] returns:
///
/// ```
/// use agentsec_runtime::guard::{FetchAllowlist, HostAllowlist, Url};
/// use agentsec_runtime::identity::UserIdentity;
/// use agentsec_runtime::tool::{ToolCtx, ToolError};
///
/// fn target(ctx: &ToolCtx, url: &str) -> Result<Url, ToolError> {
///     let allow = ctx.state::<FetchAllowlist>()?;
///     allow.check(url).map_err(|e| ToolError::Denied { tool: ctx.tool().into(), reason: e.to_string() })
/// }
///
/// let list = HostAllowlist::new(["*.wikipedia.org"]).unwrap();
/// let ctx = ToolCtx::for_unit_test(UserIdentity::new("alice")).with_state(FetchAllowlist::new(list));
/// assert!(target(&ctx, "https://en.wikipedia.org/wiki/Rust").is_ok());
/// assert!(target(&ctx, "https://evil.test/?q=secret").is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchAllowlist(pub HostAllowlist);

impl FetchAllowlist {
    /// Wraps a host allowlist.
    pub fn new(list: HostAllowlist) -> Self {
        Self(list)
    }

    /// See [`HostAllowlist::check`].
    pub fn check(&self, url: &str) -> Result<Url, UrlRefused> {
        self.0.check(url)
    }
}
