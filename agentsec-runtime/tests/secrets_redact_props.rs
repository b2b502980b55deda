//! Property tests: for random secrets and random surrounding text, after
//! redaction the secret (and the encoded form it was written in) occurs
//! nowhere in the output.

use agentsec_runtime::secrets::Redactor;
use agentsec_runtime::secrets::redact::MIN_SECRET_LEN;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Characters secrets are drawn from: printable ASCII (quotes and
/// backslashes included), escapes JSON and `Debug` write specially, and
/// multi-byte Unicode.
fn secret_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        2 => proptest::sample::select(vec![
            '"', '\\', '/', '\'', '%', '+', '=', '&', '\n', '\t', '\r', '\u{0}', '\u{1f}', '\u{7f}',
            'é', 'ß', '中', '🔑', '\u{301}', '\u{2028}', '\u{feff}',
        ]),
        1 => any::<char>(),
    ]
}

fn secret() -> impl Strategy<Value = String> {
    proptest::collection::vec(secret_char(), MIN_SECRET_LEN..24)
        .prop_map(|chars| chars.into_iter().collect::<String>())
        .prop_filter("at least MIN_SECRET_LEN bytes", |s| {
            s.len() >= MIN_SECRET_LEN
        })
}

/// Ordinary surrounding text.
fn context() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 .,:;!?()=/_-]{0,40}"
}

/// The encoder set of JavaScript's `encodeURIComponent`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

#[derive(Clone, Copy, Debug)]
enum Embedding {
    Plain,
    SerdeStruct,
    SerdeTwice,
    PercentStrict,
    PercentUriComponent,
    PercentMinimal,
    FormEncoded,
    Base64Standard,
    Base64UrlSafe,
    Base64UrlSafeNoPad,
    IoErrorDisplay,
    IoErrorDebug,
    DebugString,
}

fn embedding() -> impl Strategy<Value = Embedding> {
    use Embedding::*;
    proptest::sample::select(vec![
        Plain,
        SerdeStruct,
        SerdeTwice,
        PercentStrict,
        PercentUriComponent,
        PercentMinimal,
        FormEncoded,
        Base64Standard,
        Base64UrlSafe,
        Base64UrlSafeNoPad,
        IoErrorDisplay,
        IoErrorDebug,
        DebugString,
    ])
}

#[derive(serde::Serialize)]
struct ToolCall<'a> {
    tool: &'a str,
    api_key: &'a str,
    note: &'a str,
}

/// The text to redact, and the encoded form of the secret that must not
/// survive (beside the secret itself).
fn embed(
    how: Embedding,
    secret: &str,
    before: &str,
    after: &str,
    pad: &[u8],
) -> (String, Option<String>) {
    let b64 = |engine: &base64::engine::GeneralPurpose| {
        // The secret somewhere inside the encoded data, at any alignment.
        let mut data = pad.to_vec();
        data.extend_from_slice(secret.as_bytes());
        data.extend_from_slice(after.as_bytes());
        let encoded = engine.encode(&data);
        let start = (8 * pad.len()).div_ceil(6);
        let end = 8 * (pad.len() + secret.len()) / 6;
        let core = encoded.get(start..end).map(str::to_owned);
        (format!("{before} Basic {encoded} {after}"), core)
    };
    match how {
        Embedding::Plain => (format!("{before}{secret}{after}"), None),
        Embedding::SerdeStruct => {
            let call = ToolCall {
                tool: before,
                api_key: secret,
                note: after,
            };
            let json = serde_json::to_string(&call).unwrap();
            let escaped = serde_json::to_string(secret).unwrap();
            (json, Some(escaped.trim_matches('"').to_owned()))
        }
        Embedding::SerdeTwice => {
            let call = ToolCall {
                tool: before,
                api_key: secret,
                note: after,
            };
            let inner = serde_json::to_string(&call).unwrap();
            let outer = serde_json::to_string(&serde_json::json!({ "arguments": inner })).unwrap();
            (outer, None)
        }
        Embedding::PercentStrict | Embedding::PercentUriComponent | Embedding::PercentMinimal => {
            let set = match how {
                Embedding::PercentStrict => NON_ALPHANUMERIC,
                Embedding::PercentUriComponent => URI_COMPONENT,
                _ => CONTROLS,
            };
            let encoded = utf8_percent_encode(secret, set).to_string();
            (
                format!("https://api.example.com/v1?{before}&key={encoded}&n={after}"),
                Some(encoded),
            )
        }
        Embedding::FormEncoded => {
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            (format!("{before}key={encoded}&{after}"), Some(encoded))
        }
        Embedding::Base64Standard => b64(&STANDARD),
        Embedding::Base64UrlSafe => b64(&URL_SAFE),
        Embedding::Base64UrlSafeNoPad => b64(&URL_SAFE_NO_PAD),
        Embedding::IoErrorDisplay => {
            let error = std::io::Error::other(format!("{before}: bad key {secret} ({after})"));
            (format!("tool failed: {error}"), None)
        }
        Embedding::IoErrorDebug => {
            let error = std::io::Error::other(format!("{before}: bad key {secret} ({after})"));
            (format!("tool failed: {error:?}"), None)
        }
        Embedding::DebugString => (format!("{before} {:?} {after}", (secret, after)), None),
    }
}

proptest! {
    #![proptest_config(Config {
        cases: 4000,
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn redacted_output_never_contains_the_secret(
        secret in secret(),
        before in context(),
        after in context(),
        pad in proptest::collection::vec(any::<u8>(), 0..6),
        how in embedding(),
    ) {
        let redactor = Redactor::new();
        let _ = redactor.register("api_key", &secret);
        let (text, encoded) = embed(how, &secret, &before, &after, &pad);
        let out = redactor.redact_str(&text);

        prop_assert!(!out.contains(secret.as_str()), "{how:?}: {text:?} -> {out:?}");
        if let Some(encoded) = encoded.filter(|e| e.len() >= MIN_SECRET_LEN) {
            prop_assert!(!out.contains(encoded.as_str()), "{how:?}: {text:?} -> {out:?}");
        }
        prop_assert!(out.contains("[REDACTED:api_key]"), "{how:?}: {text:?} -> {out:?}");
    }

    #[test]
    fn redacted_json_values_never_contain_the_secret(
        secret in secret(),
        before in context(),
        after in context(),
    ) {
        let redactor = Redactor::new();
        let _ = redactor.register("api_key", &secret);
        let mut value = serde_json::json!({
            "args": [before.clone(), format!("{before}{secret}{after}")],
            secret.clone(): { "nested": secret.clone() },
        });
        redactor.redact_json(&mut value);
        let serialized = serde_json::to_string(&value).unwrap();
        let escaped = serde_json::to_string(&secret).unwrap();
        prop_assert!(!serialized.contains(secret.as_str()), "{serialized}");
        prop_assert!(!serialized.contains(escaped.trim_matches('"')), "{serialized}");
    }
}

proptest! {
    #![proptest_config(Config {
        cases: 1000,
        failure_persistence: None,
        ..Config::default()
    })]

    /// Arbitrary secrets and arbitrary text: never a panic, and text
    /// outside the redacted spans is kept.
    #[test]
    fn redaction_never_panics(secret in any::<String>(), text in any::<String>()) {
        let redactor = Redactor::new();
        let _ = redactor.register("s", &secret);
        let out = redactor.redact_str(&text);
        if secret.len() >= MIN_SECRET_LEN {
            prop_assert!(!out.contains(secret.as_str()));
        }
        for found in redactor.find(&text) {
            prop_assert!(text.get(found.range.clone()).is_some());
        }
    }
}
