//! Session tokens by the RFCs (issue 12, point 2), minted by an independent
//! path: the `jsonwebtoken` crate, or HMAC-SHA256 by hand over hand-written
//! parts.

use std::time::{Duration, UNIX_EPOCH};

use agentsec_runtime::identity::{AuthError, JwtAlgorithm, JwtAuthenticator};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-session";
const NOW: u64 = 1_900_000_000;

fn auth() -> JwtAuthenticator {
    JwtAuthenticator::builder(JwtAlgorithm::Hs256)
        .issuer("https://auth.example.com")
        .audience("shop")
        .hmac_secret(SECRET)
        .tenant_claim("org")
        .build()
        .unwrap()
}

fn check(token: &str) -> Result<agentsec_runtime::identity::UserIdentity, AuthError> {
    auth().authenticate_at(token, UNIX_EPOCH + Duration::from_secs(NOW))
}

/// What a provider that omits `nbf` issues.
fn claims() -> Value {
    json!({
        "iss": "https://auth.example.com", "aud": "shop", "sub": "alice",
        "org": "acme", "roles": ["support"], "iat": NOW - 10, "exp": NOW + 600,
    })
}

fn library_token(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn hand_token(header: &str, payload: &str) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(message.as_bytes());
    format!(
        "{message}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn a_token_without_nbf_is_accepted_and_nbf_is_checked_when_present() {
    let user = check(&library_token(&claims())).unwrap();
    assert_eq!(user.id, "alice");
    assert_eq!(user.tenant.as_deref(), Some("acme"));
    let mut early = claims();
    early["nbf"] = json!(NOW + 60);
    assert_eq!(check(&library_token(&early)), Err(AuthError::NotYetValid));
}

#[test]
fn a_token_issued_in_the_future_is_refused() {
    let mut ahead = claims();
    ahead["iat"] = json!(NOW + 3600);
    assert!(matches!(
        check(&library_token(&ahead)),
        Err(AuthError::InvalidClaim { claim, .. }) if claim == "iat"
    ));
    // Within the leeway, the clocks are allowed to disagree.
    let mut skew = claims();
    skew["iat"] = json!(NOW + 5);
    assert!(check(&library_token(&skew)).is_ok());
}

#[test]
fn duplicate_org_or_roles_claims_are_refused() {
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let body = claims().to_string();
    let open = &body[..body.len() - 1];
    for extra in [r#""org":"other""#, r#""roles":["admin"]"#, r#""sub":"bob""#] {
        let token = hand_token(header, &format!("{open},{extra}}}"));
        assert!(
            matches!(check(&token), Err(AuthError::Malformed(m)) if m.contains("twice")),
            "{extra} was accepted"
        );
    }
    // The same payload without the duplicate is fine (the signer is right).
    assert!(check(&hand_token(header, &body)).is_ok());
}

#[test]
fn dates_beyond_two_to_the_53_are_refused() {
    for name in ["exp", "iat", "nbf"] {
        let mut huge = claims();
        huge[name] = json!(9_223_372_036_854_775_809u64);
        assert!(
            matches!(check(&library_token(&huge)), Err(AuthError::InvalidClaim { claim, .. }) if claim == name),
            "{name}"
        );
    }
    let mut float = claims();
    float["exp"] = json!(1.0e17);
    assert!(check(&library_token(&float)).is_err());
}

#[test]
fn an_empty_tenant_is_refused_not_read_as_no_tenant() {
    let mut empty = claims();
    empty["org"] = json!("");
    assert!(matches!(
        check(&library_token(&empty)),
        Err(AuthError::InvalidClaim { claim, .. }) if claim == "org"
    ));
    // No tenant claim at all still means no tenant.
    let mut none = claims();
    none.as_object_mut().unwrap().remove("org");
    assert_eq!(check(&library_token(&none)).unwrap().tenant, None);
}

#[test]
fn a_crit_header_is_refused() {
    let body = claims().to_string();
    for header in [
        r#"{"alg":"HS256","crit":["urn:example:must-understand"],"urn:example:must-understand":true}"#,
        r#"{"alg":"HS256","crit":[]}"#,
    ] {
        assert!(
            matches!(check(&hand_token(header, &body)), Err(AuthError::Malformed(m)) if m.contains("crit")),
            "{header}"
        );
    }
}

#[test]
fn a_token_is_refused_from_the_second_of_its_exp() {
    let strict = JwtAuthenticator::builder(JwtAlgorithm::Hs256)
        .issuer("https://auth.example.com")
        .audience("shop")
        .hmac_secret(SECRET)
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    let mut at_exp = claims();
    at_exp["exp"] = json!(NOW);
    let at = UNIX_EPOCH + Duration::from_secs(NOW);
    assert_eq!(
        strict.authenticate_at(&library_token(&at_exp), at),
        Err(AuthError::Expired)
    );
    at_exp["exp"] = json!(NOW + 1);
    assert!(strict.authenticate_at(&library_token(&at_exp), at).is_ok());
}

#[test]
fn a_kid_with_a_newline_comes_back_escaped() {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1\nERROR forged log line\r\u{1b}[2J".into());
    let token =
        jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(SECRET)).unwrap();
    let keyed = JwtAuthenticator::builder(JwtAlgorithm::Hs256)
        .issuer("https://auth.example.com")
        .audience("shop")
        .hmac_secret_with_id("k2", SECRET)
        .build()
        .unwrap();
    let err = keyed
        .authenticate_at(&token, UNIX_EPOCH + Duration::from_secs(NOW))
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, AuthError::UnknownKey { .. }));
    assert!(!message.chars().any(char::is_control), "{message:?}");
    assert!(
        message.contains("k1\\nERROR forged log line\\r\\u{1b}[2J"),
        "{message}"
    );
}
