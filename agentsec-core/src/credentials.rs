//! Recognising strings shaped like credentials.
//!
//! Used at compile time by the tool and agent macros (a credential literal in
//! code or a prompt does not compile) and at run time by the redactor.

/// A kind of credential recognised by [`find_credentials`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    /// An OpenAI or Anthropic style API key (`sk-...`).
    SkApiKey,
    /// A Stripe secret or restricted key (`sk_live_...`, `rk_live_...`,
    /// and their `_test_` forms).
    StripeKey,
    /// A Google API key (`AIza...`).
    GoogleApiKey,
    /// An AWS access key id (`AKIA...`, `ASIA...`).
    AwsAccessKey,
    /// A GitHub token (`ghp_...`, `gho_...`, `github_pat_...`).
    GitHubToken,
    /// A Slack token (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxo-`).
    SlackToken,
    /// A Slack incoming-webhook URL (`hooks.slack.com/services/...`).
    SlackWebhook,
    /// A PEM private key block of any kind: PKCS#8 (`PRIVATE KEY`,
    /// `ENCRYPTED PRIVATE KEY`), RSA, EC, DSA, OpenSSH, PGP.
    PrivateKey,
    /// A JSON Web Token (`eyJ....eyJ....sig`).
    Jwt,
}

impl CredentialKind {
    /// A short human name.
    pub fn describe(self) -> &'static str {
        match self {
            CredentialKind::SkApiKey => "an API key (`sk-...`)",
            CredentialKind::StripeKey => "a Stripe secret key",
            CredentialKind::GoogleApiKey => "a Google API key",
            CredentialKind::AwsAccessKey => "an AWS access key id",
            CredentialKind::GitHubToken => "a GitHub token",
            CredentialKind::SlackToken => "a Slack token",
            CredentialKind::SlackWebhook => "a Slack webhook URL",
            CredentialKind::PrivateKey => "a PEM private key",
            CredentialKind::Jwt => "a JSON Web Token",
        }
    }
}

/// A credential-shaped run of text: its byte range and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialMatch {
    /// Start byte offset.
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
    /// What it looks like.
    pub kind: CredentialKind,
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_b64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Length of the run of bytes satisfying `pred` starting at `from`.
fn run_len(bytes: &[u8], from: usize, pred: fn(u8) -> bool) -> usize {
    bytes
        .get(from..)
        .unwrap_or(&[])
        .iter()
        .take_while(|b| pred(**b))
        .count()
}

/// Finds every credential-shaped run in `text`, in order, without overlaps.
///
/// Ranges are byte offsets; every range starts and ends on a `char`
/// boundary, so `&text[m.start..m.end]` never panics.
///
/// ```
/// use agentsec_core::credentials::{CredentialKind, find_credentials};
/// let found = find_credentials("key=sk-proj-abcdefghijklmnopqrstuvwx1234 ok");
/// assert_eq!(found[0].kind, CredentialKind::SkApiKey);
/// assert!(find_credentials("the word sk-etch is fine").is_empty());
/// ```
pub fn find_credentials(text: &str) -> Vec<CredentialMatch> {
    find_credentials_in_bytes(text.as_bytes())
}

/// Like [`find_credentials`], over bytes that need not be UTF-8 (for example
/// text after percent-decoding).
pub fn find_credentials_in_bytes(bytes: &[u8]) -> Vec<CredentialMatch> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // Only start a match at a token boundary, so `task-...` is not `sk-...`.
        let at_boundary = i == 0 || !is_token_byte(bytes[i - 1]);
        if let Some(m) = at_boundary.then(|| match_at(bytes, i)).flatten() {
            i = m.end;
            found.push(m);
        } else {
            i += 1;
        }
    }
    found
}

/// Whether `text` contains anything credential-shaped.
pub fn contains_credential(text: &str) -> bool {
    !find_credentials(text).is_empty()
}

/// The first position of `needle` in `haystack`.
fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

// Works on bytes, not `&str`: `i` may sit inside a multi-byte character
// (every prefix we look for is ASCII, so such positions simply never match).
fn match_at(bytes: &[u8], i: usize) -> Option<CredentialMatch> {
    let rest = bytes.get(i..)?;
    let hit = |len: usize, kind| {
        Some(CredentialMatch {
            start: i,
            end: i + len,
            kind,
        })
    };
    if rest.starts_with(b"-----BEGIN ") {
        let header_end = find_bytes(rest, b"-----\n")
            .or_else(|| find_bytes(rest.get(5..)?, b"-----").map(|p| p + 5))
            .unwrap_or(0);
        let header = rest.get(..header_end).unwrap_or(&[]);
        if find_bytes(header, b"PRIVATE KEY").is_some() {
            let end = find_bytes(rest, b"-----END ")
                .and_then(|p| find_bytes(rest.get(p + 9..)?, b"-----").map(|q| p + 9 + q + 5))
                .unwrap_or(rest.len());
            return hit(end, CredentialKind::PrivateKey);
        }
        return None;
    }
    for prefix in ["sk_live_", "sk_test_", "rk_live_", "rk_test_"] {
        if rest.starts_with(prefix.as_bytes()) {
            let len = run_len(bytes, i, is_token_byte);
            if len >= 20 && has_digit_and_letter(rest.get(3..len)?) {
                return hit(len, CredentialKind::StripeKey);
            }
            return None;
        }
    }
    if rest.starts_with(b"AIza") {
        // `AIza` and 35 characters of the URL-safe base64 alphabet.
        let len = run_len(bytes, i, is_token_byte);
        if len == 39 {
            return hit(len, CredentialKind::GoogleApiKey);
        }
        return None;
    }
    for prefix in ["hooks.slack.com/services/", "hooks.slack.com/workflows/"] {
        if rest.starts_with(prefix.as_bytes()) {
            let len =
                prefix.len() + run_len(bytes, i + prefix.len(), |b| is_token_byte(b) || b == b'/');
            if len >= prefix.len() + 20 {
                return hit(len, CredentialKind::SlackWebhook);
            }
            return None;
        }
    }
    if rest.starts_with(b"sk-") {
        let len = run_len(bytes, i, is_token_byte);
        if len >= 20 && has_digit_and_letter(rest.get(3..len).unwrap_or(&[])) {
            return hit(len, CredentialKind::SkApiKey);
        }
        return None;
    }
    if (rest.starts_with(b"AKIA") || rest.starts_with(b"ASIA")) && rest.len() >= 20 {
        let len = run_len(bytes, i, |b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if len == 20 {
            return hit(len, CredentialKind::AwsAccessKey);
        }
        return None;
    }
    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"] {
        if rest.starts_with(prefix.as_bytes()) {
            let len = run_len(bytes, i, is_token_byte);
            if len >= prefix.len() + 30 {
                return hit(len, CredentialKind::GitHubToken);
            }
            return None;
        }
    }
    if rest.starts_with(b"xox")
        && matches!(
            rest.get(3),
            Some(b'b' | b'p' | b'a' | b'o' | b's' | b'r' | b'e')
        )
        && rest.get(4) == Some(&b'-')
    {
        let len = run_len(bytes, i, is_token_byte);
        if len >= 15 {
            return hit(len, CredentialKind::SlackToken);
        }
        return None;
    }
    if rest.starts_with(b"eyJ") {
        let first = run_len(bytes, i, is_b64url_byte);
        let second_start = i + first;
        if bytes.get(second_start) == Some(&b'.')
            && bytes.get(second_start + 1..)?.starts_with(b"eyJ")
        {
            let second = run_len(bytes, second_start + 1, is_b64url_byte);
            let third_start = second_start + 1 + second;
            if bytes.get(third_start) == Some(&b'.') {
                let third = run_len(bytes, third_start + 1, is_b64url_byte);
                if first >= 10 && second >= 10 && third >= 10 {
                    return hit(first + second + third + 2, CredentialKind::Jwt);
                }
            }
        }
    }
    None
}

fn has_digit_and_letter(s: &[u8]) -> bool {
    s.iter().any(|b| b.is_ascii_digit()) && s.iter().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<CredentialKind> {
        find_credentials(text).into_iter().map(|m| m.kind).collect()
    }

    #[test]
    fn recognises_each_kind() {
        assert_eq!(
            kinds("sk-ant-api03-AbCdEf1234567890xyzXYZ"),
            [CredentialKind::SkApiKey]
        );
        assert_eq!(
            kinds("AKIAIOSFODNN7EXAMPLE"),
            [CredentialKind::AwsAccessKey]
        );
        assert_eq!(
            kinds("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"),
            [CredentialKind::GitHubToken]
        );
        assert_eq!(
            kinds("xoxb-1234567890-abcdefghij"),
            [CredentialKind::SlackToken]
        );
        assert_eq!(
            kinds("-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----"),
            [CredentialKind::PrivateKey]
        );
        assert_eq!(
            kinds(
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
            ),
            [CredentialKind::Jwt]
        );
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "sk-etch",
            "task-1234567890123456789012",
            "AKIA is a prefix",
            "-----BEGIN CERTIFICATE-----",
            "eyJ alone",
            "xoxo hugs",
            "ghp_short",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn never_panics_inside_multibyte_characters() {
        // A continuation byte is not a token byte, so every position inside
        // `é` or `🔑` is a candidate start; none may slice a `&str` there.
        let text = "é🔑 ключ sk-abcdefghij0123456789 ü-----BEGIN x";
        let found = find_credentials(text);
        assert_eq!(found.len(), 1);
        assert_eq!(
            &text[found[0].start..found[0].end],
            "sk-abcdefghij0123456789"
        );
    }

    #[test]
    fn pem_key_inside_json_escaped_text() {
        let text = r#"{"k":"-----BEGIN PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY-----"}"#;
        let found = find_credentials(text);
        assert_eq!(kinds(text), [CredentialKind::PrivateKey]);
        assert!(text[found[0].end..].starts_with('"'));
    }

    #[test]
    fn reports_ranges() {
        let text = "a sk-abcdefghij0123456789 b";
        let m = find_credentials(text)[0];
        assert_eq!(&text[m.start..m.end], "sk-abcdefghij0123456789");
    }
}
