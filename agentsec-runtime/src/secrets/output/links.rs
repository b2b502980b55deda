//! Finding links in model output: Markdown images and links (inline and
//! reference definitions) and bare `http(s)://` URLs.
//!
//! This is deliberately a scanner, not a Markdown parser: it must find every
//! URL a renderer might fetch or show, and it must never panic or go
//! quadratic on hostile input (backward scans are bounded).

use std::ops::Range;

/// What kind of link a URL was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// A Markdown image `![alt](url)`: fetched by the renderer without a
    /// click, the classic zero-click exfiltration channel.
    Image,
    /// A Markdown link `[text](url)` or reference definition `[id]: url`.
    Link,
    /// A URL in plain text (many renderers turn it into a link).
    Bare,
}

/// One link: the span to remove and where its URL is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FoundLink {
    pub(super) kind: LinkKind,
    /// The whole construct (`![alt](url "title")`).
    pub(super) span: Range<usize>,
    /// The URL inside it.
    pub(super) url: Range<usize>,
}

/// How far back to look for the `[` that opens a link's text.
const MAX_LINK_TEXT: usize = 2048;

/// How far forward to read a link destination. Longer `http(s)` URLs are
/// still found by the bare-URL scan; the bound keeps hostile input linear.
const MAX_DESTINATION: usize = 2048;

pub(super) fn find_links(text: &str) -> Vec<FoundLink> {
    let mut links = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(offset) = text.get(from..).and_then(|rest| rest.find("](")) {
        let close = from + offset;
        from = close + 2;
        if let Some(link) = inline_link(bytes, close) {
            links.push(link);
        }
    }
    links.extend(reference_definitions(text));
    let covered: Vec<Range<usize>> = links.iter().map(|l| l.url.clone()).collect();
    links.extend(bare_urls(text).into_iter().filter(|bare| {
        !covered
            .iter()
            .any(|c| c.start <= bare.url.start && bare.url.start < c.end)
    }));
    links.sort_by_key(|l| l.span.start);
    links
}

/// An inline link whose text ends with the `]` at `close` (followed by `(`).
fn inline_link(bytes: &[u8], close: usize) -> Option<FoundLink> {
    let (url, end) = destination(bytes, close + 2)?;
    let end = skip_spaces(bytes, end);
    if bytes.get(end) != Some(&b')') {
        return None;
    }
    let end = end + 1;
    let (kind, start) = match opening_bracket(bytes, close) {
        Some(open) if open > 0 && bytes.get(open - 1) == Some(&b'!') => (LinkKind::Image, open - 1),
        Some(open) => (LinkKind::Link, open),
        // No `[` found: remove from the `]` on, which still takes the URL.
        None => (LinkKind::Link, close),
    };
    Some(FoundLink {
        kind,
        span: start..end,
        url,
    })
}

/// The `[` matching the `]` at `close`, looking back at most
/// [`MAX_LINK_TEXT`] bytes.
fn opening_bracket(bytes: &[u8], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    let lower = close.saturating_sub(MAX_LINK_TEXT);
    let mut i = close;
    while i > lower {
        i -= 1;
        match bytes.get(i) {
            Some(b']') if !escaped(bytes, i) => depth += 1,
            Some(b'[') if !escaped(bytes, i) => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    None
}

fn escaped(bytes: &[u8], i: usize) -> bool {
    i > 0 && bytes.get(i - 1) == Some(&b'\\')
}

/// A link destination starting at `at` (after optional spaces): `<...>` or
/// a run without spaces and with balanced parentheses, then an optional
/// title. Returns the URL's range and the position after the URL or title.
fn destination(bytes: &[u8], at: usize) -> Option<(Range<usize>, usize)> {
    let mut i = skip_spaces(bytes, at);
    let url = if bytes.get(i) == Some(&b'<') {
        let start = i + 1;
        let len = bytes
            .get(start..)?
            .iter()
            .take(MAX_DESTINATION)
            .position(|b| matches!(b, b'>' | b'\n'))?;
        if bytes.get(start + len) != Some(&b'>') {
            return None;
        }
        i = start + len + 1;
        start..start + len
    } else {
        let start = i;
        let mut depth = 0usize;
        while let Some(&b) = bytes.get(i).filter(|_| i - start < MAX_DESTINATION) {
            match b {
                b'(' => depth += 1,
                b')' if depth == 0 => break,
                b')' => depth -= 1,
                b if b.is_ascii_whitespace() || b.is_ascii_control() => break,
                _ => {}
            }
            i += 1;
        }
        start..i
    };
    let before_title = skip_spaces(bytes, i);
    if let Some(&quote) = bytes
        .get(before_title)
        .filter(|b| before_title > i && matches!(b, b'"' | b'\'' | b'('))
    {
        let closing = if quote == b'(' { b')' } else { quote };
        let len = bytes
            .get(before_title + 1..)?
            .iter()
            .take(MAX_DESTINATION)
            .position(|b| *b == closing)?;
        i = before_title + 1 + len + 1;
    }
    Some((url, i))
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// `[id]: url` lines (reference-style links and images take their URL from
/// these).
fn reference_definitions(text: &str) -> Vec<FoundLink> {
    let mut found = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        if indent <= 3
            && trimmed.starts_with('[')
            && let Some(colon) = trimmed.find("]:")
        {
            let after = line_start + indent + colon + 2;
            if let Some((url, end)) = destination(text.as_bytes(), after)
                && !url.is_empty()
            {
                found.push(FoundLink {
                    kind: LinkKind::Link,
                    span: line_start + indent..end.max(url.end),
                    url,
                });
            }
        }
        line_start += line.len();
    }
    found
}

/// `http://` and `https://` URLs in running text (scheme matched in any case).
fn bare_urls(text: &str) -> Vec<FoundLink> {
    let bytes = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = lower.get(from..).and_then(|rest| rest.find("http")) {
        let start = from + offset;
        from = start + 4;
        let rest = lower.get(start..).unwrap_or_default();
        let scheme_len = if rest.starts_with("https://") {
            8
        } else if rest.starts_with("http://") {
            7
        } else {
            continue;
        };
        if start > 0
            && bytes
                .get(start - 1)
                .is_some_and(|b| b.is_ascii_alphanumeric())
        {
            continue;
        }
        let mut end = start + scheme_len;
        while bytes.get(end).is_some_and(|b| {
            !(b.is_ascii_whitespace()
                || b.is_ascii_control()
                || matches!(b, b'<' | b'>' | b'"' | b'`'))
        }) {
            end += 1;
        }
        end = trim_trailing(bytes, start + scheme_len, end);
        if end > start + scheme_len {
            found.push(FoundLink {
                kind: LinkKind::Bare,
                span: start..end,
                url: start..end,
            });
        }
        from = from.max(end);
    }
    found
}

/// Drops trailing punctuation that ends a sentence rather than the URL, and
/// a closing parenthesis that has no opening one in the URL.
fn trim_trailing(bytes: &[u8], min: usize, mut end: usize) -> usize {
    loop {
        let Some(&last) = bytes.get(end.wrapping_sub(1)).filter(|_| end > min) else {
            return end;
        };
        let unbalanced_paren = last == b')' && {
            let url = bytes.get(min..end).unwrap_or_default();
            url.iter().filter(|b| **b == b')').count() > url.iter().filter(|b| **b == b'(').count()
        };
        if matches!(
            last,
            b'.' | b',' | b':' | b';' | b'!' | b'?' | b'*' | b'_' | b'~' | b'\'' | b']'
        ) || unbalanced_paren
        {
            end -= 1;
        } else {
            return end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<(LinkKind, &str, &str)> {
        find_links(text)
            .into_iter()
            .map(|l| (l.kind, &text[l.span], &text[l.url]))
            .collect()
    }

    #[test]
    fn finds_each_kind() {
        let text = "see ![a [b]](https://x.io/p?q=1 \"t\") and [c](<https://y.io/a b>) or https://z.io/x?y=2.\n[r]: https://w.io/?d=3\n";
        assert_eq!(
            urls(text),
            [
                (
                    LinkKind::Image,
                    "![a [b]](https://x.io/p?q=1 \"t\")",
                    "https://x.io/p?q=1"
                ),
                (
                    LinkKind::Link,
                    "[c](<https://y.io/a b>)",
                    "https://y.io/a b"
                ),
                (LinkKind::Bare, "https://z.io/x?y=2", "https://z.io/x?y=2"),
                (
                    LinkKind::Link,
                    "[r]: https://w.io/?d=3",
                    "https://w.io/?d=3"
                ),
            ]
        );
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for text in [
            "](",
            "![](",
            "[](<",
            "é](ü",
            "https://",
            "http://é)",
            "[x]: <",
            "](\"",
            "((((]((((",
        ] {
            let _ = find_links(text);
        }
        let _ = find_links(&"[](".repeat(10_000));
    }
}
