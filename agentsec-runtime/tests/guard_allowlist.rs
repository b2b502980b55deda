//! URL allowlists resist the usual host-confusion tricks.

use agentsec_runtime::guard::{FetchAllowlist, HostAllowlist, UrlRefused};
use agentsec_runtime::identity::UserIdentity;
use agentsec_runtime::tool::ToolCtx;

fn list() -> HostAllowlist {
    HostAllowlist::new([
        "api.example.com",
        "*.docs.example.org",
        "München.example",
        "10.0.0.7",
        "[::1]",
    ])
    .unwrap()
}

#[test]
fn listed_hosts_pass_and_are_normalised() {
    let l = list();
    assert_eq!(
        l.check("https://api.example.com/v1?q=1").unwrap().as_str(),
        "https://api.example.com/v1?q=1"
    );
    assert!(l.check("HTTPS://API.EXAMPLE.COM/").is_ok());
    assert!(l.check("https://api.example.com./").is_ok(), "trailing dot");
    assert!(
        l.check("http://api.example.com/").is_ok(),
        "http is allowed unless https is required"
    );
    assert!(l.check("https://a.docs.example.org/").is_ok());
    assert!(l.check("https://a.b.docs.example.org/").is_ok());
    assert!(
        l.check("https://xn--mnchen-3ya.example/").is_ok(),
        "punycode of an IDN entry"
    );
    assert!(
        l.check("https://münchen.example/").is_ok(),
        "IDN in the URL"
    );
    assert!(l.check("http://10.0.0.7/").is_ok(), "listed IP");
    assert!(l.check("http://[::1]/").is_ok(), "listed IPv6");
}

#[test]
fn confusing_urls_are_refused() {
    let l = list();
    let refused = |url: &str| l.check(url).expect_err(url);
    assert!(matches!(
        refused("https://api.example.com@evil.test/"),
        UrlRefused::Userinfo
    ));
    assert!(matches!(
        refused("https://user:pw@api.example.com/"),
        UrlRefused::Userinfo
    ));
    assert!(matches!(
        refused("https://evil.test/api.example.com"),
        UrlRefused::HostNotAllowed(_)
    ));
    assert!(matches!(
        refused("https://api.example.com.evil.test/"),
        UrlRefused::HostNotAllowed(_)
    ));
    assert!(matches!(
        refused("https://evilapi.example.com/"),
        UrlRefused::HostNotAllowed(_)
    ));
    assert!(
        matches!(
            refused("https://docs.example.org/"),
            UrlRefused::HostNotAllowed(_)
        ),
        "wildcard excludes the apex"
    );
    assert!(matches!(
        refused("https://xdocs.example.org/"),
        UrlRefused::HostNotAllowed(_)
    ));
    assert!(matches!(
        refused("https://evil.test\\@api.example.com/"),
        UrlRefused::Userinfo | UrlRefused::HostNotAllowed(_)
    ));
    assert!(matches!(
        refused("ftp://api.example.com/"),
        UrlRefused::Scheme(_)
    ));
    assert!(matches!(
        refused("javascript:alert(1)"),
        UrlRefused::Scheme(_)
    ));
    assert!(matches!(
        refused("file:///etc/passwd"),
        UrlRefused::Scheme(_)
    ));
    assert!(matches!(
        refused("http://127.0.0.1/"),
        UrlRefused::IpLiteral(_)
    ));
    assert!(
        matches!(refused("http://2130706433/"), UrlRefused::IpLiteral(_)),
        "decimal IPv4"
    );
    assert!(
        matches!(refused("http://0x7f.1/"), UrlRefused::IpLiteral(_)),
        "hex IPv4"
    );
    assert!(matches!(
        refused("http://[::ffff:127.0.0.1]/"),
        UrlRefused::IpLiteral(_)
    ));
    assert!(matches!(
        refused("http://169.254.169.254/latest/meta-data"),
        UrlRefused::IpLiteral(_)
    ));
    assert!(matches!(
        refused("https://api.example.com:8443/"),
        UrlRefused::Port(8443)
    ));
    assert!(matches!(refused("not a url"), UrlRefused::Invalid(_)));
    // Cyrillic "а" in "аpi" is a different host (punycode), not api.example.com.
    assert!(matches!(
        refused("https://аpi.example.com/"),
        UrlRefused::HostNotAllowed(_)
    ));
}

#[test]
fn options_and_bad_entries() {
    assert!(matches!(
        list().require_https().check("http://api.example.com/"),
        Err(UrlRefused::Scheme(_))
    ));
    assert!(
        list()
            .allow_any_port()
            .check("https://api.example.com:8443/")
            .is_ok()
    );
    for bad in [
        "",
        "*.",
        "https://x.com",
        "a@b.com",
        "*.10.0.0.1",
        "a..b",
        "x.com/path",
        "x.io:443",
        "a*.x.io",
        "*.[::1]",
        "exa mple.com",
    ] {
        assert!(
            HostAllowlist::new([bad]).is_err(),
            "{bad:?} should be refused"
        );
    }
}

#[test]
fn hosts_alone_are_normalised_like_urls() {
    let l =
        HostAllowlist::new(["Docs.Example.COM.", "127.0.0.1", "[::1]", "bücher.example"]).unwrap();
    assert!(!l.is_empty());
    assert!(HostAllowlist::default().is_empty());
    assert!(!HostAllowlist::default().allows_host("docs.example.com"));
    for host in [
        "docs.example.com",
        "DOCS.EXAMPLE.COM.",
        "127.0.0.1",
        "[::1]",
    ] {
        assert!(l.allows_host(host), "{host}");
    }
    assert!(
        l.allows_host("xn--bcher-kva.example"),
        "punycode of an IDN entry"
    );
    assert!(l.allows_host("bücher.example"), "IDN host");
    assert!(l.allows_host("2130706433"), "decimal spelling of 127.0.0.1");
    for host in [
        "127.0.0.2",
        "[::2]",
        "evil-docs.example.com",
        "docs.example.com.evil.io",
        "example.com",
        "",
        "docs.example.com/x",
        "a..docs.example.com",
    ] {
        assert!(!l.allows_host(host), "{host:?}");
    }
}

#[test]
fn fetch_tools_find_the_allowlist_in_state() {
    let ctx =
        ToolCtx::for_unit_test(UserIdentity::new("alice")).with_state(FetchAllowlist::new(list()));
    let allow = ctx.state::<FetchAllowlist>().unwrap();
    assert!(allow.check("https://api.example.com/").is_ok());
    assert!(allow.check("https://evil.test/").is_err());
}
