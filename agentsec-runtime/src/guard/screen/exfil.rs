//! Exfiltration links: markdown images (fetched automatically when a chat UI
//! renders them) and links whose query string carries data or a placeholder
//! the model is meant to fill in, and instructions to smuggle conversation
//! data into a URL or mail it away.

use std::sync::LazyLock;

use regex::Regex;

use super::Found;
use super::text::{Input, excerpt};

static MD_IMAGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"!\[[^\]\n]{0,200}\]\(\s*<?(https?://[^\s)<>]+)").ok());
static HTML_IMAGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"<img\b[^>]{0,200}?\bsrc\s*=\s*["']?(https?://[^\s"'>]+)"#).ok());
static MD_LINK: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?:^|[^!])\[[^\]\n]{0,200}\]\(\s*<?(https?://[^\s)<>]+)").ok());
static BARE_URL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"https?://[^\s)"'>\]]+"#).ok());

/// A slot for the model to fill: `{data}`, `{{history}}`, `$SECRET`, `[CHAT]`, `<summary>`.
static PLACEHOLDER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\{\{?\s*[a-z_][a-z0-9_ .-]{0,40}\}|%7b(?:%7b)?[a-z_][a-z0-9_.-]{0,40}%7d|\$\{|\$[a-z_]{3,}|\[[a-z_ ]{3,40}\]|<[a-z_ ]{3,40}>|%5b[a-z_ ]{3,40}%5d|%3c[a-z_ ]{3,40}%3e").ok()
});

/// What a placeholder in a plain URL must name to be an exfiltration slot
/// (API docs are full of `{id}` and `{fields}`).
static SENSITIVE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"conversation|chat|history|secret|passw|api_?key|credential|summary|memory|prompt|ssn|card|private|leak|exfil|stolen|everything|previous|messages|context|pii|token|cookie|session").ok()
});

static INSTRUCTION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(?:append|add|include|insert|encode|put|attach|embed|concatenate)\b[^.\n]{0,80}",
        r"\b(?:conversation|chat history|chat log|previous messages|message history|the user'?s? (?:data|email|password|messages|address|details|secrets|name)|system prompt|secrets?|credentials|passwords?|api keys?|personal data|memory|session (?:token|cookie)|everything (?:above|so far))\b",
        r"[^.\n]{0,80}\b(?:url|link|query string|query parameter|parameter|image|markdown|request)\b",
    ))
    .ok()
});

/// "Forward all passwords to x@y", "silently email the contacts to x@y".
static MAIL_AWAY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(?:forward|send|email|upload|post|transmit|exfiltrate|leak|copy|bcc)\b[^\n]{0,60}?",
        r"(?:\b(?:all|every|any)\b[^\n]{0,30}?\b(?:emails?|messages?|contacts?|conversations?|history|passwords?|credentials|secrets?|api keys?|tokens?|files|documents|records?|customer data|user data)\b",
        r"|\b(?:passwords?|credentials|secrets?|api keys?|private keys?|session tokens?|conversation history|chat history)\b)",
        r"[^\n]{0,60}?\b(?:to|at)\s+[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}",
    ))
    .ok()
});
/// "Append X to <url>": a verb that fills a URL's trailing empty slot.
static APPEND: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b(?:append|add|attach|concatenate|include|put)\b[^.\n]{0,80}\bto\b").ok()
});
/// Any "send/forward ... to <address>", which only counts with secrecy.
static SEND_TO: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b(?:forward|send|email|copy|bcc|cc|mail)\b[^\n]{0,60}?\bto\s+[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}").ok()
});
static SECRECY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b(?:silently|secretly|quietly|without (?:telling|notifying|informing|asking)|do not (?:tell|mention|inform|notify)|don'?t (?:tell|mention|inform|notify))\b").ok()
});

/// The query (and fragment) of `url`.
fn query(url: &str) -> &str {
    url.split_once(['?', '#']).map(|(_, q)| q).unwrap_or("")
}

/// A query value that is prose or a long encoded blob.
fn carries_data(query: &str) -> bool {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .any(|(_, v)| {
            let prose = v.matches("%20").count() + v.matches('+').count();
            let blob = v.len() >= 48
                && v.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'%' | b'-' | b'_' | b'=' | b'.')
                });
            prose >= 3 || blob
        })
}

/// Whether the URL ending at `end` in `text` is followed by a placeholder
/// the URL pattern stopped at (`?q=<data>`).
fn placeholder_after(text: &str, end: usize) -> bool {
    let rest = text.get(end..).unwrap_or("");
    rest.starts_with('<') || rest.starts_with('[')
}

fn has_placeholder(q: &str) -> bool {
    PLACEHOLDER.as_ref().is_some_and(|re| re.is_match(q))
}

fn sensitive_placeholder(q: &str) -> bool {
    let (Some(p), Some(s)) = (PLACEHOLDER.as_ref(), SENSITIVE.as_ref()) else {
        return false;
    };
    p.find_iter(q).any(|m| s.is_match(m.as_str()))
        || q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .any(|(k, v)| {
                s.is_match(k)
                    && v.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    && v.len() >= 3
            })
}

pub(crate) fn check(input: &Input, out: &mut Vec<Found>) {
    let text = &input.visible_lower;
    // Images are fetched as soon as they are rendered: any data slot counts.
    for re in [&MD_IMAGE, &HTML_IMAGE]
        .into_iter()
        .filter_map(|r| r.as_ref())
    {
        for c in re.captures_iter(text) {
            let Some(url) = c.get(1) else { continue };
            let q = query(url.as_str());
            if (!q.is_empty() && (has_placeholder(q) || carries_data(q)))
                || placeholder_after(text, url.end())
            {
                out.push(Found::new(
                    "exfil.markdown_image",
                    excerpt(text, url.start(), 100),
                ));
                return;
            }
        }
    }
    // Links need a click; plain URLs need a fetching tool. Both only count
    // with a slot for data.
    let linkish = MD_LINK
        .as_ref()
        .into_iter()
        .flat_map(|re| re.captures_iter(text).filter_map(|c| c.get(1)))
        .find(|url| {
            let q = query(url.as_str());
            sensitive_placeholder(q) || (placeholder_after(text, url.end()) && !q.is_empty())
        })
        .or_else(|| {
            BARE_URL.as_ref().and_then(|re| {
                re.find_iter(text).find(|url| {
                    // The visible (case-kept) text keeps `$SECRET`-style slots readable.
                    let original = input.visible.get(url.range()).unwrap_or(url.as_str());
                    sensitive_placeholder(query(url.as_str()))
                        || sensitive_placeholder(query(original))
                })
            })
        });
    // `...?text=` left empty for the model to fill in.
    let linkish = linkish.or_else(|| {
        let append = APPEND.as_ref().is_some_and(|re| re.is_match(text));
        BARE_URL.as_ref().and_then(|re| {
            re.find_iter(text)
                .find(|u| append && u.as_str().contains('?') && u.as_str().ends_with('='))
        })
    });
    if let Some(url) = linkish {
        out.push(Found::new(
            "exfil.link_with_data",
            excerpt(text, url.start(), 100),
        ));
        return;
    }
    let norm = &input.norm.text;
    if let Some(m) = INSTRUCTION.as_ref().and_then(|re| re.find(norm))
        && !m.as_str().contains("your api key")
    {
        out.push(Found::new(
            "exfil.instruction",
            excerpt(norm, m.start(), 100),
        ));
        return;
    }
    let secrecy = SECRECY.as_ref().is_some_and(|re| re.is_match(text));
    if secrecy && let Some(m) = SEND_TO.as_ref().and_then(|re| re.find(text)) {
        out.push(Found::new("exfil.mail_away", excerpt(text, m.start(), 100)));
        return;
    }
    if let Some(m) = MAIL_AWAY.as_ref().and_then(|re| re.find(text)) {
        let quantified = m.as_str().contains("all ") || m.as_str().contains("every");
        let secret_words = [
            "password",
            "credential",
            "secret",
            "api key",
            "private key",
            "token",
            "history",
        ];
        let sensitive = secret_words.iter().any(|w| m.as_str().contains(w));
        if sensitive || quantified {
            out.push(Found::new("exfil.mail_away", excerpt(text, m.start(), 100)));
        }
    }
}
