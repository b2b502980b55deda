//! Tracing a call's arguments through the run's sources, within bounds.

use std::collections::{HashMap, HashSet};

use aho_corasick::AhoCorasick;
use serde_json::Value;

use super::needles::{self, Needle, Space};
use super::{
    ArgumentProvenance, MAX_LEAVES, MAX_NEEDLES, MAX_SCAN_BYTES, MAX_SOURCE_BYTES, MAX_VALUE_BYTES,
    Origin, Provenance, ProvenanceReport, SourceRef, ValueSources,
};
use crate::tool::ToolSpec;

/// At most this many matches are looked at per source and projection; past
/// it the source counts as not read whole.
const MAX_MATCHES: usize = 1 << 20;
/// At most this many untrusted sources are named per value.
const MAX_NAMED: usize = 8;

/// One argument leaf: its path, whether it is a sink, and what identifies it.
struct Leaf {
    path: String,
    sink: bool,
    needles: Vec<usize>,
    numbers: Vec<u64>,
}

/// Where one needle (or number) was found.
#[derive(Default, Clone)]
struct Found {
    user: bool,
    trusted: Option<SourceRef>,
    untrusted: Vec<SourceRef>,
}

impl Found {
    fn mark(&mut self, origin: &Origin) {
        match origin {
            Origin::User => self.user = true,
            Origin::Trusted(source) => {
                if self.trusted.is_none() {
                    self.trusted = Some(source.clone());
                }
            }
            Origin::Untrusted(source) => {
                if self.untrusted.len() < MAX_NAMED && !self.untrusted.contains(source) {
                    self.untrusted.push(source.clone());
                }
            }
        }
    }

    fn is_found(&self) -> bool {
        self.user || self.trusted.is_some() || !self.untrusted.is_empty()
    }

    fn only_untrusted(&self) -> bool {
        !self.user && self.trusted.is_none() && !self.untrusted.is_empty()
    }
}

/// The largest prefix of `text` of at most `max` bytes ending on a char
/// boundary.
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

struct Collector<'s> {
    spec: &'s ToolSpec,
    leaves: Vec<Leaf>,
    needles: Vec<Needle>,
    index: HashMap<Needle, usize>,
    overflow_sinks: Vec<String>,
    incomplete: bool,
}

impl Collector<'_> {
    fn walk(&mut self, value: &Value, path: String, top: &str) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    let top = if path.is_empty() { key.as_str() } else { top };
                    self.walk(inner, child, top);
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    self.walk(inner, format!("{path}[{i}]"), top);
                }
            }
            Value::String(text) => self.leaf(path, top, Some(text), None),
            Value::Number(number) => {
                let key = number.as_f64().map(needles::key_of);
                self.leaf(path, top, None, key)
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn leaf(&mut self, path: String, top: &str, text: Option<&str>, number: Option<u64>) {
        let sink = self.spec.is_sink(top);
        if text.is_some_and(|t| t.trim().is_empty()) {
            return;
        }
        if self.leaves.len() >= MAX_LEAVES {
            self.incomplete = true;
            if sink {
                self.overflow_sinks.push(path);
            }
            return;
        }
        let mut leaf = Leaf {
            path,
            sink,
            needles: Vec::new(),
            numbers: number.into_iter().collect(),
        };
        if let Some(text) = text {
            let text = prefix(text, MAX_VALUE_BYTES);
            if text.len() < MAX_VALUE_BYTES
                && let Some(key) = needles::number_key(text)
            {
                leaf.numbers.push(key);
            }
            for needle in needles::of_str(text) {
                let next = self.needles.len();
                let id = match self.index.get(&needle) {
                    Some(id) => *id,
                    None if next < MAX_NEEDLES => {
                        self.index.insert(needle.clone(), next);
                        self.needles.push(needle);
                        next
                    }
                    None => {
                        self.incomplete = true;
                        continue;
                    }
                };
                leaf.needles.push(id);
            }
        }
        self.leaves.push(leaf);
    }
}

/// Searches `haystack` for `patterns` (ids in `ids`), marking each found
/// needle; `bounded` requires non-alphanumeric neighbours. Returns whether
/// the match bound was reached.
fn search(
    haystack: &str,
    automaton: &Option<(AhoCorasick, Vec<usize>)>,
    bounded: bool,
    origin: &Origin,
    found: &mut [Found],
) -> bool {
    let Some((automaton, ids)) = automaton else {
        return false;
    };
    let bytes = haystack.as_bytes();
    for (seen, m) in automaton.find_overlapping_iter(haystack).enumerate() {
        if seen >= MAX_MATCHES {
            return true;
        }
        if bounded {
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            if before.is_some_and(|b| b.is_ascii_alphanumeric())
                || after.is_some_and(|b| b.is_ascii_alphanumeric())
            {
                continue;
            }
        }
        if let Some(id) = ids.get(m.pattern().as_usize()) {
            found[*id].mark(origin);
        }
    }
    false
}

fn automaton(needles: &[Needle], space: Space) -> Option<(AhoCorasick, Vec<usize>)> {
    let ids: Vec<usize> = (0..needles.len())
        .filter(|i| needles[*i].space == space)
        .collect();
    if ids.is_empty() {
        return None;
    }
    let patterns = ids.iter().map(|i| needles[*i].text.as_str());
    AhoCorasick::new(patterns).ok().map(|a| (a, ids))
}

pub(super) fn trace(
    sources: &ValueSources<'_>,
    spec: &ToolSpec,
    arguments: &Value,
) -> ProvenanceReport {
    let mut collector = Collector {
        spec,
        leaves: Vec::new(),
        needles: Vec::new(),
        index: HashMap::new(),
        overflow_sinks: Vec::new(),
        incomplete: false,
    };
    collector.walk(arguments, String::new(), "");
    let Collector {
        leaves,
        needles,
        overflow_sinks,
        mut incomplete,
        ..
    } = collector;

    let lower = automaton(&needles, Space::Lower);
    let compact = automaton(&needles, Space::Compact);
    let numbers: HashSet<u64> = leaves
        .iter()
        .flat_map(|l| l.numbers.iter().copied())
        .collect();
    let mut found = vec![Found::default(); needles.len()];
    let mut found_numbers: HashMap<u64, Found> = HashMap::new();
    // Whether an untrusted source was not read whole.
    let mut untrusted_partial = false;
    let mut budget = MAX_SCAN_BYTES;
    for (origin, text) in &sources.sources {
        let limit = MAX_SOURCE_BYTES.min(budget);
        let read = prefix(text, limit);
        budget -= read.len();
        let mut partial = read.len() < text.len();
        if !read.is_empty() && (!needles.is_empty() || !numbers.is_empty()) {
            let low = read.to_lowercase();
            partial |= search(&low, &lower, true, origin, &mut found);
            if !numbers.is_empty() {
                needles::numbers_in(&low, |key| {
                    if numbers.contains(&key) {
                        found_numbers.entry(key).or_default().mark(origin);
                    }
                });
            }
            drop(low);
            if compact.is_some() {
                let projected = needles::compact(read);
                partial |= search(&projected, &compact, false, origin, &mut found);
            }
        }
        if partial {
            incomplete = true;
            if matches!(origin, Origin::Untrusted(_)) {
                untrusted_partial = true;
            }
        }
    }

    let mut arguments: Vec<ArgumentProvenance> = leaves
        .iter()
        .map(|leaf| {
            let texts: Vec<&Found> = leaf.needles.iter().map(|id| &found[*id]).collect();
            let number = leaf.numbers.iter().find_map(|k| found_numbers.get(k));
            ArgumentProvenance {
                argument: leaf.path.clone(),
                sink: leaf.sink,
                provenance: classify(leaf.sink, &texts, number, untrusted_partial),
            }
        })
        .collect();
    for path in overflow_sinks {
        arguments.push(ArgumentProvenance {
            argument: path,
            sink: true,
            provenance: Provenance::Unverified {
                reason: format!("the call has more than {MAX_LEAVES} argument values"),
            },
        });
    }
    ProvenanceReport {
        arguments,
        untrusted_read: sources.untrusted(),
        incomplete,
    }
}

/// The provenance of one leaf from where its text needles and its number
/// were found.
fn classify(
    sink: bool,
    texts: &[&Found],
    number: Option<&Found>,
    untrusted_partial: bool,
) -> Provenance {
    let mut untrusted: Vec<SourceRef> = Vec::new();
    let number_only_untrusted = texts.is_empty() && number.is_some_and(Found::only_untrusted);
    for f in texts
        .iter()
        .copied()
        .filter(|f| f.only_untrusted())
        .chain(number.filter(|_| number_only_untrusted))
    {
        for s in &f.untrusted {
            if !untrusted.contains(s) && untrusted.len() < MAX_NAMED {
                untrusted.push(s.clone());
            }
        }
    }
    if !untrusted.is_empty() {
        return Provenance::Untrusted { sources: untrusted };
    }
    let of = |f: &Found| -> Option<Provenance> {
        if f.user {
            Some(Provenance::User)
        } else {
            f.trusted
                .clone()
                .map(|source| Provenance::TrustedTool { source })
        }
    };
    if !texts.is_empty() && texts.iter().all(|f| f.is_found()) {
        // Every needle came from the user or a trusted tool.
        if let Some(trusted) = texts.iter().find(|f| !f.user).and_then(|f| of(f)) {
            return trusted;
        }
        return Provenance::User;
    }
    if let Some(provenance) = number.and_then(of) {
        return provenance;
    }
    if sink && untrusted_partial {
        return Provenance::Unverified {
            reason: format!(
                "untrusted content was too large to read whole (over {MAX_SOURCE_BYTES} bytes)"
            ),
        };
    }
    Provenance::Model
}
