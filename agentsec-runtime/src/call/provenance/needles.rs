//! Needles: the normalised values that identify an argument leaf, and the
//! same projections of a source they are searched in.

/// Which projection of a text a needle is searched in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Space {
    /// Lower-cased, otherwise as written; matched on word boundaries.
    Lower,
    /// Lower-cased letters and digits only, separators dropped
    /// ([`compact`]); matched anywhere.
    Compact,
}

/// One needle.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Needle {
    pub space: Space,
    pub text: String,
}

/// The shortest digit run that counts as a number identifying something
/// (an account, a phone number, an id).
const MIN_DIGITS: usize = 6;

/// Characters dropped by the compact projection (they separate groups of
/// one number: `GB29 NWBK`, `555-1234`, `(555)`, `12.34.56`).
fn is_group_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '-' | '.' | '/' | '(' | ')' | '+' | '\u{a0}')
}

/// The compact projection: lower-cased letters and digits, group
/// separators dropped, anything else a `|` break.
pub(super) fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !is_group_separator(c) && !out.ends_with('|') {
            out.push('|');
        }
    }
    out
}

/// Token delimiters for e-mail addresses, URLs and hosts.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '<' | '>' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '\'' | ',' | ';' | '`'
        )
}

fn trim_punct(token: &str) -> &str {
    token.trim_matches(|c: char| matches!(c, '.' | ':' | '!' | '?' | '*'))
}

/// The host of a URL token (`https://user@Host.com:8080/x` → `host.com`).
fn url_host(token: &str) -> Option<&str> {
    let rest = token.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// Whether `token` looks like a domain name (`evil.example.com`).
fn is_domain(token: &str) -> bool {
    let Some((head, tld)) = token.rsplit_once('.') else {
        return false;
    };
    !head.is_empty()
        && (2..=24).contains(&tld.len())
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && head.chars().any(|c| c.is_ascii_alphabetic())
}

/// Whether a compact text is an IBAN: two letters, two digits, 10 to 30
/// letters or digits.
fn is_iban(compact: &str) -> bool {
    let b = compact.as_bytes();
    (14..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_lowercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b.iter().all(u8::is_ascii_alphanumeric)
}

fn strip_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

/// The needles of a string leaf (already cut to its bound).
pub(super) fn of_str(value: &str) -> Vec<Needle> {
    let lower = value.trim().to_lowercase();
    let mut out: Vec<Needle> = Vec::new();
    let mut push = |space, text: &str| {
        let needle = Needle {
            space,
            text: text.to_owned(),
        };
        if !text.is_empty() && !out.contains(&needle) {
            out.push(needle);
        }
    };
    for raw in lower.split(is_delimiter) {
        let token = trim_punct(raw);
        if token.is_empty() {
            continue;
        }
        if let Some(host) = url_host(token) {
            push(Space::Lower, strip_www(host));
        } else if let Some((local, domain)) = token.rsplit_once('@') {
            let local = local.trim_start_matches("mailto:");
            if !local.is_empty() && domain.contains('.') {
                push(Space::Lower, &format!("{local}@{domain}"));
            }
        } else if is_domain(token) {
            push(Space::Lower, strip_www(token));
        }
    }
    let compacted = compact(&lower);
    if is_iban(&compacted) {
        push(Space::Compact, &compacted);
    }
    for token in lower.split_whitespace() {
        let c = compact(token);
        if is_iban(&c) {
            push(Space::Compact, &c);
        }
    }
    // Long digit runs: accounts, phone numbers, ids, the digits of an IBAN.
    for run in compacted.split(|c: char| !c.is_ascii_digit()) {
        if run.len() >= MIN_DIGITS {
            push(Space::Compact, run);
        }
    }
    if out.is_empty() && !lower.is_empty() {
        out.push(Needle {
            space: Space::Lower,
            text: lower,
        });
    }
    out
}

/// The number a string or JSON number stands for, as the bits of an `f64`
/// (`1,000.00` and `1000` are the same), if it is one.
pub(super) fn number_key(text: &str) -> Option<u64> {
    let cleaned: String = text
        .trim()
        .trim_start_matches(['$', '€', '£'])
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    if cleaned.is_empty() || !cleaned.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: f64 = cleaned.parse().ok()?;
    value.is_finite().then(|| key_of(value))
}

/// The key of a number.
pub(super) fn key_of(value: f64) -> u64 {
    // -0.0 and 0.0 are one amount.
    if value == 0.0 { 0 } else { value.to_bits() }
}

/// Calls `found` with the key of every number written in `lower` (runs of
/// digits with `,` and `.` inside).
pub(super) fn numbers_in(lower: &str, mut found: impl FnMut(u64)) {
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b',' || bytes[i] == b'.')
        {
            i += 1;
        }
        let end = if i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            None // part of a word: `3rd`, `2fa`
        } else {
            Some(i)
        };
        if let Some(end) = end {
            let token = lower[start..end].trim_end_matches([',', '.']);
            if token.len() <= 40
                && let Some(key) = number_key(token)
            {
                found(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(value: &str) -> Vec<String> {
        of_str(value).into_iter().map(|n| n.text).collect()
    }

    #[test]
    fn entities_are_normalised() {
        assert_eq!(texts("Bob <Bob@Example.com>"), ["bob@example.com"]);
        assert_eq!(texts("https://www.Evil.com/x?d=1"), ["evil.com"]);
        let iban = texts("GB29 NWBK 6016 1331 9268 19");
        assert!(iban.contains(&"gb29nwbk60161331926819".to_owned()));
        assert!(iban.contains(&"60161331926819".to_owned()));
        assert_eq!(texts("+1 (555) 123-4567"), ["15551234567"]);
        assert_eq!(texts("  General "), ["general"]);
    }

    #[test]
    fn numbers_match_whatever_their_separators() {
        let mut keys = Vec::new();
        numbers_in("pay 1,100.00 by the 3rd, ref 12.", |k| keys.push(k));
        assert!(keys.contains(&key_of(1100.0)));
        assert!(keys.contains(&key_of(12.0)));
        assert!(!keys.contains(&key_of(3.0)));
        assert_eq!(number_key("$1,100"), Some(key_of(1100.0)));
    }

    #[test]
    fn compact_drops_group_separators_only() {
        assert_eq!(compact("GB29 NWBK-6016"), "gb29nwbk6016");
        assert_eq!(compact("a, b"), "a|b");
    }
}
