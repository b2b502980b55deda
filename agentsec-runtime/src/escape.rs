//! Text from outside (a model, a tool, a token, a user) made safe to print.
//!
//! A terminal obeys the control characters it is sent: a `\r` lets a tool
//! argument overwrite the line an operator is reading, `\u{1b}[...` changes
//! colours or the window title, a `\n` in a log field forges a log line.
//! Every such value is passed through [`echo`] (or [`Echo`], its `Display`
//! form) before it reaches a terminal, an error message or a log field:
//! control characters (C0, DEL, C1), line and paragraph separators and the
//! bidirectional overrides are written as Rust escapes (`\r`, `\n`, `\t`,
//! `\u{1b}`), and anything past [`MAX_ECHO_BYTES`] is cut, with the total
//! length said, so a 10 MB value gives a short message.
//!
//! ```
//! use agentsec_runtime::escape::echo;
//! assert_eq!(echo("ok\r\u{1b}[2Jfake"), "ok\\r\\u{1b}[2Jfake");
//! let long = "x".repeat(1000);
//! assert!(echo(&long).ends_with("… (1000 bytes)"));
//! ```

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// The most bytes of an outside value echoed in a message (before escaping).
pub const MAX_ECHO_BYTES: usize = 200;

/// `value` with its control characters escaped and cut after
/// [`MAX_ECHO_BYTES`] (on a character boundary), followed by
/// `… (N bytes)` when it was cut.
pub fn echo(value: &str) -> String {
    Echo(value).to_string()
}

/// `value` with its control characters escaped, never cut: for output where
/// the whole value is wanted (a trace an operator asked for).
///
/// ```
/// use agentsec_runtime::escape::escape_control;
/// assert_eq!(escape_control("a\nb"), "a\\nb");
/// assert_eq!(escape_control("plain"), "plain");
/// ```
pub fn escape_control(value: &str) -> Cow<'_, str> {
    if !value.chars().any(needs_escape) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Displays a value as [`echo`] returns it, without allocating the cut copy.
///
/// ```
/// use agentsec_runtime::escape::Echo;
/// assert_eq!(format!("kid `{}`", Echo("k1\nERROR forged")), "kid `k1\\nERROR forged`");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Echo<'a>(pub &'a str);

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.0;
        let mut end = value.len().min(MAX_ECHO_BYTES);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        let mut buffer = String::new();
        for c in value[..end].chars() {
            buffer.clear();
            push_escaped(&mut buffer, c);
            f.write_str(&buffer)?;
        }
        if end < value.len() {
            write!(f, "… ({} bytes)", value.len())?;
        }
        Ok(())
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_escapes_and_carriage_returns_are_shown_not_obeyed() {
        let hostile = "refund\r\u{1b}[31mAPPROVED\u{1b}[0m\u{7}\u{9b}2J\u{202e}gpj.exe";
        let shown = echo(hostile);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert_eq!(
            shown,
            "refund\\r\\u{1b}[31mAPPROVED\\u{1b}[0m\\u{7}\\u{9b}2J\\u{202e}gpj.exe"
        );
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary_with_their_length() {
        let value = "é".repeat(150); // 300 bytes
        let shown = echo(&value);
        assert!(shown.starts_with(&"é".repeat(100)));
        assert!(shown.ends_with("… (300 bytes)"), "{shown}");
        assert_eq!(
            echo(&"a".repeat(MAX_ECHO_BYTES)),
            "a".repeat(MAX_ECHO_BYTES)
        );
        let huge = "x".repeat(10 * 1024 * 1024);
        assert!(echo(&huge).len() < 300);
    }
}
