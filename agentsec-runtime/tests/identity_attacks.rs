//! Attacks on the session JWT: every token the authenticator must refuse is
//! refused with the right typed error, and nothing panics.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentsec_runtime::identity::{AuthError, JwtAlgorithm, JwtAuthenticator};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const RSA_PRIVATE: &[u8] = include_bytes!("fixtures/keys/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("fixtures/keys/rsa_public.pem");
const RSA_OTHER_PRIVATE: &[u8] = include_bytes!("fixtures/keys/rsa_other_private.pem");
const EC_PRIVATE: &[u8] = include_bytes!("fixtures/keys/ec_private.pem");
const EC_PUBLIC: &[u8] = include_bytes!("fixtures/keys/ec_public.pem");
const ED_PRIVATE: &[u8] = include_bytes!("fixtures/keys/ed25519_private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("fixtures/keys/ed25519_public.pem");
const HMAC_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-session";

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "shop";
/// A fixed "now" so time checks do not depend on the clock.
const NOW: u64 = 1_900_000_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "tenant": "acme",
        "roles": ["support", "billing"],
        "sid": "session-1",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 600,
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims
        .as_object_mut()
        .expect("claims are an object")
        .remove(name);
    claims
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("test token signs")
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PRIVATE).expect("fixture RSA key")
}

fn hs256() -> JwtAuthenticator {
    JwtAuthenticator::builder(JwtAlgorithm::Hs256)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .hmac_secret(HMAC_SECRET)
        .build()
        .expect("valid configuration")
}

fn rs256() -> JwtAuthenticator {
    JwtAuthenticator::builder(JwtAlgorithm::Rs256)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .public_key_pem(RSA_PUBLIC)
        .build()
        .expect("valid configuration")
}

fn hs_token(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(HMAC_SECRET),
        None,
        claims,
    )
}

/// A token assembled by hand, for shapes no JWT library would produce.
fn raw_token(header: &Value, payload: &str, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[test]
fn valid_tokens_of_every_pinned_algorithm_are_accepted() {
    let cases: [(JwtAlgorithm, Algorithm, EncodingKey, &[u8]); 3] = [
        (JwtAlgorithm::Rs256, Algorithm::RS256, rsa_key(), RSA_PUBLIC),
        (
            JwtAlgorithm::Es256,
            Algorithm::ES256,
            EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
            EC_PUBLIC,
        ),
        (
            JwtAlgorithm::EdDsa,
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
            ED_PUBLIC,
        ),
    ];
    for (pinned, alg, key, public) in cases {
        let auth = JwtAuthenticator::builder(pinned)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .public_key_pem(public)
            .build()
            .unwrap();
        let user = auth
            .authenticate_at(&sign(alg, &key, None, &claims()), now())
            .unwrap_or_else(|e| panic!("{pinned}: {e}"));
        assert_eq!(user.id, "alice");
    }

    let user = hs256()
        .authenticate_at(&hs_token(&claims()), now())
        .unwrap();
    assert_eq!(user.id, "alice");
    assert_eq!(user.tenant.as_deref(), Some("acme"));
    assert_eq!(user.roles, ["support", "billing"]);
    assert_eq!(user.session.as_deref(), Some("session-1"));
}

#[test]
fn alg_none_is_refused_in_any_case() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = raw_token(
            &json!({ "alg": alg, "typ": "JWT" }),
            &claims().to_string(),
            b"",
        );
        // Also without the trailing signature part's content.
        assert_eq!(
            hs256().authenticate_at(&token, now()),
            Err(AuthError::Unsigned)
        );
        assert_eq!(
            rs256().authenticate_at(&token, now()),
            Err(AuthError::Unsigned)
        );
    }
}

#[test]
fn hs256_token_signed_with_the_rsa_public_key_is_refused_by_an_rs256_authenticator() {
    // The classic confusion: the attacker knows the public key and uses its
    // PEM text as an HMAC secret.
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(RSA_PUBLIC),
        None,
        &with(claims(), "sub", json!("admin")),
    );
    assert_eq!(
        rs256().authenticate_at(&forged, now()),
        Err(AuthError::AlgorithmNotAllowed {
            expected: JwtAlgorithm::Rs256,
            found: "HS256".into()
        })
    );
}

#[test]
fn a_token_of_another_algorithm_is_refused_before_its_signature() {
    let rs_token = sign(Algorithm::RS256, &rsa_key(), None, &claims());
    assert_eq!(
        hs256().authenticate_at(&rs_token, now()),
        Err(AuthError::AlgorithmNotAllowed {
            expected: JwtAlgorithm::Hs256,
            found: "RS256".into()
        })
    );
    // Same family, other hash: still refused.
    let rs384 = sign(Algorithm::RS384, &rsa_key(), None, &claims());
    assert!(matches!(
        rs256().authenticate_at(&rs384, now()),
        Err(AuthError::AlgorithmNotAllowed { .. })
    ));
}

#[test]
fn expired_tokens_are_refused_within_at_most_five_seconds_of_leeway() {
    let auth = hs256(); // default leeway: 5 s
    let expired = hs_token(&with(claims(), "exp", json!(NOW - 6)));
    assert_eq!(
        auth.authenticate_at(&expired, now()),
        Err(AuthError::Expired)
    );
    let within_leeway = hs_token(&with(claims(), "exp", json!(NOW - 4)));
    assert!(auth.authenticate_at(&within_leeway, now()).is_ok());

    let strict = JwtAuthenticator::builder(JwtAlgorithm::Hs256)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .leeway(Duration::ZERO)
        .hmac_secret(HMAC_SECRET)
        .build()
        .unwrap();
    let at_exp = hs_token(&with(claims(), "exp", json!(NOW)));
    assert_eq!(
        strict.authenticate_at(&at_exp, now()),
        Err(AuthError::Expired)
    );
    // The real clock is used by `authenticate`: a token that expired in 2001 is refused.
    let ancient = hs_token(&with(claims(), "exp", json!(1_000_000_000u64)));
    assert_eq!(auth.authenticate(&ancient), Err(AuthError::Expired));
}

#[test]
fn tokens_not_yet_valid_are_refused() {
    let early = hs_token(&with(claims(), "nbf", json!(NOW + 60)));
    assert_eq!(
        hs256().authenticate_at(&early, now()),
        Err(AuthError::NotYetValid)
    );
    let just_inside_leeway = hs_token(&with(claims(), "nbf", json!(NOW + 5)));
    assert!(hs256().authenticate_at(&just_inside_leeway, now()).is_ok());
}

#[test]
fn a_leeway_above_five_seconds_is_a_configuration_error() {
    let result = JwtAuthenticator::builder(JwtAlgorithm::Hs256)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .leeway(Duration::from_secs(6))
        .hmac_secret(HMAC_SECRET)
        .build();
    assert!(matches!(result, Err(AuthError::Config(m)) if m.contains("leeway")));
}

#[test]
fn wrong_issuer_or_audience_is_refused() {
    let auth = hs256();
    let wrong_iss = hs_token(&with(claims(), "iss", json!("https://evil.example")));
    assert_eq!(
        auth.authenticate_at(&wrong_iss, now()),
        Err(AuthError::WrongIssuer)
    );
    let wrong_aud = hs_token(&with(claims(), "aud", json!("another-app")));
    assert_eq!(
        auth.authenticate_at(&wrong_aud, now()),
        Err(AuthError::WrongAudience)
    );
    let aud_list_without_us = hs_token(&with(claims(), "aud", json!(["a", "b"])));
    assert_eq!(
        auth.authenticate_at(&aud_list_without_us, now()),
        Err(AuthError::WrongAudience)
    );
    let aud_list_with_us = hs_token(&with(claims(), "aud", json!(["a", AUDIENCE])));
    assert!(auth.authenticate_at(&aud_list_with_us, now()).is_ok());
}

#[test]
fn each_required_claim_is_required() {
    for claim in ["exp", "iss", "aud", "sub"] {
        let token = hs_token(&without(claims(), claim));
        assert_eq!(
            hs256().authenticate_at(&token, now()),
            Err(AuthError::MissingClaim(claim.into())),
            "{claim}"
        );
        let null = hs_token(&with(claims(), claim, Value::Null));
        assert_eq!(
            hs256().authenticate_at(&null, now()),
            Err(AuthError::MissingClaim(claim.into())),
            "{claim}: null"
        );
    }
}

#[test]
fn claims_of_the_wrong_type_are_refused() {
    let cases = [
        ("exp", json!((NOW + 600).to_string())),
        ("nbf", json!((NOW - 10).to_string())),
        ("exp", json!(-5)),
        ("iat", json!("yesterday")),
        ("iss", json!([ISSUER])),
        ("aud", json!(42)),
        ("sub", json!(7)),
        ("sub", json!("")),
        ("tenant", json!(["acme"])),
        ("roles", json!({"admin": true})),
        ("roles", json!(["support", 1])),
        ("sid", json!(12)),
    ];
    for (claim, value) in cases {
        let token = hs_token(&with(claims(), claim, value.clone()));
        match hs256().authenticate_at(&token, now()) {
            Err(AuthError::InvalidClaim { claim: c, .. }) => assert_eq!(c, claim),
            other => panic!("{claim} = {value}: {other:?}"),
        }
    }
}

#[test]
fn a_tampered_payload_fails_the_signature() {
    for auth_and_token in [
        (hs256(), hs_token(&claims())),
        (rs256(), sign(Algorithm::RS256, &rsa_key(), None, &claims())),
    ] {
        let (auth, token) = auth_and_token;
        let parts: Vec<&str> = token.split('.').collect();
        let tampered_claims = with(claims(), "sub", json!("admin"));
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(tampered_claims.to_string()),
            parts[2]
        );
        assert_eq!(
            auth.authenticate_at(&tampered, now()),
            Err(AuthError::InvalidSignature)
        );
    }
}

#[test]
fn a_token_signed_by_an_unknown_key_is_refused() {
    let other = EncodingKey::from_rsa_pem(RSA_OTHER_PRIVATE).unwrap();
    let token = sign(Algorithm::RS256, &other, None, &claims());
    assert_eq!(
        rs256().authenticate_at(&token, now()),
        Err(AuthError::InvalidSignature)
    );
    let hs_other = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!"),
        None,
        &claims(),
    );
    assert_eq!(
        hs256().authenticate_at(&hs_other, now()),
        Err(AuthError::InvalidSignature)
    );
}

fn jwks_authenticator() -> JwtAuthenticator {
    let mut primary = Jwk::from_encoding_key(&rsa_key(), Algorithm::RS256).unwrap();
    primary.common.key_id = Some("k1".into());
    let mut other = Jwk::from_encoding_key(
        &EncodingKey::from_rsa_pem(RSA_OTHER_PRIVATE).unwrap(),
        Algorithm::RS256,
    )
    .unwrap();
    other.common.key_id = Some("k2".into());
    // An EC key in the same document is skipped by an RS256 authenticator.
    let mut ec = Jwk::from_encoding_key(
        &EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
        Algorithm::ES256,
    )
    .unwrap();
    ec.common.key_id = Some("k3".into());
    let set = JwkSet {
        keys: vec![primary, other, ec],
    };
    JwtAuthenticator::builder(JwtAlgorithm::Rs256)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .jwks_json(&serde_json::to_string(&set).unwrap())
        .build()
        .unwrap()
}

#[test]
fn jwks_keys_are_selected_by_kid() {
    let auth = jwks_authenticator();
    let good = sign(Algorithm::RS256, &rsa_key(), Some("k1"), &claims());
    assert_eq!(auth.authenticate_at(&good, now()).unwrap().id, "alice");

    // Signed by k1's key but naming k2: the signature does not verify.
    let wrong_kid = sign(Algorithm::RS256, &rsa_key(), Some("k2"), &claims());
    assert_eq!(
        auth.authenticate_at(&wrong_kid, now()),
        Err(AuthError::InvalidSignature)
    );
    // The skipped EC key's id is unknown to the RS256 authenticator.
    let unknown = sign(Algorithm::RS256, &rsa_key(), Some("k3"), &claims());
    assert_eq!(
        auth.authenticate_at(&unknown, now()),
        Err(AuthError::UnknownKey { kid: "k3".into() })
    );
    let no_kid = sign(Algorithm::RS256, &rsa_key(), None, &claims());
    assert_eq!(
        auth.authenticate_at(&no_kid, now()),
        Err(AuthError::MissingKeyId)
    );
}

#[test]
fn a_jwks_without_a_usable_key_is_a_configuration_error() {
    let mut ec = Jwk::from_encoding_key(
        &EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
        Algorithm::ES256,
    )
    .unwrap();
    ec.common.key_id = Some("ec".into());
    let set = serde_json::to_string(&JwkSet { keys: vec![ec] }).unwrap();
    let result = JwtAuthenticator::builder(JwtAlgorithm::Rs256)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .jwks_json(&set)
        .build();
    assert!(matches!(result, Err(AuthError::Config(_))));
}

#[test]
fn configuration_errors_are_reported() {
    let base = || JwtAuthenticator::builder(JwtAlgorithm::Hs256);
    let cases = [
        base().audience(AUDIENCE).hmac_secret(HMAC_SECRET).build(),
        base().issuer(ISSUER).hmac_secret(HMAC_SECRET).build(),
        base().issuer(ISSUER).audience(AUDIENCE).build(),
        base()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .hmac_secret(b"short")
            .build(),
        base()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .public_key_pem(RSA_PUBLIC)
            .build(),
        JwtAuthenticator::builder(JwtAlgorithm::Rs256)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .hmac_secret(HMAC_SECRET)
            .build(),
        JwtAuthenticator::builder(JwtAlgorithm::Es256)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .public_key_pem(RSA_PUBLIC)
            .build(),
        JwtAuthenticator::builder(JwtAlgorithm::Rs256)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .jwks_json("{not json")
            .build(),
    ];
    for (i, case) in cases.into_iter().enumerate() {
        assert!(
            matches!(case, Err(AuthError::Config(_))),
            "case {i}: {case:?}"
        );
    }
}

#[test]
fn tenant_and_roles_claims_are_configurable() {
    let auth = JwtAuthenticator::builder(JwtAlgorithm::Hs256)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .tenant_claim("org_id")
        .roles_claim("/realm_access/roles")
        .session_claim("session")
        .hmac_secret(HMAC_SECRET)
        .build()
        .unwrap();
    let mut c = claims();
    c["org_id"] = json!("globex");
    c["realm_access"] = json!({ "roles": ["admin"] });
    c["session"] = json!("s-9");
    let user = auth.authenticate_at(&hs_token(&c), now()).unwrap();
    assert_eq!(user.tenant.as_deref(), Some("globex"));
    assert_eq!(user.roles, ["admin"]);
    assert_eq!(user.session.as_deref(), Some("s-9"));

    // Space-separated roles (an OAuth `scope`-like claim) are split.
    let spaced = hs_token(&with(claims(), "roles", json!("support billing")));
    assert_eq!(
        hs256().authenticate_at(&spaced, now()).unwrap().roles,
        ["support", "billing"]
    );
}

#[test]
fn garbage_never_panics_and_is_refused() {
    let long = "a".repeat(20_000);
    let valid = hs_token(&claims());
    let mut garbage: Vec<String> = vec![
        String::new(),
        "   ".into(),
        ".".into(),
        "..".into(),
        "...".into(),
        "a.b.c".into(),
        "a.b".into(),
        "a.b.c.d".into(),
        long,
        "é.ü.ß".into(),
        format!("{valid}."),
        format!(".{valid}"),
        valid.replace('.', ""),
        raw_token(&json!(["alg", "HS256"]), "{}", b"x"),
        raw_token(&json!({ "alg": 256 }), "{}", b"x"),
        raw_token(&json!({ "alg": "HS256", "kid": 5 }), "{}", b"x"),
        raw_token(&json!({ "alg": "HS256" }), "not json", b"x"),
        raw_token(&json!({ "alg": "HS256" }), "[1,2,3]", b"x"),
        raw_token(&json!({ "alg": "RS256" }), &claims().to_string(), &[0; 300]),
        raw_token(&json!({ "alg": "A".repeat(5000) }), "{}", b""),
    ];
    garbage.push(format!(
        "{}.{}.%%%",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    ));
    for auth in [hs256(), rs256(), jwks_authenticator()] {
        for token in &garbage {
            let result = auth.authenticate_at(token, now());
            assert!(result.is_err(), "{token:.40}… was accepted");
            // Errors echo at most 200 bytes of an attacker string.
            assert!(result.unwrap_err().to_string().len() < 300);
        }
    }
    assert_eq!(hs256().authenticate_at("", now()), Err(AuthError::Missing));
}

#[test]
fn debug_output_holds_no_key_material() {
    let auth = hs256();
    let debug = format!("{auth:?}");
    assert!(!debug.contains("0123456789abcdef"), "{debug}");
    assert!(debug.contains("Hs256"));
}

#[test]
fn jwks_keys_work_for_es256_and_eddsa() {
    let cases = [
        (
            JwtAlgorithm::Es256,
            Algorithm::ES256,
            EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
        ),
        (
            JwtAlgorithm::EdDsa,
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
        ),
    ];
    for (pinned, alg, key) in cases {
        let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        jwk.common.key_id = Some("current".into());
        let mut rsa = Jwk::from_encoding_key(&rsa_key(), Algorithm::RS256).unwrap();
        rsa.common.key_id = Some("rsa".into());
        let set = serde_json::to_string(&JwkSet {
            keys: vec![rsa, jwk],
        })
        .unwrap();
        let auth = JwtAuthenticator::builder(pinned)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .jwks_json(&set)
            .build()
            .unwrap();
        let token = sign(alg, &key, Some("current"), &claims());
        assert_eq!(auth.authenticate_at(&token, now()).unwrap().id, "alice");
        // The RSA key in the same document is not usable for this algorithm.
        let rs = sign(Algorithm::RS256, &rsa_key(), Some("rsa"), &claims());
        assert!(matches!(
            auth.authenticate_at(&rs, now()),
            Err(AuthError::AlgorithmNotAllowed { .. })
        ));
        let forged = sign(alg, &key, Some("rsa"), &claims());
        assert_eq!(
            auth.authenticate_at(&forged, now()),
            Err(AuthError::UnknownKey { kid: "rsa".into() })
        );
    }
}
