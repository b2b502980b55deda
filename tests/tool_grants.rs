//! A tool runs only under a scoped grant minted for exactly that call: every
//! forged, expired, replayed or mismatched grant is refused before the body
//! runs, with a typed error.

mod common;

use agentsec::permission::{GrantAuthority, GrantClaims, GrantError};
use agentsec::prelude::*;
use common::*;

fn grant_error(result: Result<serde_json::Value, ToolError>) -> GrantError {
    match result {
        Err(ToolError::Grant { source, .. }) => source,
        other => panic!("expected a grant error, got {other:?}"),
    }
}

/// Valid claims for `call` of `list_orders`, to be altered one at a time.
fn claims_for(call: &CallContext, tool: &str) -> GrantClaims {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    GrantClaims {
        iss: "agentsec".into(),
        aud: "agentsec:tool".into(),
        sub: call.user.id.clone(),
        tenant: call.user.tenant.clone(),
        roles: vec![],
        agent: call.agent.clone(),
        run: call.run_id,
        call: call.call_id,
        step: call.step,
        tool: tool.into(),
        effects: vec!["read:orders".into()],
        scope: Some(agentsec::Scope::User),
        iat: now,
        exp: now + 30,
        jti: uuid_like(),
    }
}

fn uuid_like() -> String {
    RunId::new().as_uuid().simple().to_string()
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn a_correct_grant_runs_the_tool() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let grant = dispatcher
        .grants()
        .sign(claims_for(&call, "list_orders"))
        .unwrap();
    let out = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 2}"#, &grant.token)
        .await
        .unwrap();
    assert_eq!(out.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_expired_grant_is_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let mut claims = claims_for(&call, "list_orders");
    claims.iat -= 120;
    claims.exp = claims.iat + 30;
    let grant = dispatcher.grants().sign(claims).unwrap();
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert_eq!(grant_error(result), GrantError::Expired);
}

#[tokio::test]
async fn a_grant_for_another_tool_is_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let grant = dispatcher.grants().sign(claims_for(&call, "add")).unwrap();
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert!(
        matches!(grant_error(result), GrantError::WrongTool { granted, called } if granted == "add" && called == "list_orders")
    );
}

#[tokio::test]
async fn a_grant_for_another_run_or_call_is_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let mut other_run = claims_for(&call, "list_orders");
    other_run.run = RunId::new();
    let grant = dispatcher.grants().sign(other_run).unwrap();
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert_eq!(grant_error(result), GrantError::WrongRun);

    let mut other_call = claims_for(&call, "list_orders");
    other_call.call = CallId::new();
    let grant = dispatcher.grants().sign(other_call).unwrap();
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert_eq!(grant_error(result), GrantError::WrongCall);
}

#[tokio::test]
async fn a_grant_missing_an_effect_or_with_another_scope_is_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let mut claims = claims_for(&call, "list_orders");
    claims.effects = vec!["read:customers".into()];
    let grant = dispatcher.grants().sign(claims).unwrap();
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert_eq!(
        grant_error(result),
        GrantError::EffectNotGranted("read:orders".into())
    );

    let mut claims = claims_for(&call, "list_orders");
    claims.scope = Some(agentsec::Scope::Global);
    let grant = dispatcher.grants().sign(claims).unwrap();
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert_eq!(grant_error(result), GrantError::ScopeMismatch);
}

#[tokio::test]
async fn a_grant_for_another_user_is_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let mut claims = claims_for(&call, "list_orders");
    claims.sub = "mallory".into();
    let grant = dispatcher.grants().sign(claims).unwrap();
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert!(matches!(grant_error(result), GrantError::Malformed(_)));
}

#[tokio::test]
async fn a_tampered_grant_is_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let grant = dispatcher.grants().sign(claims_for(&call, "add")).unwrap();
    // Swap the payload for one naming another tool, keeping the signature.
    let parts: Vec<&str> = grant.token.split('.').collect();
    let payload = serde_json::to_vec(&claims_for(&call, "list_orders")).unwrap();
    let forged = format!("{}.{}.{}", parts[0], b64url(&payload), parts[2]);
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &forged)
        .await;
    assert_eq!(grant_error(result), GrantError::InvalidSignature);
}

#[tokio::test]
async fn a_grant_signed_with_another_key_is_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let other = GrantAuthority::random();
    let grant = other.sign(claims_for(&call, "list_orders")).unwrap();
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert_eq!(grant_error(result), GrantError::InvalidSignature);
}

#[tokio::test]
async fn unsigned_and_other_algorithm_grants_are_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let payload = b64url(&serde_json::to_vec(&claims_for(&call, "list_orders")).unwrap());
    for header in [
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"RS256","typ":"JWT"}"#,
        r#"{"alg":"HS512","typ":"JWT"}"#,
    ] {
        let token = format!("{}.{}.", b64url(header.as_bytes()), payload);
        let result = dispatcher
            .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &token)
            .await;
        let err = grant_error(result);
        assert!(
            matches!(err, GrantError::WrongAlgorithm | GrantError::Malformed(_)),
            "{header}: {err:?}"
        );
    }
}

#[tokio::test]
async fn garbage_and_empty_grants_are_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    for token in ["", "not-a-jwt", "a.b.c", "....", &"x".repeat(100_000)] {
        let result = dispatcher
            .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, token)
            .await;
        let _ = grant_error(result);
    }
}

#[tokio::test]
async fn a_grant_is_accepted_once() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let grant = dispatcher
        .grants()
        .sign(claims_for(&call, "list_orders"))
        .unwrap();
    dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await
        .unwrap();
    let replay = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert_eq!(grant_error(replay), GrantError::Replayed);
}

#[tokio::test]
async fn a_long_lived_grant_is_refused() {
    let dispatcher = shop_dispatcher().await;
    let call = alice_call();
    let mut claims = claims_for(&call, "list_orders");
    claims.exp = claims.iat + 3600;
    let grant = dispatcher.grants().sign(claims).unwrap();
    let result = dispatcher
        .dispatch_with_grant(&call, "list_orders", r#"{"limit": 1}"#, &grant.token)
        .await;
    assert_eq!(grant_error(result), GrantError::TooLong);
}

#[test]
fn grant_keys_and_lifetimes_are_checked() {
    assert!(matches!(
        GrantAuthority::new(b"short"),
        Err(GrantError::Config(_))
    ));
    let authority = GrantAuthority::new(&[7u8; 32]).unwrap();
    assert!(
        authority
            .with_ttl(std::time::Duration::from_secs(61))
            .is_err()
    );
}
