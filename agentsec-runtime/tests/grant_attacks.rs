//! Attacks on the scoped grant: forged, altered, stale, replayed or
//! misdirected grants are refused with the right typed error.

use std::time::{SystemTime, UNIX_EPOCH};

use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
use agentsec_runtime::permission::{
    GrantAuthority, GrantClaims, GrantError, GrantExpectation, GrantRequest,
};
use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const GRANT_KEY: &[u8] = b"grant-key-of-at-least-thirty-two-bytes";
const RSA_PRIVATE: &[u8] = include_bytes!("fixtures/keys/rsa_private.pem");

const LIST_ORDERS: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "orders")],
    scope: Some(Scope::User),
    pure: false,
    ..ToolSpec::new("list_orders", "List the user's orders.")
};

const REFUND: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Write, "payments")],
    scope: Some(Scope::User),
    pure: false,
    ..ToolSpec::new("refund_order", "Refund an order.")
};

struct Fixture {
    authority: GrantAuthority,
    user: UserIdentity,
    run: RunId,
    call: CallId,
}

impl Fixture {
    fn new() -> Self {
        Self {
            authority: GrantAuthority::new(GRANT_KEY).unwrap(),
            user: UserIdentity::new("alice").with_tenant("acme"),
            run: RunId::new(),
            call: CallId::new(),
        }
    }

    fn mint(&self, spec: &ToolSpec) -> GrantClaims {
        self.authority
            .mint(&GrantRequest {
                user: &self.user,
                agent: "support",
                run: self.run,
                call: self.call,
                step: 1,
                spec,
            })
            .unwrap()
            .claims
    }

    fn verify(&self, token: &str) -> Result<GrantClaims, GrantError> {
        self.authority.verify(
            token,
            &GrantExpectation {
                spec: &LIST_ORDERS,
                run: self.run,
                call: self.call,
            },
        )
    }

    /// Valid claims for LIST_ORDERS as JSON, to alter one field.
    fn claims_json(&self) -> Value {
        serde_json::to_value(self.mint(&LIST_ORDERS)).unwrap()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Signs arbitrary JSON with the grant key by an independent path (the
/// `jsonwebtoken` crate), as an insider with the key could; the checks
/// after the signature must still hold.
fn hs_sign(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(GRANT_KEY),
    )
    .unwrap()
}

fn raw_token(header: &Value, payload: &str, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[test]
fn a_minted_grant_is_accepted_once() {
    let f = Fixture::new();
    let token = hs_sign(&serde_json::to_value(f.mint(&LIST_ORDERS)).unwrap());
    assert_eq!(f.verify(&token).unwrap().sub, "alice");
    assert_eq!(f.verify(&token), Err(GrantError::Replayed));
}

#[test]
fn a_replayed_jti_is_refused_even_in_a_fresh_token() {
    let f = Fixture::new();
    let claims = f.mint(&LIST_ORDERS);
    let first = hs_sign(&serde_json::to_value(claims.clone()).unwrap());
    assert!(f.verify(&first).is_ok());
    // Same jti, different iat: a different token string, still a replay.
    let again = GrantClaims {
        iat: claims.iat - 1,
        ..claims
    };
    let second = hs_sign(&serde_json::to_value(again).unwrap());
    assert_ne!(first, second);
    assert_eq!(f.verify(&second), Err(GrantError::Replayed));
}

#[test]
fn alg_none_is_refused() {
    let f = Fixture::new();
    for alg in ["none", "None", "NONE"] {
        let token = raw_token(
            &json!({ "alg": alg, "typ": "JWT" }),
            &f.claims_json().to_string(),
            b"",
        );
        assert_eq!(f.verify(&token), Err(GrantError::WrongAlgorithm), "{alg}");
    }
}

#[test]
fn grants_signed_with_another_algorithm_are_refused() {
    let f = Fixture::new();
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap();
    let rs = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &f.claims_json(), &rsa).unwrap();
    assert_eq!(f.verify(&rs), Err(GrantError::WrongAlgorithm));
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &f.claims_json(),
        &EncodingKey::from_secret(GRANT_KEY),
    )
    .unwrap();
    assert_eq!(f.verify(&hs512), Err(GrantError::WrongAlgorithm));
}

#[test]
fn a_grant_signed_with_another_key_is_refused() {
    let f = Fixture::new();
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &f.mint(&LIST_ORDERS),
        &EncodingKey::from_secret(b"another-grant-key-of-thirty-two-bytes!"),
    )
    .unwrap();
    assert_eq!(f.verify(&token), Err(GrantError::InvalidSignature));
}

#[test]
fn a_tampered_grant_is_refused() {
    let f = Fixture::new();
    let token = hs_sign(&serde_json::to_value(f.mint(&LIST_ORDERS)).unwrap());
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = f.claims_json();
    claims["sub"] = json!("bob");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert_eq!(f.verify(&tampered), Err(GrantError::InvalidSignature));
}

#[test]
fn an_expired_grant_is_refused() {
    let f = Fixture::new();
    let mut claims = f.claims_json();
    claims["iat"] = json!(now() - 120);
    claims["exp"] = json!(now() - 60);
    assert_eq!(f.verify(&hs_sign(&claims)), Err(GrantError::Expired));
}

#[test]
fn a_grant_not_yet_valid_is_refused() {
    let f = Fixture::new();
    let mut claims = f.claims_json();
    claims["nbf"] = json!(now() + 30);
    assert!(matches!(
        f.verify(&hs_sign(&claims)),
        Err(GrantError::Malformed(m)) if m.contains("not yet valid")
    ));
}

#[test]
fn a_grant_living_longer_than_a_minute_is_refused() {
    let f = Fixture::new();
    let mut claims = f.claims_json();
    claims["exp"] = json!(now() + 3600);
    assert_eq!(f.verify(&hs_sign(&claims)), Err(GrantError::TooLong));
}

#[test]
fn a_grant_from_another_issuer_or_for_another_audience_is_refused() {
    let f = Fixture::new();
    for (claim, value) in [("iss", "evil"), ("aud", "agentsec:admin")] {
        let mut claims = f.claims_json();
        claims[claim] = json!(value);
        assert_eq!(
            f.verify(&hs_sign(&claims)),
            Err(GrantError::WrongIssuer),
            "{claim}"
        );
    }
}

#[test]
fn each_required_claim_is_required() {
    let f = Fixture::new();
    for claim in [
        "exp", "iat", "iss", "aud", "sub", "jti", "tool", "run", "call",
    ] {
        let mut claims = f.claims_json();
        claims.as_object_mut().unwrap().remove(claim);
        assert!(
            matches!(f.verify(&hs_sign(&claims)), Err(GrantError::Malformed(_))),
            "{claim}"
        );
    }
}

#[test]
fn exp_given_as_a_string_is_refused() {
    let f = Fixture::new();
    let mut claims = f.claims_json();
    claims["exp"] = json!((now() + 30).to_string());
    assert!(matches!(
        f.verify(&hs_sign(&claims)),
        Err(GrantError::Malformed(_))
    ));
}

#[test]
fn a_grant_for_another_tool_run_or_call_is_refused() {
    let f = Fixture::new();
    let refund = hs_sign(&serde_json::to_value(f.mint(&REFUND)).unwrap());
    assert_eq!(
        f.verify(&refund),
        Err(GrantError::WrongTool {
            granted: "refund_order".into(),
            called: "list_orders".into()
        })
    );

    let other_run = GrantClaims {
        run: RunId::new(),
        ..f.mint(&LIST_ORDERS)
    };
    assert_eq!(
        f.verify(&hs_sign(&serde_json::to_value(other_run).unwrap())),
        Err(GrantError::WrongRun)
    );

    let other_call = GrantClaims {
        call: CallId::new(),
        ..f.mint(&LIST_ORDERS)
    };
    assert_eq!(
        f.verify(&hs_sign(&serde_json::to_value(other_call).unwrap())),
        Err(GrantError::WrongCall)
    );
}

#[test]
fn a_grant_missing_an_effect_or_with_another_scope_is_refused() {
    let f = Fixture::new();
    let fewer = GrantClaims {
        effects: vec![],
        ..f.mint(&LIST_ORDERS)
    };
    assert_eq!(
        f.verify(&hs_sign(&serde_json::to_value(fewer).unwrap())),
        Err(GrantError::EffectNotGranted("read:orders".into()))
    );
    let wider = GrantClaims {
        scope: Some(Scope::Global),
        ..f.mint(&LIST_ORDERS)
    };
    assert_eq!(
        f.verify(&hs_sign(&serde_json::to_value(wider).unwrap())),
        Err(GrantError::ScopeMismatch)
    );
}

#[test]
fn garbage_never_panics_and_is_refused() {
    let f = Fixture::new();
    assert_eq!(f.verify(""), Err(GrantError::Missing));
    let garbage = [
        ".".to_owned(),
        "..".into(),
        "a.b.c".into(),
        "a.b.c.d".into(),
        "x".repeat(50_000),
        "é.ü.ß".into(),
        raw_token(&json!({ "alg": "HS256" }), "not json", b"sig"),
        raw_token(&json!({ "alg": "HS256" }), "[]", b"sig"),
        raw_token(&json!([1]), "{}", b"sig"),
        raw_token(&json!({ "alg": 5 }), "{}", b"sig"),
    ];
    for token in &garbage {
        assert!(f.verify(token).is_err(), "{token:.40}");
    }
}
