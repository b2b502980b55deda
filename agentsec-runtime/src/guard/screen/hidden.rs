//! Hidden text: Unicode tag characters (invisible ASCII look-alikes that
//! models still read), zero-width characters inside words, and bidi
//! controls that reorder what a reviewer sees.

use super::Found;

/// The flag emoji base that legitimately takes tag characters
/// (🏴 + `gbsct` + cancel tag = the flag of Scotland).
const BLACK_FLAG: char = '\u{1F3F4}';
const CANCEL_TAG: char = '\u{E007F}';

/// What the tag scan found.
pub(crate) struct TagScan {
    /// ASCII smuggled in tag characters outside flag emoji.
    pub smuggled: String,
}

/// Decodes tag characters that are not part of a subdivision-flag emoji.
pub(crate) fn scan_tags(raw: &str) -> TagScan {
    let mut smuggled = String::new();
    let mut run = String::new();
    let mut run_after_flag = false;
    let mut prev: Option<char> = None;
    for c in raw.chars() {
        let cp = c as u32;
        if (0xE0000..=0xE007F).contains(&cp) {
            if run.is_empty() {
                run_after_flag = prev == Some(BLACK_FLAG);
            }
            if c == CANCEL_TAG {
                flush_tags(&mut run, run_after_flag, true, &mut smuggled);
            } else if let Some(ascii) = char::from_u32(cp - 0xE0000) {
                run.push(ascii);
            }
        } else if !run.is_empty() {
            flush_tags(&mut run, run_after_flag, false, &mut smuggled);
        }
        prev = Some(c);
    }
    if !run.is_empty() {
        flush_tags(&mut run, run_after_flag, false, &mut smuggled);
    }
    TagScan { smuggled }
}

fn flush_tags(run: &mut String, after_flag: bool, cancelled: bool, smuggled: &mut String) {
    let flag_like = after_flag
        && cancelled
        && (2..=7).contains(&run.len())
        && run
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !flag_like {
        if !smuggled.is_empty() {
            smuggled.push(' ');
        }
        smuggled.extend(run.chars().filter(|c| !c.is_ascii_control()));
        if run.is_empty() && cancelled {
            // A lone cancel tag carries no text but is still not an emoji.
            smuggled.push('\u{FFFD}');
        }
    }
    run.clear();
}

fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}'
    )
}

/// Zero-width characters between two ASCII letters or digits (inside Latin
/// words). Joiners in emoji sequences and in Arabic/Indic scripts, and a
/// leading byte-order mark, are not counted.
fn zero_width_in_words(raw: &str) -> usize {
    let mut count = 0;
    let mut prev: Option<char> = None;
    let mut run = 0;
    for (i, c) in raw.char_indices() {
        if is_zero_width(c) {
            // A byte-order mark at the very start is an encoding artefact.
            if !(i == 0 && c == '\u{FEFF}') {
                run += 1;
            }
            continue;
        }
        if run > 0 && prev.is_some_and(|p| p.is_ascii_alphanumeric()) && c.is_ascii_alphanumeric() {
            count += run;
        }
        run = 0;
        prev = Some(c);
    }
    count
}

fn has_rtl_letters(raw: &str) -> bool {
    raw.chars()
        .any(|c| matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFC))
}

pub(crate) fn check(raw: &str, tags: &TagScan, out: &mut Vec<Found>) {
    if !tags.smuggled.is_empty() {
        out.push(Found::new(
            "hidden.unicode_tags",
            tags.smuggled.chars().take(80).collect(),
        ));
    }
    let zw = zero_width_in_words(raw);
    if zw >= 2 {
        out.push(Found::new(
            "hidden.zero_width",
            format!("{zw} zero-width characters inside words"),
        ));
    }
    let overrides = raw
        .chars()
        .filter(|c| matches!(c, '\u{202D}' | '\u{202E}'))
        .count();
    let controls = raw
        .chars()
        .filter(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .count();
    // Embeddings and isolates are normal in right-to-left text; overrides
    // (which visually reverse Latin text) are not.
    if overrides > 0 || (controls > 0 && !has_rtl_letters(raw)) {
        out.push(Found::new(
            "hidden.bidi_control",
            format!("{controls} bidirectional control characters"),
        ));
    }
}
