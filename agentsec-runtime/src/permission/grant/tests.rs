//! Minting and verifying grants: the parts the integration tests cannot reach.

use super::*;
use crate::tool::{Effect, EffectKind};

const SPEC: ToolSpec = ToolSpec {
    effects: &[
        Effect::new(EffectKind::Read, "orders"),
        Effect::new(EffectKind::Write, "payments"),
    ],
    scope: Some(Scope::Tenant),
    pure: false,
    ..ToolSpec::new("refund", "Refund.")
};

#[test]
fn a_minted_token_carries_the_same_claims_as_a_minted_grant() {
    let authority = GrantAuthority::random();
    let user = UserIdentity::new("alice")
        .with_tenant("acme")
        .with_roles(["support"]);
    let (run, call) = (RunId::new(), CallId::new());
    let request = GrantRequest {
        user: &user,
        agent: "support",
        run,
        call,
        step: 3,
        spec: &SPEC,
    };
    let grant = authority.mint(&request).unwrap();
    let (token, _) = authority.mint_token(&request).unwrap();
    let expected = GrantExpectation {
        spec: &SPEC,
        run,
        call,
    };
    let from_grant = authority.verify(&grant.token, &expected).unwrap();
    assert_eq!(from_grant, grant.claims);
    let from_token = authority.verify(&token, &expected).unwrap();
    assert_eq!(
        from_token,
        GrantClaims {
            jti: from_token.jti.clone(),
            iat: from_token.iat,
            exp: from_token.exp,
            ..grant.claims.clone()
        }
    );
    assert_eq!(from_token.effects, ["read:orders", "write:payments"]);
    assert_ne!(
        from_token.jti, grant.claims.jti,
        "every grant has its own id"
    );
    assert_eq!(from_token.jti.len(), 32);
}

#[test]
fn a_grant_missing_one_of_several_effects_is_refused() {
    let authority = GrantAuthority::random();
    let user = UserIdentity::new("alice").with_tenant("acme");
    let (run, call) = (RunId::new(), CallId::new());
    let mut claims = authority
        .mint(&GrantRequest {
            user: &user,
            agent: "support",
            run,
            call,
            step: 1,
            spec: &SPEC,
        })
        .unwrap()
        .claims;
    // A prefix, a suffix or another separator does not name the effect.
    for effects in [
        vec!["read:orders", "write:payment"],
        vec!["read:orders", "write:payments:x"],
        vec!["read:orders", "write-payments"],
        vec!["read:orders"],
    ] {
        claims.effects = effects.iter().map(|e| e.to_string()).collect();
        claims.jti = local::jti_hex(new_jti_bits());
        let token = authority.sign(claims.clone()).unwrap().token;
        let result = authority.verify(
            &token,
            &GrantExpectation {
                spec: &SPEC,
                run,
                call,
            },
        );
        assert_eq!(
            result,
            Err(GrantError::EffectNotGranted("write:payments".into())),
            "{effects:?}"
        );
    }
}

#[test]
fn not_yet_valid_and_foreign_grants_are_refused() {
    let authority = GrantAuthority::random();
    let user = UserIdentity::new("alice");
    let (run, call) = (RunId::new(), CallId::new());
    let claims = authority
        .mint(&GrantRequest {
            user: &user,
            agent: "support",
            run,
            call,
            step: 1,
            spec: &SPEC,
        })
        .unwrap()
        .claims;
    let expected = GrantExpectation {
        spec: &SPEC,
        run,
        call,
    };
    let mut future = serde_json::to_value(&claims).unwrap();
    future["nbf"] = (claims.iat + 10).into();
    let token = authority.codec.sign(&future).unwrap();
    assert_eq!(
        authority.verify(&token, &expected),
        Err(GrantError::Malformed("the grant is not yet valid".into()))
    );
    let foreign = authority
        .sign(GrantClaims {
            aud: "someone-else".into(),
            ..claims.clone()
        })
        .unwrap();
    assert_eq!(
        authority.verify(&foreign.token, &expected),
        Err(GrantError::WrongIssuer)
    );
    let mut no_jti = serde_json::to_value(&claims).unwrap();
    no_jti.as_object_mut().unwrap().remove("jti");
    let token = authority.codec.sign(&no_jti).unwrap();
    assert!(matches!(
        authority.verify(&token, &expected),
        Err(GrantError::Malformed(_))
    ));
}
