//! Each credential pattern: a realistic value is found (with its exact
//! range), and a near miss is not.

use agentsec_core::credentials::{CredentialKind, find_credentials};

fn only(text: &str) -> (CredentialKind, &str) {
    let found = find_credentials(text);
    assert_eq!(found.len(), 1, "{text:?}: {found:?}");
    (found[0].kind, &text[found[0].start..found[0].end])
}

#[test]
fn stripe_secret_and_restricted_keys() {
    for key in [
        "sk_live_51H8abcDEFghiJKLmnoPQR0123",
        "rk_live_51H8abcDEFghiJKLmnoPQR0123",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "rk_test_4eC39HqLyjWDarjtT1zdp7dc",
    ] {
        assert_eq!(
            only(&format!("key: {key}.")),
            (CredentialKind::StripeKey, key)
        );
    }
    assert!(find_credentials("rk_live_short").is_empty());
    assert!(find_credentials("pk_live_51H8abcDEFghiJKLmnoPQR0123").is_empty());
}

#[test]
fn google_api_keys() {
    let key = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q";
    assert_eq!(key.len(), 39);
    assert_eq!(
        only(&format!("?key={key}&q=1")),
        (CredentialKind::GoogleApiKey, key)
    );
    assert!(find_credentials("AIzaShort").is_empty());
    assert!(find_credentials("AIza is a prefix").is_empty());
}

#[test]
fn github_fine_grained_tokens() {
    let token = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
    assert_eq!(only(token), (CredentialKind::GitHubToken, token));
    assert!(find_credentials("github_pat_short").is_empty());
}

#[test]
fn slack_tokens_of_every_kind() {
    for prefix in ["xoxb", "xoxp", "xoxa", "xoxr", "xoxs", "xoxe"] {
        let token = format!("{prefix}-1234567890-0987654321-AbCdEfGhIj");
        assert_eq!(only(&token), (CredentialKind::SlackToken, token.as_str()));
    }
    assert!(find_credentials("xoxq-1234567890-0987654321").is_empty());
}

#[test]
fn slack_webhooks() {
    let text =
        "post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX now";
    let (kind, found) = only(text);
    assert_eq!(kind, CredentialKind::SlackWebhook);
    assert_eq!(
        found,
        "hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    );
    assert!(find_credentials("see hooks.slack.com/services/ for docs").is_empty());
}

#[test]
fn private_keys_of_every_kind() {
    for label in [
        "PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ] {
        let pem = format!(
            "-----BEGIN {label}-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END {label}-----"
        );
        let text = format!("key:\n{pem}\ntrailer");
        assert_eq!(
            only(&text),
            (CredentialKind::PrivateKey, pem.as_str()),
            "{label}"
        );
    }
    for public in ["PUBLIC KEY", "CERTIFICATE", "PGP PUBLIC KEY BLOCK"] {
        let pem = format!("-----BEGIN {public}-----\nMIIB\n-----END {public}-----");
        assert!(find_credentials(&pem).is_empty(), "{public}");
    }
}
