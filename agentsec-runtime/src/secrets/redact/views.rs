//! Decoded views of a text: the text with one layer of string escaping
//! (JSON, and Rust's `Debug`) or percent-encoding undone, plus, for every decoded byte, the range of the
//! original text it came from. Searching a view for the plain secret finds
//! the secret however the encoder chose to escape it (`\"`, `\u00e9`, `\/`,
//! `%2f`, `%2F`, `+`), and the map says which original bytes to replace.

use std::ops::Range;

/// A decoded text and where each of its bytes came from in the original.
pub(super) struct View {
    pub(super) bytes: Vec<u8>,
    /// `map[i]` is the original range byte `i` was decoded from.
    map: Vec<(usize, usize)>,
}

impl View {
    /// The original range that the view's bytes `range` were decoded from.
    pub(super) fn original(&self, range: Range<usize>) -> Option<Range<usize>> {
        let first = self.map.get(range.start)?;
        let last = self.map.get(range.end.checked_sub(1)?)?;
        Some(first.0..last.1)
    }
}

/// Source bytes and how to map their positions to the original text.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    /// The original text itself.
    Original(&'a [u8]),
    /// An earlier view.
    View(&'a View),
}

impl Source<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Source::Original(bytes) => bytes,
            Source::View(view) => &view.bytes,
        }
    }

    /// The original range covered by source bytes `start..end`.
    fn original(&self, start: usize, end: usize) -> (usize, usize) {
        match self {
            Source::Original(_) => (start, end),
            Source::View(view) => view
                .original(start..end)
                .map(|r| (r.start, r.end))
                .unwrap_or((start, end)),
        }
    }
}

struct Builder<'a> {
    source: Source<'a>,
    view: View,
}

impl<'a> Builder<'a> {
    fn new(source: Source<'a>) -> Self {
        let len = source.bytes().len();
        Self {
            source,
            view: View {
                bytes: Vec::with_capacity(len),
                map: Vec::with_capacity(len),
            },
        }
    }

    fn push(&mut self, byte: u8, start: usize, end: usize) {
        let range = self.source.original(start, end);
        self.view.bytes.push(byte);
        self.view.map.push(range);
    }
}

fn hex_value(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    digits
        .iter()
        .try_fold(0u32, |acc, b| Some(acc * 16 + hex_value(*b)?))
}

/// Undoes one layer of JSON string escaping everywhere in the source, and
/// the escapes Rust's `Debug` adds (`\'`, `\0`, `\u{..}`).
/// `None` when the source has no backslash (the view would be the source).
pub(super) fn unescaped(source: Source<'_>) -> Option<View> {
    let bytes = source.bytes();
    if !bytes.contains(&b'\\') {
        return None;
    }
    let mut out = Builder::new(source);
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            out.push(b, i, i + 1);
            i += 1;
            continue;
        }
        let simple = match bytes.get(i + 1) {
            Some(b'"') => Some(b'"'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            // Rust's `Debug` for strings (what `tracing` prints) adds these.
            Some(b'\'') => Some(b'\''),
            Some(b'0') => Some(0),
            Some(b'b') => Some(0x08),
            Some(b'f') => Some(0x0c),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            _ => None,
        };
        if let Some(decoded) = simple {
            out.push(decoded, i, i + 2);
            i += 2;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'u')
            && let Some(unit) = hex4(bytes, i + 2)
        {
            let (c, len) = decode_utf16_escape(bytes, i, unit);
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push(byte, i, i + len);
            }
            i += len;
            continue;
        }
        if let Some((c, len)) = rust_unicode_escape(bytes, i) {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push(byte, i, i + len);
            }
            i += len;
            continue;
        }
        // Not an escape: keep the backslash as it is.
        out.push(b, i, i + 1);
        i += 1;
    }
    Some(out.view)
}

/// The character a `\uXXXX` escape at `i` stands for (joining a surrogate
/// pair `\uD83D\uDD11`), and how many bytes the escape spans.
fn decode_utf16_escape(bytes: &[u8], i: usize, unit: u32) -> (char, usize) {
    if (0xD800..0xDC00).contains(&unit)
        && bytes.get(i + 6) == Some(&b'\\')
        && bytes.get(i + 7) == Some(&b'u')
        && let Some(low) = hex4(bytes, i + 8).filter(|low| (0xDC00..0xE000).contains(low))
    {
        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
        return (
            char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER),
            12,
        );
    }
    (
        char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER),
        6,
    )
}

/// A Rust `\u{1F511}` escape at `i`: the character and the escape's length.
fn rust_unicode_escape(bytes: &[u8], i: usize) -> Option<(char, usize)> {
    if bytes.get(i + 1..i + 3)? != b"u{" {
        return None;
    }
    let digits = bytes
        .get(i + 3..)?
        .iter()
        .take(7)
        .position(|b| *b == b'}')?;
    if digits == 0 || digits > 6 {
        return None;
    }
    let hex = bytes.get(i + 3..i + 3 + digits)?;
    let code = hex
        .iter()
        .try_fold(0u32, |acc, b| Some(acc * 16 + hex_value(*b)?))?;
    Some((char::from_u32(code)?, digits + 4))
}

/// Undoes percent-encoding (`%41` and `%4a`/`%4A`) everywhere in the source;
/// with `plus_is_space`, `+` also decodes to a space (form encoding).
/// `None` when there is nothing to decode.
pub(super) fn percent_decoded(source: Source<'_>, plus_is_space: bool) -> Option<View> {
    let bytes = source.bytes();
    let has_escape = bytes.contains(&b'%');
    let has_plus = plus_is_space && bytes.contains(&b'+');
    if !has_escape && !has_plus {
        return None;
    }
    let mut out = Builder::new(source);
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let high = bytes.get(i + 1).copied().and_then(hex_value);
            let low = bytes.get(i + 2).copied().and_then(hex_value);
            if let (Some(high), Some(low)) = (high, low) {
                // Two hex digits are at most 0xff.
                out.push((high * 16 + low) as u8, i, i + 3);
                i += 3;
                continue;
            }
        }
        let decoded = if plus_is_space && b == b'+' { b' ' } else { b };
        out.push(decoded, i, i + 1);
        i += 1;
    }
    Some(out.view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_view_maps_back_to_escapes() {
        let text = br#"a\"b\u00e9\ud83d\udd11c"#;
        let view = unescaped(Source::Original(text)).unwrap();
        assert_eq!(view.bytes, "a\"bé🔑c".as_bytes());
        // `é` (2 bytes) came from `\u00e9` at 4..10.
        assert_eq!(view.original(3..5), Some(4..10));
        // The key emoji came from the surrogate pair 10..22.
        assert_eq!(view.original(5..9), Some(10..22));
    }

    #[test]
    fn rust_debug_escapes() {
        let text = format!("{:?}", "a'\0\u{7f}🔑\"");
        let view = unescaped(Source::Original(text.as_bytes())).unwrap();
        assert_eq!(view.bytes, "\"a'\0\u{7f}🔑\"\"".as_bytes());
    }

    #[test]
    fn percent_view_and_composition() {
        let text = b"x%2522y";
        let once = percent_decoded(Source::Original(text), false).unwrap();
        assert_eq!(once.bytes, b"x%22y");
        let twice = percent_decoded(Source::View(&once), false).unwrap();
        assert_eq!(twice.bytes, b"x\"y");
        assert_eq!(twice.original(1..2), Some(1..6));
    }

    #[test]
    fn malformed_escapes_are_kept() {
        let view = unescaped(Source::Original(br"\u12 \q \")).unwrap();
        assert_eq!(view.bytes, br"\u12 \q \");
        let view = percent_decoded(Source::Original(b"%zz%4"), true);
        assert_eq!(view.unwrap().bytes, b"%zz%4");
    }
}
