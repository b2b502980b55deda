//! The compiled search: all forms of all secrets in one automaton, run over
//! the text and over its decoded views.

use std::ops::Range;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::forms::{FormKind, forms, is_base64_byte};
use super::views::{Source, View, percent_decoded, unescaped};
use super::{Redaction, RedactionLabel};
use crate::secrets::patterns::find_credentials_in_bytes;

/// The search for every registered secret, rebuilt when one is added.
#[derive(Default)]
pub(super) struct Matcher {
    /// `None` when no secret is registered, or if the automaton could not
    /// be built (an enormous pattern set): the slower search over
    /// `patterns` is used then, because a secret must never go unredacted.
    automaton: Option<AhoCorasick>,
    patterns: Vec<Vec<u8>>,
    /// Per pattern id: the secret's name index and the form.
    info: Vec<(usize, FormKind)>,
}

impl Drop for Matcher {
    fn drop(&mut self) {
        for pattern in &mut self.patterns {
            secrecy::zeroize::Zeroize::zeroize(pattern);
        }
    }
}

impl Matcher {
    /// Compiles every form of every `(value, name index)`.
    pub(super) fn build(values: &[(Vec<u8>, usize)]) -> Self {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut info = Vec::new();
        for (value, name) in values {
            for (mut form, kind) in forms(value) {
                if patterns.contains(&form) {
                    secrecy::zeroize::Zeroize::zeroize(&mut form);
                } else {
                    patterns.push(form);
                    info.push((*name, kind));
                }
            }
        }
        // A contiguous NFA builds much faster than a DFA and still searches
        // in linear time; the automaton is rebuilt on every registration.
        let automaton = match AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(&patterns)
        {
            Ok(automaton) => Some(automaton),
            Err(error) => {
                tracing::warn!(%error, "redaction automaton could not be built; using a slower search");
                None
            }
        };
        Self {
            automaton,
            patterns,
            info,
        }
    }

    /// Every `(pattern id, range)` in `bytes`, overlapping ones included.
    fn pattern_hits(&self, bytes: &[u8]) -> Vec<(usize, Range<usize>)> {
        if let Some(automaton) = &self.automaton {
            // Overlapping search cannot fail with `MatchKind::Standard`;
            // should it, the naive search below still runs.
            if let Ok(iter) = automaton.try_find_overlapping_iter(bytes) {
                return iter.map(|m| (m.pattern().as_usize(), m.range())).collect();
            }
        }
        naive_hits(&self.patterns, bytes)
    }

    /// The spans of `text` to redact, sorted, on `char` boundaries and not
    /// overlapping.
    pub(super) fn find(&self, text: &str, names: &[Arc<str>]) -> Vec<Redaction> {
        let raw = text.as_bytes();
        let mut hits = Vec::new();
        self.scan(raw, Source::Original(raw), names, &mut hits);

        if let Some(json) = unescaped(Source::Original(raw)) {
            self.scan_view(raw, &json, names, &mut hits);
            if let Some(json_twice) = unescaped(Source::View(&json)) {
                self.scan_view(raw, &json_twice, names, &mut hits);
            }
        }
        if let Some(percent) = percent_decoded(Source::Original(raw), false) {
            self.scan_view(raw, &percent, names, &mut hits);
            if let Some(then_json) = unescaped(Source::View(&percent)) {
                self.scan_view(raw, &then_json, names, &mut hits);
            }
        }
        if raw.contains(&b'+')
            && let Some(form) = percent_decoded(Source::Original(raw), true)
        {
            self.scan_view(raw, &form, names, &mut hits);
        }
        merge(text, hits)
    }

    fn scan_view(&self, raw: &[u8], view: &View, names: &[Arc<str>], hits: &mut Vec<Redaction>) {
        self.scan(raw, Source::View(view), names, hits);
    }

    fn scan(&self, raw: &[u8], source: Source<'_>, names: &[Arc<str>], hits: &mut Vec<Redaction>) {
        let (bytes, view) = match source {
            Source::Original(bytes) => (bytes, None),
            Source::View(view) => (view.bytes.as_slice(), Some(view)),
        };
        let to_original = |range: Range<usize>| match view {
            None => Some(range),
            Some(view) => view.original(range),
        };
        for (id, range) in self.pattern_hits(bytes) {
            let Some(&(name, kind)) = self.info.get(id) else {
                continue;
            };
            let Some(name) = names.get(name) else {
                continue;
            };
            let Some(mut range) = to_original(range) else {
                continue;
            };
            if kind == FormKind::Base64 {
                range = widen_base64(raw, range);
            }
            hits.push(Redaction {
                range,
                label: RedactionLabel::Secret(name.clone()),
            });
        }
        for found in find_credentials_in_bytes(bytes) {
            if let Some(range) = to_original(found.start..found.end) {
                hits.push(Redaction {
                    range,
                    label: RedactionLabel::Credential(found.kind),
                });
            }
        }
    }
}

fn naive_hits(patterns: &[Vec<u8>], bytes: &[u8]) -> Vec<(usize, Range<usize>)> {
    let mut hits = Vec::new();
    for (id, pattern) in patterns.iter().enumerate() {
        if pattern.is_empty() {
            continue;
        }
        for (start, window) in bytes.windows(pattern.len()).enumerate() {
            if window == pattern.as_slice() {
                hits.push((id, start..start + pattern.len()));
            }
        }
    }
    hits
}

/// Base64 characters next to the secret's own characters carry a few of its
/// bits: take one more character on each side, and the padding.
fn widen_base64(raw: &[u8], range: Range<usize>) -> Range<usize> {
    let mut start = range.start;
    let mut end = range.end;
    if start > 0 && raw.get(start - 1).is_some_and(|b| is_base64_byte(*b)) {
        start -= 1;
    }
    if raw.get(end).is_some_and(|b| is_base64_byte(*b)) {
        end += 1;
    }
    let mut padding = 0;
    while padding < 2 && raw.get(end) == Some(&b'=') {
        end += 1;
        padding += 1;
    }
    start..end
}

/// Sorts the spans, moves them onto `char` boundaries and joins overlapping
/// ones (the earliest span's label wins).
fn merge(text: &str, mut hits: Vec<Redaction>) -> Vec<Redaction> {
    for hit in &mut hits {
        let mut start = hit.range.start.min(text.len());
        let mut end = hit.range.end.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        hit.range = start..end;
    }
    hits.retain(|hit| !hit.range.is_empty());
    hits.sort_by(|a, b| {
        a.range
            .start
            .cmp(&b.range.start)
            .then(b.range.end.cmp(&a.range.end))
            .then_with(|| secret_first(&a.label).cmp(&secret_first(&b.label)))
    });
    let mut merged: Vec<Redaction> = Vec::with_capacity(hits.len());
    for hit in hits {
        match merged.last_mut() {
            Some(last) if hit.range.start < last.range.end => {
                last.range.end = last.range.end.max(hit.range.end);
            }
            _ => merged.push(hit),
        }
    }
    merged
}

/// Sort key preferring a named secret's label over a credential's.
fn secret_first(label: &RedactionLabel) -> u8 {
    match label {
        RedactionLabel::Secret(_) => 0,
        RedactionLabel::Credential(_) => 1,
    }
}
