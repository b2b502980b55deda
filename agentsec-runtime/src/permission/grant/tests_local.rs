//! The in-process form of a grant: every refusal the JWT form has, and the
//! two forms sharing one id.

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

const OTHER: ToolSpec = ToolSpec {
    scope: Some(Scope::Tenant),
    ..SPEC
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
            authority: GrantAuthority::random(),
            user: UserIdentity::new("alice")
                .with_tenant("acme")
                .with_roles(["support"]),
            run: RunId::new(),
            call: CallId::new(),
        }
    }

    fn mint(&self) -> LocalGrant {
        self.authority
            .mint_local(&GrantRequest {
                user: &self.user,
                agent: "support",
                run: self.run,
                call: self.call,
                step: 3,
                spec: &SPEC,
            })
            .unwrap()
    }

    fn expected(&self) -> GrantExpectation<'static> {
        GrantExpectation {
            spec: &SPEC,
            run: self.run,
            call: self.call,
        }
    }

    fn check(&self, grant: &LocalGrant) -> Result<(), GrantError> {
        self.authority
            .check_local(grant, &self.expected(), &self.user, "support")
    }
}

#[test]
fn a_local_grant_carries_the_claims_a_jwt_grant_does() {
    let f = Fixture::new();
    let grant = f.mint();
    let jwt = f
        .authority
        .mint(&GrantRequest {
            user: &f.user,
            agent: "support",
            run: f.run,
            call: f.call,
            step: 3,
            spec: &SPEC,
        })
        .unwrap();
    let claims = f
        .authority
        .verify_local(&grant, &f.expected(), &f.user, "support")
        .unwrap();
    assert_eq!(
        claims,
        GrantClaims {
            jti: claims.jti.clone(),
            iat: claims.iat,
            exp: claims.exp,
            ..jwt.claims.clone()
        }
    );
    assert_eq!(claims.jti, grant.jti());
    assert_eq!(claims.jti.len(), 32);
    assert_ne!(claims.jti, jwt.claims.jti);
    assert_eq!(claims.exp - claims.iat, 30);
}

#[test]
fn a_local_grant_is_accepted_once() {
    let f = Fixture::new();
    let grant = f.mint();
    assert_eq!(f.check(&grant), Ok(()));
    assert_eq!(f.check(&grant), Err(GrantError::Replayed));
}

#[test]
fn a_tampered_local_grant_is_refused() {
    let f = Fixture::new();
    // Every field the MAC covers, changed one at a time, and the tag itself.
    type Tamper = fn(&mut LocalGrant);
    let tampers: [(&str, Tamper); 9] = [
        ("tag", |g| g.tag[0] ^= 1),
        ("step", |g| g.step += 1),
        ("iat", |g| g.iat -= 1),
        ("exp", |g| g.exp -= 1),
        ("jti", |g| g.jti ^= 1),
        ("scope", |g| g.scope = Some(Scope::Global)),
        ("effects", |g| g.effects = &SPEC.effects[..1]),
        ("run", |g| g.run = RunId::new()),
        ("tool", |g| g.tool = "refund2"),
    ];
    for (what, tamper) in tampers {
        let mut grant = f.mint();
        tamper(&mut grant);
        assert_eq!(
            f.authority.check_local(
                &grant,
                &GrantExpectation {
                    spec: &SPEC,
                    run: grant.run,
                    call: f.call,
                },
                &f.user,
                "support"
            ),
            Err(GrantError::InvalidSignature),
            "{what}"
        );
    }
    // Another authority's grant (another key) does not verify here.
    let other = Fixture::new();
    let foreign = other.mint();
    let expected = other.expected();
    assert_eq!(
        f.authority
            .check_local(&foreign, &expected, &other.user, "support"),
        Err(GrantError::InvalidSignature)
    );
}

#[test]
fn a_local_grant_for_another_identity_is_refused() {
    let f = Fixture::new();
    let expected = f.expected();
    for (user, agent) in [
        (
            UserIdentity::new("mallory")
                .with_tenant("acme")
                .with_roles(["support"]),
            "support",
        ),
        (
            UserIdentity::new("alice")
                .with_tenant("evil")
                .with_roles(["support"]),
            "support",
        ),
        (
            UserIdentity::new("alice").with_roles(["support"]),
            "support",
        ),
        (
            UserIdentity::new("alice")
                .with_tenant("acme")
                .with_roles(["admin"]),
            "support",
        ),
        (f.user.clone(), "other-agent"),
    ] {
        let grant = f.mint();
        assert_eq!(
            f.authority.check_local(&grant, &expected, &user, agent),
            Err(GrantError::InvalidSignature),
            "{user:?} {agent}"
        );
    }
}

#[test]
fn a_local_grant_for_another_tool_run_or_call_is_refused() {
    let f = Fixture::new();
    const READ_ONLY: ToolSpec = ToolSpec {
        name: "refund2",
        ..OTHER
    };
    let grant = f.mint();
    let refusals = [
        (
            GrantExpectation {
                spec: &READ_ONLY,
                ..f.expected()
            },
            GrantError::WrongTool {
                granted: "refund".into(),
                called: "refund2".into(),
            },
        ),
        (
            GrantExpectation {
                run: RunId::new(),
                ..f.expected()
            },
            GrantError::WrongRun,
        ),
        (
            GrantExpectation {
                call: CallId::new(),
                ..f.expected()
            },
            GrantError::WrongCall,
        ),
    ];
    for (expected, error) in refusals {
        assert_eq!(
            f.authority
                .check_local(&grant, &expected, &f.user, "support"),
            Err(error)
        );
    }
    // None of the refusals used the grant.
    assert_eq!(f.check(&grant), Ok(()));
}

#[test]
fn a_local_grant_missing_an_effect_or_with_another_scope_is_refused() {
    const MORE: ToolSpec = ToolSpec {
        effects: &[
            Effect::new(EffectKind::Read, "orders"),
            Effect::new(EffectKind::Write, "payments"),
            Effect::new(EffectKind::Egress, "email"),
        ],
        ..SPEC
    };
    const USER_SCOPED: ToolSpec = ToolSpec {
        scope: Some(Scope::User),
        ..SPEC
    };
    let f = Fixture::new();
    let grant = f.mint();
    let more = GrantExpectation {
        spec: &MORE,
        ..f.expected()
    };
    assert_eq!(
        f.authority.check_local(&grant, &more, &f.user, "support"),
        Err(GrantError::EffectNotGranted("egress:email".into()))
    );
    let user_scoped = GrantExpectation {
        spec: &USER_SCOPED,
        ..f.expected()
    };
    assert_eq!(
        f.authority
            .check_local(&grant, &user_scoped, &f.user, "support"),
        Err(GrantError::ScopeMismatch)
    );
}

#[test]
fn an_expired_local_grant_is_refused() {
    let f = Fixture::new();
    let grant = f.mint();
    let expected = f.expected();
    // Valid strictly before `exp`, as for the JWT form.
    assert_eq!(
        f.authority
            .check_local_at(&grant, &expected, &f.user, "support", grant.exp),
        Err(GrantError::Expired)
    );
    assert_eq!(
        f.authority
            .check_local_at(&grant, &expected, &f.user, "support", grant.exp + 100),
        Err(GrantError::Expired)
    );
    // Minted in the past: still refused once its time is up.
    let old = f
        .authority
        .mint_local_at(
            &GrantRequest {
                user: &f.user,
                agent: "support",
                run: f.run,
                call: f.call,
                step: 3,
                spec: &SPEC,
            },
            now_secs() - 31,
        )
        .unwrap();
    assert_eq!(f.check(&old), Err(GrantError::Expired));
    // And one minted in the future is refused as such.
    let future = f
        .authority
        .mint_local_at(
            &GrantRequest {
                user: &f.user,
                agent: "support",
                run: f.run,
                call: f.call,
                step: 3,
                spec: &SPEC,
            },
            now_secs() + 60,
        )
        .unwrap();
    assert!(matches!(f.check(&future), Err(GrantError::Malformed(_))));
}

#[test]
fn the_jwt_form_of_a_local_grant_shares_its_single_use() {
    let f = Fixture::new();
    let expected = f.expected();
    // Exported, then presented as a JWT: accepted once, then the local form
    // is a replay.
    let grant = f.mint();
    let jwt = f.authority.export_jwt(&grant, &f.user, "support").unwrap();
    let claims = f.authority.verify(&jwt, &expected).unwrap();
    assert_eq!(claims.jti, grant.jti());
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.effects, ["read:orders", "write:payments"]);
    assert_eq!(f.check(&grant), Err(GrantError::Replayed));
    // The other way round.
    let grant = f.mint();
    let jwt = f.authority.export_jwt(&grant, &f.user, "support").unwrap();
    assert_eq!(f.check(&grant), Ok(()));
    assert_eq!(
        f.authority.verify(&jwt, &expected),
        Err(GrantError::Replayed)
    );
    // Only a genuine grant, for the identity it was minted for, is exported.
    let mut forged = f.mint();
    forged.step = 9;
    assert_eq!(
        f.authority.export_jwt(&forged, &f.user, "support").err(),
        Some(GrantError::InvalidSignature)
    );
    let grant = f.mint();
    assert_eq!(
        f.authority
            .export_jwt(&grant, &UserIdentity::new("mallory"), "support")
            .err(),
        Some(GrantError::InvalidSignature)
    );
}

#[test]
fn the_local_mac_is_not_a_jwt_signature() {
    // The MAC input starts with a NUL byte; a JWT's signing input is
    // base64url text: one form's tag can never stand for the other's.
    let f = Fixture::new();
    let grant = f.mint();
    let jwt = f.authority.export_jwt(&grant, &f.user, "support").unwrap();
    let signature = jwt.rsplit('.').next().unwrap();
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .unwrap();
    assert_ne!(decoded, grant.tag);
    assert!(!jwt.contains('\0'));
}

#[test]
fn a_full_ledger_refuses_local_grants_until_room_frees() {
    let f = Fixture::new();
    let authority = GrantAuthority::random().with_replay_capacity(1);
    assert_eq!(authority.replay_capacity(), replay::SHARDS);
    let request = GrantRequest {
        user: &f.user,
        agent: "support",
        run: f.run,
        call: f.call,
        step: 3,
        spec: &SPEC,
    };
    let now = now_secs();
    let mut outcomes = Vec::new();
    for _ in 0..(replay::SHARDS * 20) {
        let grant = authority.mint_local_at(&request, now).unwrap();
        outcomes.push(authority.check_local_at(&grant, &f.expected(), &f.user, "support", now));
    }
    let admitted = outcomes.iter().filter(|o| o.is_ok()).count();
    let full = outcomes
        .iter()
        .filter(|o| **o == Err(GrantError::LedgerFull))
        .count();
    assert!(admitted <= replay::SHARDS, "{admitted}");
    assert_eq!(admitted + full, outcomes.len());
    assert!(full > 0);
    assert!(authority.replay_remembered() <= authority.replay_capacity());
    // After those grants expire, grants are admitted again.
    let later = now + 31;
    let grant = authority.mint_local_at(&request, later).unwrap();
    assert_eq!(
        authority.check_local_at(&grant, &f.expected(), &f.user, "support", later),
        Ok(())
    );
}

#[test]
fn the_mac_input_tells_field_boundaries_apart() {
    // Length prefixes: moving bytes between neighbouring fields changes
    // the tag.
    let f = Fixture::new();
    let grant = f.mint();
    let keyed = f.authority.codec.keyed();
    let tag = |user: &UserIdentity, agent: &str| grant.compute_tag(keyed, user, agent);
    let pairs = [
        (
            UserIdentity::new("a").with_roles(["b", "c"]),
            UserIdentity::new("a").with_roles(["bc"]),
        ),
        (
            UserIdentity::new("ab").with_roles(["c"]),
            UserIdentity::new("a").with_roles(["bc"]),
        ),
        (
            UserIdentity::new("a").with_tenant(""),
            UserIdentity::new("a"),
        ),
    ];
    for (one, other) in pairs {
        assert_ne!(tag(&one, "x"), tag(&other, "x"), "{one:?} {other:?}");
    }
    assert_ne!(
        tag(&UserIdentity::new("a"), "bc"),
        tag(&UserIdentity::new("ab"), "c")
    );
}
