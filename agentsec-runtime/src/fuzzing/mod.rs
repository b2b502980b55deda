//! Fuzz targets: the parsers of untrusted input, each as a function that
//! must not panic on any bytes (and checks a property of its own where one
//! exists). The cargo-fuzz crate in `fuzz/` calls them under libFuzzer; the
//! `fuzz_replay` test runs them on the committed corpus and on inputs from a
//! fixed-seed generator, on stable Rust, in CI. Not a public API.

mod signing;

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::identity::{CallId, JwtAlgorithm, JwtAuthenticator, RunId};
use crate::model::{AnthropicClient, OpenAiClient};
use crate::permission::{GrantAuthority, GrantError, GrantExpectation};
use crate::tool::{
    ArgLimits, Effect, EffectKind, Scope, ToolSchema, ToolSpec, canonical_json, decode_args,
    parse_args,
};

pub use signing::{
    GRANT_KEY, SESSION_AUDIENCE, SESSION_ISSUER, SESSION_SECRET, hs256_token, token_from,
};

/// The time the grant target verifies at (seconds since the epoch): the
/// committed seeds are issued at 9_999_999_970 and expire at
/// 9_999_999_990, and a grant issued in the future is refused.
pub const GRANT_NOW: u64 = 9_999_999_975;

/// A fuzz target: takes any bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name of its cargo-fuzz binary and corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("model_response_openai", model_response_openai),
    ("model_response_anthropic", model_response_anthropic),
    ("tool_arguments", tool_arguments),
    ("grant_token", grant_token),
    ("session_jwt", session_jwt),
];

/// A chat-completions body, decoded by [`OpenAiClient::parse_response`].
pub fn model_response_openai(data: &[u8]) {
    static CLIENT: OnceLock<Option<OpenAiClient>> = OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        OpenAiClient::builder()
            .base_url("http://127.0.0.1:9/v1")
            .model("fuzz")
            .build()
            .ok()
    });
    if let Some(client) = client {
        let _ = client.parse_response(data);
    }
}

/// A Messages API body, decoded by [`AnthropicClient::parse_response`].
pub fn model_response_anthropic(data: &[u8]) {
    static CLIENT: OnceLock<Option<AnthropicClient>> = OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        AnthropicClient::builder()
            .base_url("http://127.0.0.1:9")
            .model("fuzz")
            .build()
            .ok()
    });
    if let Some(client) = client {
        let _ = client.parse_response(data);
    }
}

/// Arguments of a tool with most shapes a tool takes: bounded integers,
/// strings, an optional and a defaulted property, a list, a nested object, an
/// enum. `deny_unknown_fields`, as the `#[tool]` macro writes it.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StrictArgs {
    limit: u8,
    query: String,
    note: Option<String>,
    tags: Vec<String>,
    #[serde(default)]
    page: u32,
    filter: Option<Filter>,
    mode: Mode,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Filter {
    min: i64,
    max: Option<f64>,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Fast,
    Thorough,
}

/// Arguments as a hand-written tool might declare them: unknown fields not
/// denied by the type (the schema check still refuses them).
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct LooseArgs {
    a: i64,
    b: Option<i64>,
}

/// The model's argument text, decoded by [`decode_args`] against two tools'
/// schemas. Properties: nothing panics; arguments that decode have a
/// canonical form that decodes again to the same canonical form (what an
/// approver sees is what runs, however the model spelled it).
pub fn tool_arguments(data: &[u8]) {
    static SCHEMAS: OnceLock<(ToolSchema, ToolSchema)> = OnceLock::new();
    let (strict, loose) = SCHEMAS.get_or_init(|| {
        (
            ToolSchema::for_args::<StrictArgs>("search", "Search."),
            ToolSchema::for_args::<LooseArgs>("add", "Add."),
        )
    });
    let text = String::from_utf8_lossy(data);
    let limits = ArgLimits {
        max_bytes: 4096,
        ..ArgLimits::default()
    };
    let _ = decode_args::<StrictArgs>(strict, &text, limits);
    let _ = decode_args::<LooseArgs>(loose, &text, limits);
    for schema in [strict, loose] {
        let Ok(value) = parse_args(schema, &text, limits) else {
            continue;
        };
        let canonical = canonical_json(&value);
        // The canonical text may be longer (`1e2` is written `100.0`).
        let roomy = ArgLimits {
            max_bytes: usize::MAX,
            ..limits
        };
        let again = parse_args(schema, &canonical, roomy)
            .unwrap_or_else(|e| panic!("canonical {canonical:?} of {text:?} does not decode: {e}"));
        assert_eq!(canonical_json(&again), canonical, "{text:?}");
    }
}

/// The tool the grant target's tokens are checked against.
const GRANTED: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "orders")],
    scope: Some(Scope::User),
    pure: false,
    ..ToolSpec::new("list_orders", "List orders.")
};

/// The run and call the grant target's tokens are checked against:
/// `00000000-0000-0000-0000-000000000001` and `…0002`.
pub fn grant_expectation() -> GrantExpectation<'static> {
    GrantExpectation {
        spec: &GRANTED,
        run: RunId::from(uuid::Uuid::from_u128(1)),
        call: CallId::from(uuid::Uuid::from_u128(2)),
    }
}

/// A grant, verified by [`GrantAuthority::verify`]. The first byte chooses
/// what the rest is (see [`token_from`]): a token as is, claims
/// signed with the authority's key (so the checks behind the signature are
/// reached), or a header and claims, both signed. Property: a grant that is
/// accepted is accepted once.
pub fn grant_token(data: &[u8]) {
    static AUTHORITY: OnceLock<Option<GrantAuthority>> = OnceLock::new();
    let Some(authority) = AUTHORITY.get_or_init(|| GrantAuthority::new(GRANT_KEY).ok()) else {
        return;
    };
    let token = signing::token_from(GRANT_KEY, data);
    let expected = grant_expectation();
    if authority
        .verify_at_time(&token, &expected, GRANT_NOW)
        .is_ok()
    {
        assert_eq!(
            authority.verify_at_time(&token, &expected, GRANT_NOW),
            Err(GrantError::Replayed),
            "an accepted grant was accepted again"
        );
    }
}

/// A session token, verified by [`JwtAuthenticator::authenticate`]; the
/// first byte chooses what the rest is, as for [`grant_token`].
pub fn session_jwt(data: &[u8]) {
    static AUTHENTICATOR: OnceLock<Option<JwtAuthenticator>> = OnceLock::new();
    let authenticator = AUTHENTICATOR.get_or_init(|| {
        JwtAuthenticator::builder(JwtAlgorithm::Hs256)
            .issuer(SESSION_ISSUER)
            .audience(SESSION_AUDIENCE)
            .tenant_claim("org")
            .hmac_secret(SESSION_SECRET)
            .build()
            .ok()
    });
    if let Some(authenticator) = authenticator {
        let token = signing::token_from(SESSION_SECRET, data);
        if let Ok(user) = authenticator.authenticate(&token) {
            // An identity always names someone.
            assert!(!user.id.is_empty(), "an empty subject was accepted");
        }
    }
}
