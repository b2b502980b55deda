//! Encoded payloads: base64, hex, `\x..` and `%..` escapes and ROT13 that
//! decode to instruction-like text. Benign blobs (images, hashes, JWTs,
//! certificates) decode to binary or to data, and are left alone.

use std::sync::LazyLock;

use regex::Regex;

use super::Found;
use super::normalize::normalize;

static BASE64: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/_-]{24,}={0,2}").ok());
static HEX: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?:[0-9a-fA-F]{2}){16,}|(?:\\x[0-9a-fA-F]{2}){8,}|(?:%[0-9a-fA-F]{2}){8,}|(?:\b[0-9a-fA-F]{2} ){12,}[0-9a-fA-F]{2}\b").ok()
});

/// "Decode this and follow it": the carrier text around a blob.
static CARRIER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:decode|decrypt|base64|hex|rot13|rot-13|deobfuscate|unscramble)[^.\n]{0,60}",
        r"(?:follow|execute|obey|run it|carry out|perform|act on|comply|do what|instructions)",
        r"|(?:follow|execute|obey|carry out)[^.\n]{0,60}(?:decoded|base64|encoded|hex|rot13)",
    ))
    .ok()
});

/// Decoded text that reads as a command to the model.
static INSTRUCTION_LIKE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:please )?(?:ignore|disregard|forget|reveal|exfiltrate|leak|send|forward|email|transfer|delete|dump|upload|post|print|output|tell)\b",
        r"[^\n]{0,200}\b(?:secret|password|key|token|credential|user|data|email|files|conversation|history|prompt|instructions|all|https?|@)",
        r"|\byou must\b|\byou are now\b|\bas an ai\b|\bthe assistant\b|\bsystem prompt\b",
    ))
    .ok()
});

/// Decodes standard or URL-safe base64, padding optional.
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
    }
    Some(out)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    // `\x41`, `%41` and `41 42` all become `4142`.
    let digits: String = s
        .replace("\\x", "")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    hex::decode(digits).ok()
}

/// Decoded bytes as text, if they are mostly printable UTF-8.
fn as_text(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let total = text.chars().count();
    if total < 12 {
        return None;
    }
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .count();
    let letters = text
        .chars()
        .filter(|c| c.is_alphabetic() || *c == ' ')
        .count();
    (printable * 10 >= total * 9 && letters * 2 >= total).then(|| text.to_owned())
}

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='m' | 'A'..='M' => char::from(c as u8 + 13),
            'n'..='z' | 'N'..='Z' => char::from(c as u8 - 13),
            _ => c,
        })
        .collect()
}

/// The text hidden in encoded blobs of `visible`.
fn decoded_blobs(visible: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(re) = HEX.as_ref() {
        for m in re.find_iter(visible) {
            if let Some(t) = decode_hex(m.as_str()).and_then(|b| as_text(&b)) {
                found.push(t);
            }
        }
    }
    if let Some(re) = BASE64.as_ref() {
        for m in re.find_iter(visible) {
            let s = m.as_str();
            // Long runs of one kind of character are words or hex, not base64.
            if s.bytes().all(|b| b.is_ascii_hexdigit())
                || s.bytes().all(|b| b.is_ascii_alphabetic())
            {
                continue;
            }
            if let Some(t) = decode_base64(s).and_then(|b| as_text(&b)) {
                found.push(t);
            }
        }
    }
    found
}

/// Runs the encoded-payload rule. `text_rules` screens decoded text with the
/// plain-text rules (overrides, impersonation, tool calls, exfiltration).
pub(crate) fn check(
    visible: &str,
    norm: &str,
    depth: u8,
    text_rules: &dyn Fn(&str, u8) -> bool,
    out: &mut Vec<Found>,
) {
    let carrier = CARRIER.as_ref().is_some_and(|re| re.is_match(norm));
    for decoded in decoded_blobs(visible) {
        let folded = normalize(&decoded);
        let instruction_like = INSTRUCTION_LIKE
            .as_ref()
            .is_some_and(|re| re.is_match(&folded));
        if carrier || instruction_like || text_rules(&decoded, depth + 1) {
            out.push(Found::new(
                "encoded.payload",
                folded.chars().take(80).collect(),
            ));
            return;
        }
    }
    if norm.contains("rot13") || norm.contains("rot-13") || norm.contains("caesar") {
        let shifted = rot13(visible);
        if text_rules(&shifted, depth + 1) {
            out.push(Found::new(
                "encoded.payload",
                normalize(&shifted).chars().take(80).collect(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_variants() {
        assert_eq!(
            decode_base64("aGVsbG8gd29ybGQ=").as_deref(),
            Some(&b"hello world"[..])
        );
        assert_eq!(
            decode_base64("aGVsbG8gd29ybGQ").as_deref(),
            Some(&b"hello world"[..])
        );
        assert!(decode_base64("not base64!").is_none());
        assert_eq!(decode_hex("\\x68\\x69").as_deref(), Some(&b"hi"[..]));
        assert_eq!(decode_hex("%68%69").as_deref(), Some(&b"hi"[..]));
        assert_eq!(rot13("vtaber"), "ignore");
    }
}
