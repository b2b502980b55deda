//! Instruction overrides: "ignore all previous instructions" and its
//! relatives, in English, French, German, Spanish, Italian and Portuguese.
//!
//! Matching is on words of the normalised text, not on fixed phrases: an
//! override is a *dismissal verb* followed, within a few words, by an
//! *instruction noun* that is qualified as the model's own ("your", "all",
//! "previous", "above", "system" ...). Customers who write "please ignore my
//! previous instructions" dismiss their *own* words, and descriptions such
//! as "attackers trick the model into ignoring..." are not imperatives; both
//! are left alone.

use std::sync::LazyLock;

use regex::Regex;

use super::Found;
use super::lexicon::{
    AI_NOUNS, ANCHORS, DESCRIPTIVE_TO, EVERYTHING, FIRST_PERSON, FOLLOWUPS, NEGATED_VERBS,
    NEGATIONS, NOUNS, QUALIFIERS, REPORTING, VERBS,
};
use super::text::{Input, Token, excerpt, is_mention};

/// German compounds end with the noun: `Systemanweisungen`, `Sicherheitsregeln`.
const NOUN_SUFFIXES: &[&str] = &[
    "anweisungen",
    "anweisung",
    "regeln",
    "vorgaben",
    "richtlinien",
    "instruktionen",
];

fn is_noun(w: &str) -> bool {
    NOUNS.has(w)
        || NOUN_SUFFIXES
            .iter()
            .any(|s| w.len() > s.len() + 2 && w.ends_with(s))
}

/// The words of the clause around `i` (stops at boundaries).
fn words_before<'a>(tokens: &'a [Token<'a>], i: usize, n: usize) -> impl Iterator<Item = &'a str> {
    tokens[..i]
        .iter()
        .rev()
        .take_while(|t| !t.is_boundary())
        .take(n)
        .map(|t| t.word)
}

pub(crate) fn check(input: &Input, tokens: &[Token<'_>], out: &mut Vec<Found>) {
    let text = &input.norm.text;
    let mut found_at: Option<(usize, usize)> = None;
    for (i, tok) in tokens.iter().enumerate() {
        if tok.is_boundary() {
            continue;
        }
        let w = tok.word;
        let span = if VERBS.has(w) && !negated(tokens, i) && !descriptive(tokens, i) {
            dismissal(tokens, i)
        } else if NEGATED_VERBS.has(w) && negated(tokens, i) && !descriptive(tokens, i) {
            noun_phrase(tokens, i)
        } else {
            None
        };
        if let Some((s, e)) = span
            && !is_mention(input, s, e)
        {
            found_at = Some((s, e));
            break;
        }
    }
    if let Some((s, _)) = found_at {
        out.push(Found::new("override.instructions", excerpt(text, s, 80)));
    }
    new_instructions(input, out);
    if found_at.is_none() {
        obfuscated(input, out);
    }
}

fn negated(tokens: &[Token<'_>], i: usize) -> bool {
    words_before(tokens, i, 3).any(|w| NEGATIONS.has(w))
}

fn descriptive(tokens: &[Token<'_>], i: usize) -> bool {
    let before: Vec<&str> = words_before(tokens, i, 6).collect();
    if before.first() == Some(&"to") && before.get(1).is_some_and(|w| DESCRIPTIVE_TO.has(w)) {
        return true;
    }
    // "tells the model to ignore", "tricks the assistant into ignoring".
    let reporting = before.iter().position(|w| REPORTING.has(w));
    let ai = before.iter().position(|w| AI_NOUNS.has(w));
    matches!((reporting, ai), (Some(r), Some(a)) if a < r)
}

/// The span of "verb ... [qualified] noun" starting at verb `i`.
fn noun_phrase(tokens: &[Token<'_>], i: usize) -> Option<(usize, usize)> {
    let start = tokens.get(i)?.start;
    let mut qualified = false;
    for j in i + 1..(i + 9).min(tokens.len()) {
        let t = tokens.get(j)?;
        if t.is_boundary() {
            return None;
        }
        if FIRST_PERSON.has(t.word) {
            return None;
        }
        if is_noun(t.word) {
            let post = tokens
                .get(j + 1..(j + 3).min(tokens.len()))
                .unwrap_or(&[])
                .iter()
                .take_while(|t| !t.is_boundary())
                .any(|t| QUALIFIERS.has(t.word));
            // "the instructions you were given", "the rules you received".
            let given = tokens.get(j + 1).is_some_and(|t| t.word == "you")
                && tokens
                    .get(j + 2)
                    .is_some_and(|t| matches!(t.word, "were" | "received" | "got" | "have"));
            let post = post || given;
            if (qualified || post) && !tokens.get(j + 1).is_some_and(|n| FIRST_PERSON.has(n.word)) {
                return Some((start, t.end));
            }
            return None;
        }
        if QUALIFIERS.has(t.word) {
            qualified = true;
        }
    }
    None
}

/// A dismissal at verb `i`: a qualified noun, "everything above", or "the
/// above" followed by a new instruction.
fn dismissal(tokens: &[Token<'_>], i: usize) -> Option<(usize, usize)> {
    if let Some(span) = noun_phrase(tokens, i) {
        return Some(span);
    }
    let start = tokens.get(i)?.start;
    let clause: Vec<&Token<'_>> = tokens
        .get(i + 1..)?
        .iter()
        .take_while(|t| !t.is_boundary())
        .take(8)
        .collect();
    // "forget everything you were told", "oublie tout ce qui precede".
    if clause.iter().take(2).any(|t| EVERYTHING.has(t.word)) {
        for t in clause.iter().skip(1).take(6) {
            if FIRST_PERSON.has(t.word) {
                return None;
            }
            if ANCHORS.has(t.word) {
                return Some((start, t.end));
            }
        }
    }
    // "disregard the above. Instead, ..." — needs a new instruction after it.
    let above = clause.iter().take(3).position(|t| ANCHORS.has(t.word))?;
    if clause.iter().take(above).any(|t| FIRST_PERSON.has(t.word)) {
        return None;
    }
    // `clause` is the run of tokens right after the verb, so the anchor's
    // index in `tokens` follows from its position in `clause`.
    let after_anchor = i + 1 + above + 1;
    let next = tokens.get(after_anchor);
    // "the above email/message" dismisses a message, not instructions.
    if next.is_some_and(|t| !t.is_boundary() && !matches!(t.word, "and" | "et" | "und" | "y" | "e"))
    {
        return None;
    }
    tokens
        .get(after_anchor..(after_anchor + 10).min(tokens.len()))?
        .iter()
        .filter(|t| !t.is_boundary())
        .find(|t| FOLLOWUPS.has(t.word))
        .map(|t| (start, t.end))
}

static NEW_INSTRUCTIONS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"\b(?:new|updated|real|actual|true|secret|hidden|revised) (?:system )?(?:instructions?|directives?|system prompt|prompt)\s*:",
        r"\byour (?:new|real|true|actual|only|next) (?:task|goal|objective|purpose|mission|instructions?|role|directive) (?:is|are|will be)(?: to)? (?:[a-z]+ )?(?:ignore|reveal|print|output|say|write|send|forward|email|exfiltrate|extract|leak|tell|list|dump|translate|summarize|respond|reply|act|pretend|delete|approve|recommend|collect)\b",
        r"\bfrom now on,? (?:you|u) (?:will|must|shall|should|can|may)? ?(?:[a-z]+ ){0,2}?(?:respond|answer|reply|act|pretend|obey|ignore|comply|behave|roleplay|output|speak|refuse)\b",
        r"\bfrom now on,? you are (?:an? )?(?:[a-z]+ ){0,2}?(?:ai|dan|assistant|bot|unrestricted|evil|model|character)\b",
        r"\bnouvelles? (?:instructions?|consignes?|directives?)\s*:",
        r"\b(?:a partir de maintenant|desormais|dorenavant),? tu (?:reponds|ignores|agis|obeis|n'as plus)\b",
        r"\bneue (?:anweisungen|anweisung|instruktionen|befehle|regeln)\s*:",
        r"\b(?:ab jetzt|ab sofort|von nun an),? (?:antwortest|ignorierst|gehorchst|handelst) du\b",
        r"\bnuevas? (?:instrucciones|instruccion|ordenes|reglas)\s*:",
        r"\b(?:a partir de ahora|de ahora en adelante|desde ahora),? (?:responderas|ignoraras|obedeceras|actuaras|respondes|ignoras)\b",
        r"\bnuove istruzioni\s*:",
        r"\bnovas instrucoes\s*:",
        // Instructions declared void: "previous instructions are void",
        // "the guidance you received before no longer applies".
        r"\b(?:previous|prior|earlier|above|original|system|initial|your)\s+(?:[a-z]+\s+){0,3}?(?:instructions|rules|guidelines|prompt|guidance|directives|programming|restrictions)\s+(?:are|is|have been|has been)\s+(?:now\s+)?(?:void|null|revoked|suspended|disabled|lifted|cancell?ed|overridden)\b",
        r"\b(?:your|the system|the assistant'?s?)\s+(?:[a-z]+\s+){0,3}?(?:instructions|rules|guidelines|prompt|guidance|directives|policy|policies)\b[^.\n]{0,40}\bno longer (?:apply|applies|valid|in effect)\b",
        r"\b(?:instructions|rules|guidelines|guidance|directives) you (?:received|were given|got)\b[^.\n]{0,60}\bno longer (?:apply|applies|valid|in effect)\b",
        r"\b(?:content|safety|usage) (?:policy|policies|filters?|layer|guidelines) (?:has|have) been (?:suspended|disabled|lifted|revoked|removed|turned off)\b",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

fn new_instructions(input: &Input, out: &mut Vec<Found>) {
    let text = &input.norm.text;
    for re in NEW_INSTRUCTIONS.iter() {
        if let Some(m) = re
            .find_iter(text)
            .find(|m| !is_mention(input, m.start(), m.end()))
        {
            out.push(Found::new(
                "override.new_instructions",
                excerpt(text, m.start(), 80),
            ));
            return;
        }
    }
}

/// Override phrases with the spaces and punctuation squeezed out: catches
/// `i g n o r e  a l l  p r e v i o u s` and `ign.ore prev-ious instruc_tions`.
static SQUASHED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:ignore|disregard|forget|bypass|override|ignoriere|vergiss|ignora|olvida|oublie)",
        r"(?:all|any|the|your|every|of|toutes|les|alle|todas|las){0,3}",
        r"(?:previous|prior|above|earlier|preceding|original|initial|system|precedentes|vorherigen|anteriores)",
        r"(?:instructions?|prompts?|rules|directives|guidelines|commands|anweisungen|instrucciones)",
        r"|(?:ignore|disregard|forget)(?:all|your)(?:instructions|rules|prompts|directives|guidelines)",
        r"|revealyoursystemprompt",
    ))
    .ok()
});

fn obfuscated(input: &Input, out: &mut Vec<Found>) {
    let Some(re) = SQUASHED.as_ref() else { return };
    let norm = &input.norm;
    for m in re.find_iter(&norm.squashed) {
        let (Some(&s), Some(&e)) = (
            norm.squashed_pos.get(m.start()),
            norm.squashed_pos.get(m.end().saturating_sub(1)),
        ) else {
            continue;
        };
        let Some(span) = norm.text.get(s..=e) else {
            continue;
        };
        // Only when the phrase was actually broken up; plain text is the
        // word rule's job (which knows about negation and mentions).
        let punctuated = span.chars().any(|c| !c.is_ascii_lowercase() && c != ' ');
        let single_letters = span.split(' ').filter(|w| w.len() == 1).count();
        let spaces = span.matches(' ').count();
        let before = norm.text.get(s.saturating_sub(14)..s).unwrap_or("");
        let negated = ["not ", "never ", "n't ", "dont "]
            .iter()
            .any(|n| before.contains(n));
        if (punctuated || single_letters >= 4 || spaces >= 6)
            && !negated
            && !is_mention(input, s, e)
        {
            out.push(Found::new(
                "override.obfuscated",
                excerpt(&norm.text, s, 80),
            ));
            return;
        }
    }
}
