//! Grants by the RFCs (issue 12, point 2): every token here is minted by an
//! independent path — `jsonwebtoken`, or HMAC-SHA256 computed by hand over
//! hand-built parts — never by agentsec's own signer.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
use agentsec_runtime::permission::{
    GrantAuthority, GrantError, GrantExpectation, GrantRequest, MAX_GRANT_BYTES,
};
use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::Sha256;

const GRANT_KEY: &[u8] = b"grant-key-of-at-least-thirty-two-bytes";

const LIST_ORDERS: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "orders")],
    scope: Some(Scope::User),
    pure: false,
    ..ToolSpec::new("list_orders", "List the user's orders.")
};

struct Fixture {
    authority: GrantAuthority,
    run: RunId,
    call: CallId,
}

impl Fixture {
    fn new() -> Self {
        Self {
            authority: GrantAuthority::new(GRANT_KEY).unwrap(),
            run: RunId::new(),
            call: CallId::new(),
        }
    }

    /// Valid claims for `list_orders`, written by hand as a verifier from
    /// another stack would read them.
    fn claims(&self) -> Value {
        let now = now();
        json!({
            "iss": "agentsec", "aud": "agentsec:tool",
            "sub": "alice", "tenant": "acme", "roles": [],
            "agent": "support", "run": self.run, "call": self.call, "step": 1,
            "tool": "list_orders", "effects": ["read:orders"], "scope": "user",
            "iat": now, "exp": now + 30,
            "jti": uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    fn verify(&self, token: &str) -> Result<(), GrantError> {
        self.authority
            .verify(
                token,
                &GrantExpectation {
                    spec: &LIST_ORDERS,
                    run: self.run,
                    call: self.call,
                },
            )
            .map(drop)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Signed by the `jsonwebtoken` crate.
fn library_token(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(GRANT_KEY),
    )
    .unwrap()
}

/// Header and payload taken byte for byte, HMAC-SHA256 computed here.
fn hand_token(header: &str, payload: &str) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(GRANT_KEY).unwrap();
    mac.update(message.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(tag))
}

#[test]
fn the_independent_tokens_are_accepted_when_valid() {
    let f = Fixture::new();
    assert_eq!(f.verify(&library_token(&f.claims())), Ok(()));
    let f = Fixture::new();
    let header = r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#;
    assert_eq!(
        f.verify(&hand_token(header, &f.claims().to_string())),
        Ok(())
    );
}

#[test]
fn a_future_iat_does_not_extend_a_grant() {
    let f = Fixture::new();
    // Issued an hour ahead, living 30 s from then: accepted for an hour before.
    let mut ahead = f.claims();
    ahead["iat"] = json!(now() + 3600);
    ahead["exp"] = json!(now() + 3630);
    assert!(matches!(
        f.verify(&library_token(&ahead)),
        Err(GrantError::Malformed(m)) if m.contains("future")
    ));
    // iat = exp = now + 1e9: a lifetime of zero counted from iat.
    let mut far = f.claims();
    far["iat"] = json!(now() + 1_000_000_000);
    far["exp"] = json!(now() + 1_000_000_000);
    assert!(f.verify(&library_token(&far)).is_err());
    // An honest iat but an exp further than 60 s from now.
    let mut long = f.claims();
    long["iat"] = json!(now());
    long["exp"] = json!(now() + 61);
    assert_eq!(f.verify(&library_token(&long)), Err(GrantError::TooLong));
}

#[test]
fn a_crit_header_is_refused() {
    let f = Fixture::new();
    let payload = f.claims().to_string();
    for header in [
        r#"{"alg":"HS256","typ":"JWT","crit":["urn:example:unknown"],"urn:example:unknown":1}"#,
        r#"{"alg":"HS256","crit":["exp"]}"#,
        r#"{"alg":"HS256","crit":[]}"#,
    ] {
        assert!(
            matches!(f.verify(&hand_token(header, &payload)), Err(GrantError::Malformed(m)) if m.contains("crit")),
            "{header}"
        );
    }
}

#[test]
fn an_oversized_grant_is_refused_before_decoding() {
    let f = Fixture::new();
    let mut claims = f.claims();
    claims["padding"] = json!("x".repeat(1024 * 1024));
    let token = library_token(&claims);
    let started = Instant::now();
    assert!(matches!(
        f.verify(&token),
        Err(GrantError::Malformed(m)) if m.contains(&MAX_GRANT_BYTES.to_string())
    ));
    // Refused on its length: no base64, no HMAC over a megabyte.
    assert!(
        started.elapsed().as_millis() < 50,
        "{:?}",
        started.elapsed()
    );
    // A grant near the limit is still read.
    let mut near = f.claims();
    near["padding"] = json!("x".repeat(MAX_GRANT_BYTES / 2));
    assert_eq!(f.verify(&library_token(&near)), Ok(()));
}

#[test]
fn a_grant_is_refused_in_the_second_of_its_exp() {
    let f = Fixture::new();
    let mut claims = f.claims();
    let now = now();
    claims["iat"] = json!(now - 30);
    claims["exp"] = json!(now);
    assert_eq!(f.verify(&library_token(&claims)), Err(GrantError::Expired));
}

#[test]
fn duplicate_claim_names_are_refused() {
    let f = Fixture::new();
    let claims = f.claims().to_string();
    for (name, value) in [("sub", "\"bob\""), ("tenant", "\"other\""), ("exp", "1")] {
        let doubled = format!("{},\"{name}\":{value}}}", &claims[..claims.len() - 1]);
        assert!(
            f.verify(&hand_token(r#"{"alg":"HS256"}"#, &doubled))
                .is_err(),
            "a second `{name}` was accepted"
        );
    }
}

#[test]
fn dates_beyond_two_to_the_53_are_refused() {
    let f = Fixture::new();
    let mut claims = f.claims();
    // 2^63 + 1 for both: exp - iat = 0, and exp is "in the future".
    claims["iat"] = json!(9_223_372_036_854_775_809u64);
    claims["exp"] = json!(9_223_372_036_854_775_809u64);
    assert!(matches!(
        f.verify(&library_token(&claims)),
        Err(GrantError::Malformed(m)) if m.contains("2^53")
    ));
}

#[test]
fn debug_of_a_grant_does_not_print_the_bearer_token() {
    let authority = GrantAuthority::new(GRANT_KEY).unwrap();
    let user = UserIdentity::new("alice");
    let grant = authority
        .mint(&GrantRequest {
            user: &user,
            agent: "support",
            run: RunId::new(),
            call: CallId::new(),
            step: 1,
            spec: &LIST_ORDERS,
        })
        .unwrap();
    let shown = format!("{grant:?}");
    let signature = grant.token.rsplit('.').next().unwrap();
    assert!(!shown.contains(signature), "{shown}");
    assert!(!shown.contains(&grant.token));
    assert!(shown.contains("alice"));
}
