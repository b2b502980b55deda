//! The per-run redactor: forms it catches, JSON, the redacting store and
//! the tracing writer.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Arc, Mutex};

use agentsec_runtime::secrets::redact::{
    MIN_SECRET_LEN, RedactingMakeWriter, RedactingWriter, RedactionLabel, Registration,
};
use agentsec_runtime::secrets::{MemorySecretStore, RedactingStore, Redactor, SecretStore};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

const SECRET: &str = "s3cr\"et\\val/ué🔑+x y";

fn redactor() -> Redactor {
    let redactor = Redactor::new();
    assert_eq!(
        redactor.register("api_key", SECRET),
        Registration::Registered
    );
    redactor
}

fn assert_clean(out: &str) {
    assert!(!out.contains(SECRET), "secret left in {out}");
    assert!(
        out.contains("[REDACTED:api_key]"),
        "no placeholder in {out}"
    );
}

#[test]
fn plain_occurrences() {
    let out = redactor()
        .redact_str(&format!("a {SECRET} b {SECRET}"))
        .into_owned();
    assert_eq!(out, "a [REDACTED:api_key] b [REDACTED:api_key]");
}

#[test]
fn json_escaped_occurrences() {
    #[derive(serde::Serialize)]
    struct Call<'a> {
        tool: &'a str,
        key: &'a str,
    }
    let json = serde_json::to_string(&Call {
        tool: "pay",
        key: SECRET,
    })
    .unwrap();
    assert!(
        !json.contains(SECRET),
        "the escaped form differs from the secret"
    );
    let out = redactor().redact_str(&json).into_owned();
    assert_eq!(out, r#"{"tool":"pay","key":"[REDACTED:api_key]"}"#);
    // The result is still valid JSON.
    serde_json::from_str::<serde_json::Value>(&out).unwrap();

    // JSON inside a JSON string (tool-call arguments), and ASCII-only
    // escaping (`\u00e9`, surrogate pairs) as other encoders write it.
    let twice = serde_json::to_string(&json).unwrap();
    assert_clean(&redactor().redact_str(&twice));
    let ascii = r#"{"key":"s3cr\"et\\val\/u\u00e9\ud83d\udd11+x y"}"#;
    assert_eq!(
        redactor().redact_str(ascii),
        r#"{"key":"[REDACTED:api_key]"}"#
    );
}

#[test]
fn percent_encoded_occurrences() {
    let strict = utf8_percent_encode(SECRET, NON_ALPHANUMERIC).to_string();
    // Lower-case hex digits in the escapes, letters of the secret unchanged.
    let mut lower = String::new();
    let mut rest = strict.as_str();
    while let Some(at) = rest.find('%') {
        lower.push_str(&rest[..at]);
        lower.push_str(&rest[at..at + 3].to_lowercase());
        rest = &rest[at + 3..];
    }
    lower.push_str(rest);
    assert_ne!(lower, strict);
    let form: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    for encoded in [strict, lower, form] {
        let url = format!("https://example.com/cb?key={encoded}&x=1");
        let out = redactor().redact_str(&url).into_owned();
        assert_eq!(
            out, "https://example.com/cb?key=[REDACTED:api_key]&x=1",
            "{encoded}"
        );
    }
}

#[test]
fn base64_encoded_occurrences_at_any_alignment() {
    let redactor = redactor();
    for prefix in ["", "u", "us", "user:", "admin:"] {
        let data = format!("{prefix}{SECRET}");
        for encoded in [STANDARD.encode(&data), URL_SAFE_NO_PAD.encode(&data)] {
            let out = redactor
                .redact_str(&format!("Authorization: Basic {encoded}\n"))
                .into_owned();
            assert!(
                out.contains("[REDACTED:api_key]"),
                "{prefix:?} {encoded} -> {out}"
            );
            // Every base64 character that carries bits of the secret is gone.
            let kept = out
                .trim_start_matches("Authorization: Basic ")
                .split("[REDACTED:api_key]")
                .map(str::len)
                .sum::<usize>();
            // At most the characters of the prefix alone, and the newline.
            assert!(kept <= (8 * prefix.len()).div_ceil(6) + 1, "{out}");
        }
    }
}

#[test]
fn hex_encoded_occurrences() {
    let out = redactor()
        .redact_str(&format!("dump {}", hex::encode(SECRET)))
        .into_owned();
    assert_eq!(out, "dump [REDACTED:api_key]");
}

#[test]
fn secrets_in_error_messages_and_debug_output() {
    let redactor = redactor();
    let error = std::io::Error::other(format!("auth failed for key {SECRET}"));
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{:?}", Some(SECRET)),
    ] {
        assert_clean(&redactor.redact_str(&text));
    }
}

#[test]
fn credential_shaped_strings_are_redacted_without_registration() {
    let redactor = Redactor::new();
    let text = "aws AKIAIOSFODNN7EXAMPLE and ok";
    assert_eq!(
        redactor.redact_str(text),
        "aws [REDACTED:credential] and ok"
    );
    let found = redactor.find(text);
    assert!(matches!(found[0].label, RedactionLabel::Credential(_)));
}

#[test]
fn short_secrets_are_not_redacted() {
    let redactor = Redactor::new();
    let short = "a".repeat(MIN_SECRET_LEN - 1);
    assert_eq!(redactor.register("pin", &short), Registration::TooShort);
    assert_eq!(redactor.redact_str("aaaaa banana"), "aaaaa banana");
    assert!(redactor.secret_names().is_empty());
}

#[test]
fn overlapping_secrets_are_both_removed() {
    let redactor = Redactor::new();
    let _ = redactor.register("a", "abcdefgh");
    let _ = redactor.register("b", "efghijkl");
    let out = redactor.redact_str("xxabcdefghijklxx");
    assert_eq!(out, "xx[REDACTED:a]xx");
    assert_eq!(
        redactor.register("c", "abcdefgh"),
        Registration::AlreadyKnown
    );
}

#[test]
fn untouched_text_is_borrowed() {
    let redactor = redactor();
    assert!(matches!(
        redactor.redact_str("nothing to see \\ here %41"),
        Cow::Borrowed(_)
    ));
}

#[test]
fn json_values_keys_and_numbers_are_redacted() {
    let redactor = redactor();
    let _ = redactor.register("account", "9876543210");
    let mut value = serde_json::json!({
        "outer": { SECRET: [format!("prefix {SECRET}"), 9876543210u64, true, null] },
        "plain": "ok",
    });
    assert!(redactor.redact_json(&mut value));
    assert_eq!(
        value,
        serde_json::json!({
            "outer": { "[REDACTED:api_key]": ["prefix [REDACTED:api_key]", "[REDACTED:account]", true, null] },
            "plain": "ok",
        })
    );
    let mut clean = serde_json::json!({"a": [1, "b"]});
    assert!(!redactor.redact_json(&mut clean));
}

#[tokio::test]
async fn redacting_store_registers_what_it_returns() {
    let redactor = Redactor::new();
    let store = RedactingStore::new(
        MemorySecretStore::new().with("db", "db-password-123"),
        redactor.clone(),
    );
    assert_eq!(redactor.redact_str("db-password-123"), "db-password-123");
    assert!(store.get("missing").await.unwrap().is_none());
    let _value = store.get("db").await.unwrap().unwrap();
    assert_eq!(
        redactor.redact_str("pw db-password-123"),
        "pw [REDACTED:db]"
    );
    assert_eq!(store.kind(), "memory");
}

#[test]
fn clones_share_secrets_across_threads() {
    let redactor = Redactor::new();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let redactor = redactor.clone();
            std::thread::spawn(move || {
                let _ = redactor.register(&format!("k{i}"), &format!("thread-secret-{i}"));
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let out = redactor.redact_str("thread-secret-0 thread-secret-3");
    assert_eq!(out, "[REDACTED:k0] [REDACTED:k3]");
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn writer_redacts_a_secret_split_across_writes() {
    let sink = Sink::default();
    let mut writer = RedactingWriter::new(sink.clone(), redactor());
    let line = format!("token={SECRET}\n");
    let (a, b) = line.as_bytes().split_at(10);
    writer.write_all(a).unwrap();
    writer.write_all(b).unwrap();
    assert_eq!(sink.text(), "", "nothing is written before flush");
    writer.flush().unwrap();
    assert_eq!(sink.text(), "token=[REDACTED:api_key]\n");
}

#[test]
fn tracing_logs_never_contain_a_registered_secret() {
    let sink = Sink::default();
    let writer_sink = sink.clone();
    let redactor = Redactor::new();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(RedactingMakeWriter::new(
            move || writer_sink.clone(),
            redactor.clone(),
        ))
        .with_ansi(false)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        // Registered mid-run, as a tool fetches it.
        let _ = redactor.register("stripe", SECRET);
        tracing::info!(key = SECRET, "calling stripe with {SECRET}");
        tracing::warn!(error = ?std::io::Error::other(SECRET), "failed");
        tracing::info!(header = %format!("Bearer {}", STANDARD.encode(SECRET)), "request");
    });
    let logs = sink.text();
    assert_eq!(logs.lines().count(), 3, "{logs}");
    assert!(!logs.contains(SECRET), "{logs}");
    assert!(!logs.contains(&STANDARD.encode(SECRET)), "{logs}");
    assert_eq!(logs.matches("[REDACTED:stripe]").count(), 4, "{logs}");
}
