//! Encoded forms of a secret that are searched for directly (escaping and
//! percent-encoding are handled by decoding the text instead, see `views`).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, CONTROLS, percent_encode};

/// The shortest encoded form worth searching for: shorter runs would match
/// ordinary text.
const MIN_FORM_LEN: usize = 6;

/// The length of the fragments of long secrets that are searched for too,
/// so a secret split across fields (half in one, half in another) is still
/// caught: any piece of at least this many bytes is redacted.
pub(super) const FRAGMENT_LEN: usize = 12;

/// How a pattern relates to the secret it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FormKind {
    /// The secret's own bytes.
    Plain,
    /// The base64 characters determined by the secret alone; the characters
    /// around it carry a few bits of the secret too, so matches are widened.
    Base64,
    /// Hexadecimal (lower or upper case).
    Hex,
    /// Percent-encoded by an encoder that leaves `%` itself alone.
    Percent,
    /// A piece of a long secret ([`FRAGMENT_LEN`] bytes).
    Fragment,
}

/// The WHATWG URL percent-encode sets (C0 control, fragment, query,
/// special-query, path, userinfo): what `url` and browsers write. None of
/// them escapes `%`, so a secret containing `%` written through them cannot
/// be decoded back unambiguously and is searched for as it is written.
const URL_SETS: [&AsciiSet; 6] = {
    const FRAGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
    const QUERY: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>');
    const SPECIAL_QUERY: &AsciiSet = &QUERY.add(b'\'');
    const PATH: &AsciiSet = &QUERY.add(b'?').add(b'`').add(b'{').add(b'}');
    const USERINFO: &AsciiSet = &PATH
        .add(b'/')
        .add(b':')
        .add(b';')
        .add(b'=')
        .add(b'@')
        .add(b'[')
        .add(b'\\')
        .add(b']')
        .add(b'^')
        .add(b'|');
    [CONTROLS, FRAGMENT, QUERY, SPECIAL_QUERY, PATH, USERINFO]
};

/// Every form of `secret` to search for, with its kind.
pub(super) fn forms(secret: &[u8]) -> Vec<(Vec<u8>, FormKind)> {
    let mut out = vec![(secret.to_vec(), FormKind::Plain)];
    out.extend(
        fragments(secret)
            .into_iter()
            .map(|f| (f, FormKind::Fragment)),
    );
    for core in base64_cores(secret) {
        out.push((core, FormKind::Base64));
    }
    if secret.contains(&b'%') {
        for set in URL_SETS {
            let encoded: String = percent_encode(secret, set).collect();
            out.push((encoded.into_bytes(), FormKind::Percent));
        }
    }
    let lower = hex::encode(secret);
    out.push((lower.to_ascii_uppercase().into_bytes(), FormKind::Hex));
    out.push((lower.into_bytes(), FormKind::Hex));
    out.retain(|(form, _)| form.len() >= MIN_FORM_LEN);
    let mut unique: Vec<(Vec<u8>, FormKind)> = Vec::with_capacity(out.len());
    for (form, kind) in out {
        if !unique.iter().any(|(seen, _)| *seen == form) {
            unique.push((form, kind));
        }
    }
    unique
}

/// Every [`FRAGMENT_LEN`]-byte window of a secret at least twice that long,
/// cut on `char` boundaries.
fn fragments(secret: &[u8]) -> Vec<Vec<u8>> {
    let Ok(text) = std::str::from_utf8(secret) else {
        return Vec::new();
    };
    if text.len() < 2 * FRAGMENT_LEN {
        return Vec::new();
    }
    text.char_indices()
        .map(|(start, _)| start)
        .filter(|start| {
            text.is_char_boundary(start + FRAGMENT_LEN) && start + FRAGMENT_LEN <= text.len()
        })
        .map(|start| secret[start..start + FRAGMENT_LEN].to_vec())
        .collect()
}

/// The base64 text of `secret` as it appears inside a longer base64 string,
/// for each of the three alignments and both alphabets.
///
/// Base64 turns 3 bytes into 4 characters, so the characters for the secret
/// depend on where the secret starts inside the encoded data (for example
/// `user:password` in HTTP Basic authentication). With `k` bytes before the
/// secret, character `i` covers bits `6i..6i+6` of the data, and it depends
/// on the secret alone when `8k <= 6i` and `6i + 6 <= 8(k + n)`.
pub(super) fn base64_cores(secret: &[u8]) -> Vec<Vec<u8>> {
    let n = secret.len();
    let mut cores = Vec::new();
    for k in 0..3usize {
        let start = (8 * k).div_ceil(6);
        let end = 8 * (k + n) / 6;
        let mut data = vec![0u8; k];
        data.extend_from_slice(secret);
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&data);
            if let Some(core) = encoded.as_bytes().get(start..end) {
                cores.push(core.to_vec());
            }
        }
        // `data` holds the secret: wipe it.
        secrecy::zeroize::Zeroize::zeroize(&mut data);
    }
    cores
}

/// Whether `b` can be part of base64 text (either alphabet).
pub(super) fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn cores_appear_at_every_offset() {
        let secret = b"p@ss\"word\\1";
        let cores = base64_cores(secret);
        for prefix in ["", "a", "ab", "abc", "user:", "x:"] {
            let mut data = prefix.as_bytes().to_vec();
            data.extend_from_slice(secret);
            data.extend_from_slice(b"tail");
            let encoded = STANDARD.encode(&data);
            assert!(
                cores
                    .iter()
                    .any(|c| encoded.as_bytes().windows(c.len()).any(|w| w == c)),
                "prefix {prefix:?}: {encoded}"
            );
        }
    }
}
