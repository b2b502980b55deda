//! A cheap NFKC-like folding, so the rules match what a model reads rather
//! than how the text happens to be encoded.
//!
//! Attackers dodge keyword filters with look-alike characters (Cyrillic `о`
//! for Latin `o`, fullwidth or "mathematical bold" letters), invisible
//! characters inside words, accents, leetspeak and odd spacing. A model reads
//! through all of these, so the rules must too. Full Unicode normalisation
//! would need large tables; the handful of mappings below covers what is used
//! in practice and costs one pass over the text.

/// Whether `c` is invisible when rendered: zero-width characters, joiners,
/// bidirectional controls, soft hyphens, variation selectors and Unicode tag
/// characters. They are dropped before matching.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{E0000}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}')
}

/// The text as the rules see it.
#[derive(Debug, Clone)]
pub(crate) struct Normalized {
    /// Folded, lowercased, whitespace collapsed (newlines kept as `\n`),
    /// leetspeak undone in mixed tokens.
    pub text: String,
    /// Only the ASCII letters of `text`: catches `i g n o r e` and `i.g.n.o.r.e`.
    pub squashed: String,
    /// For each byte of `squashed`, its byte offset in `text`.
    pub squashed_pos: Vec<usize>,
}

/// Folds `input` the way the rules see it: lowercase, accents and
/// look-alike letters mapped to ASCII, invisible characters removed,
/// whitespace collapsed (a run containing a newline becomes one `\n`) and
/// leetspeak undone in tokens that mix letters and digits.
///
/// ```
/// use agentsec_runtime::guard::normalize;
/// assert_eq!(normalize("IGNORE   Аll\u{200B} prev1ous"), "ignore all previous");
/// assert_eq!(normalize("Ｓｙｓｔｅｍ:  Précédentes"), "system: precedentes");
/// ```
pub fn normalize(input: &str) -> String {
    normalize_full(input).text
}

pub(crate) fn normalize_full(input: &str) -> Normalized {
    let mut folded = String::with_capacity(input.len());
    let mut pending: Option<char> = None;
    for c in input.chars() {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            let ws = if matches!(
                c,
                '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{0B}' | '\u{0C}'
            ) {
                '\n'
            } else {
                ' '
            };
            if !folded.is_empty() && pending != Some('\n') {
                pending = Some(ws);
            }
            continue;
        }
        if let Some(ws) = pending.take() {
            folded.push(ws);
        }
        push_folded(&mut folded, c);
    }
    let text = undo_leetspeak(&folded);
    let (squashed, squashed_pos) = text
        .char_indices()
        .filter(|(_, c)| c.is_ascii_lowercase())
        .map(|(i, c)| (c, i))
        .unzip();
    Normalized {
        text,
        squashed,
        squashed_pos,
    }
}

/// Pushes the folded, lowercased form of `c`.
fn push_folded(out: &mut String, c: char) {
    let cp = c as u32;
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    // Combining diacritical marks: dropped, so decomposed accents fold too.
    if (0x0300..=0x036F).contains(&cp) {
        return;
    }
    if let Some(s) = fold_multi(c) {
        out.push_str(s);
        return;
    }
    if let Some(m) = fold_single(cp) {
        out.push(m);
        return;
    }
    out.extend(c.to_lowercase());
}

/// Characters that fold to more than one ASCII letter.
fn fold_multi(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'þ' | 'Þ' => "th",
        'Ĳ' | 'ĳ' => "ij",
        'ﬀ' => "ff",
        'ﬁ' => "fi",
        'ﬂ' => "fl",
        'ﬃ' => "ffi",
        'ﬄ' => "ffl",
        'ﬅ' | 'ﬆ' => "st",
        '…' => "...",
        _ => return None,
    })
}

/// Latin-1 letters U+00C0..=U+00FF, lowercased without accents (`*` = not a letter).
const LATIN1: &[u8; 64] = b"aaaaaa*ceeeeiiiidnooooo*ouuuuy**aaaaaa*ceeeeiiiidnooooo*ouuuuy*y";

/// Latin Extended-A U+0100..=U+017F without accents (`*` = handled elsewhere).
const LATIN_EXT_A: &[u8; 128] = b"aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii**jjkkkllllllllllnnnnnnnnnoooooo**rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/// Characters that fold to one ASCII character.
fn fold_single(cp: u32) -> Option<char> {
    let table = |t: &[u8], i: u32| -> Option<char> {
        let b = *t.get(usize::try_from(i).ok()?)?;
        (b != b'*').then_some(b as char)
    };
    let offset = |base: u32, i: u32, modulo: u32| char::from_u32(base + (cp - i) % modulo);
    match cp {
        0xC0..=0xFF => table(LATIN1, cp - 0xC0),
        0x100..=0x17F => table(LATIN_EXT_A, cp - 0x100),
        // Fullwidth ASCII.
        0xFF01..=0xFF5E => char::from_u32(cp - 0xFEE0).map(|c| c.to_ascii_lowercase()),
        // Mathematical alphanumeric letters (bold, italic, script, ...): 52 per style.
        0x1D400..=0x1D6A3 => offset('a' as u32, 0x1D400, 26),
        0x1D7CE..=0x1D7FF => offset('0' as u32, 0x1D7CE, 10),
        // Circled, parenthesised and squared letters.
        0x24B6..=0x24E9 => offset('a' as u32, 0x24B6, 26),
        0x249C..=0x24B5 => offset('a' as u32, 0x249C, 26),
        0x1F130..=0x1F149 => offset('a' as u32, 0x1F130, 26),
        0x1F170..=0x1F189 => offset('a' as u32, 0x1F170, 26),
        // Typographic quotes and dashes.
        0x2018..=0x201B | 0x2032 => Some('\''),
        0x201C..=0x201F | 0x2033 | 0xAB | 0xBB => Some('"'),
        0x2010..=0x2015 | 0x2212 => Some('-'),
        _ => homoglyph(cp),
    }
}

/// Cyrillic and Greek letters that look like Latin ones.
fn homoglyph(cp: u32) -> Option<char> {
    Some(match cp {
        0x0430 | 0x0410 | 0x03B1 | 0x0391 => 'a',
        0x0412 | 0x0392 | 0x0432 => 'b',
        0x0441 | 0x0421 | 0x03F2 => 'c',
        0x0501 => 'd',
        0x0435 | 0x0415 | 0x0395 | 0x0451 => 'e',
        0x0261 => 'g',
        0x04BB | 0x041D | 0x0397 => 'h',
        0x0456 | 0x0406 | 0x03B9 | 0x0399 | 0x0131 => 'i',
        0x0458 | 0x0408 => 'j',
        0x041A | 0x039A | 0x043A => 'k',
        0x04CF => 'l',
        0x041C | 0x039C => 'm',
        0x039D | 0x0578 => 'n',
        0x043E | 0x041E | 0x03BF | 0x039F | 0x0585 => 'o',
        0x0440 | 0x0420 | 0x03C1 | 0x03A1 => 'p',
        0x0455 | 0x0405 => 's',
        0x0422 | 0x03A4 | 0x0442 => 't',
        0x03C5 | 0x057D => 'u',
        0x03BD | 0x0474 | 0x0475 => 'v',
        0x0461 | 0x051D => 'w',
        0x0445 | 0x0425 | 0x03A7 | 0x03C7 => 'x',
        0x0443 | 0x0423 | 0x03A5 | 0x04AF => 'y',
        0x0396 => 'z',
        _ => return None,
    })
}

/// Undoes leetspeak (`1gn0r3` -> `ignore`) in tokens that mix letters with
/// digits or `@`/`$`. Pure numbers and version-like suffixes (`base64`,
/// `sha256`) are left alone.
fn undo_leetspeak(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_alphanumeric() || c == '@' || c == '$' {
            token.push(c);
            if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '@' || *n == '$')
            {
                continue;
            }
            let next_is_dot = chars.peek() == Some(&'.');
            out.push_str(&fold_leet_token(&token, next_is_dot));
            token.clear();
        } else {
            out.push(c);
        }
    }
    out
}

fn fold_leet_token(token: &str, next_is_dot: bool) -> String {
    let has_letter = token.bytes().any(|b| b.is_ascii_lowercase());
    let leet = |b: u8| matches!(b, b'0' | b'1' | b'3' | b'4' | b'5' | b'7' | b'@' | b'$');
    if !has_letter || !token.bytes().any(leet) {
        return token.to_owned();
    }
    // `base64`, `sha256`, `h264`: letters then a numeric suffix of 2+ digits.
    let digits_suffix = token.bytes().rev().take_while(u8::is_ascii_digit).count();
    let letters_prefix = token.bytes().take_while(u8::is_ascii_lowercase).count();
    if digits_suffix >= 2 && letters_prefix + digits_suffix == token.len() {
        return token.to_owned();
    }
    token
        .bytes()
        .map(|b| match b {
            b'0' => 'o',
            b'1' => 'i',
            b'3' => 'e',
            b'4' => 'a',
            b'5' => 's',
            b'7' => 't',
            // `bob@example.com` stays an address.
            b'@' if !next_is_dot => 'a',
            b'$' => 's',
            other => other as char,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_lookalikes_and_spacing() {
        assert_eq!(normalize("Ⓘⓖⓝⓞⓡⓔ"), "ignore");
        assert_eq!(normalize("𝐢𝐠𝐧𝐨𝐫𝐞"), "ignore");
        assert_eq!(normalize("a\r\n\r\n  b\t c"), "a\nb c");
        assert_eq!(normalize("Straße ÉTÉ"), "strasse ete");
        assert_eq!(
            normalize("base64 sha256 2024 p@ssw0rd bob@example.com"),
            "base64 sha256 2024 password bob@example.com"
        );
    }
}
