//! Scoped grants enforced by PostgreSQL row-level security, against a real
//! server: `DATABASE_URL` (e.g. postgres://postgres@127.0.0.1:5432/test).
//! Without it each test prints "skipped: DATABASE_URL not set". Reads,
//! scopes, expiry and fail-closed claims; writes are in `rls_postgres_writes`.

mod rls_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
use agentsec_runtime::permission::rls::{RlsError, RlsKey, RlsSession, SqlOperation};
use agentsec_runtime::permission::{GrantAuthority, GrantExpectation, GrantRequest};
use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
use rls_support::{claims, ids, now_secs, raw_ids, raw_scoped, with_db};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const LIST_ORDERS: ToolSpec = ToolSpec {
    effects: &[Effect::new(EffectKind::Read, "orders")],
    scope: Some(Scope::User),
    pure: false,
    ..ToolSpec::new("list_orders", "List the user's orders.")
};

#[tokio::test]
async fn a_query_without_owner_filter_sees_only_the_users_rows() {
    with_db(|db| async move {
        // The data is there: the superuser, outside any grant, sees it all.
        let all: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
            .fetch_one(&db.admin)
            .await
            .unwrap();
        assert_eq!(all, 5);

        // The grant is minted and verified as for a real call.
        let authority = GrantAuthority::random();
        let user = UserIdentity::new("alice").with_tenant("t1");
        let (run, call) = (RunId::new(), CallId::new());
        let grant = authority
            .mint(&GrantRequest {
                user: &user,
                agent: "support",
                run,
                call,
                step: 1,
                spec: &LIST_ORDERS,
            })
            .unwrap();
        let claims = authority
            .verify(
                &grant.token,
                &GrantExpectation {
                    spec: &LIST_ORDERS,
                    run,
                    call,
                },
            )
            .unwrap();
        assert!(claims.constraints().allows("orders", SqlOperation::Select));

        let mut tx = db.session.begin(&db.pool, &claims).await.unwrap();
        // The tool forgot `WHERE owner_id = ...`.
        assert_eq!(
            ids(&mut tx, "SELECT id FROM orders ORDER BY id").await,
            ["a1", "a2"],
            "only alice's orders in her tenant"
        );
        // A model-chosen filter naming someone else finds nothing.
        assert!(
            ids(&mut tx, "SELECT id FROM orders WHERE owner_id = 'bob'")
                .await
                .is_empty()
        );
        // Another table the grant does not name: nothing.
        assert!(ids(&mut tx, "SELECT id FROM payments").await.is_empty());
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn tenant_scope_sees_the_tenants_rows_only() {
    with_db(|db| async move {
        let tenant = claims(
            "alice",
            Some("t1"),
            Some(Scope::Tenant),
            &["read:orders"],
            30,
        );
        let mut tx = db.session.begin(&db.pool, &tenant).await.unwrap();
        assert_eq!(
            ids(&mut tx, "SELECT id FROM orders ORDER BY id").await,
            ["a1", "a2", "b1"]
        );
        tx.rollback().await.unwrap();

        let other = claims(
            "carol",
            Some("t2"),
            Some(Scope::Tenant),
            &["read:orders"],
            30,
        );
        let mut tx = db.session.begin(&db.pool, &other).await.unwrap();
        assert_eq!(
            ids(&mut tx, "SELECT id FROM orders ORDER BY id").await,
            ["a9", "c1"]
        );
        tx.rollback().await.unwrap();

        // A tenant-scoped grant for a user without a tenant reaches nothing.
        let no_tenant = claims("alice", None, Some(Scope::Tenant), &["read:orders"], 30);
        let mut tx = db.session.begin(&db.pool, &no_tenant).await.unwrap();
        assert!(ids(&mut tx, "SELECT id FROM orders").await.is_empty());
        tx.rollback().await.unwrap();

        // Nor does a grant without a scope.
        let unscoped = claims("alice", Some("t1"), None, &["read:orders"], 30);
        let mut tx = db.session.begin(&db.pool, &unscoped).await.unwrap();
        assert!(ids(&mut tx, "SELECT id FROM orders").await.is_empty());
        tx.rollback().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_expired_grant_is_refused_before_a_connection_is_taken() {
    // A pool that cannot connect: if the helper tried, it would report a
    // database error instead of the expiry.
    let nowhere = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy_with(PgConnectOptions::new().host("127.0.0.1").port(1));
    let session = RlsSession::new("agentsec_tool", RlsKey::random()).unwrap();
    for lifetime in [-60, 0] {
        let expired = claims(
            "alice",
            Some("t1"),
            Some(Scope::User),
            &["read:orders"],
            lifetime,
        );
        match session.begin(&nowhere, &expired).await {
            Err(RlsError::Expired { exp, now }) => assert!(exp <= now),
            other => panic!("expected Expired, got {:?}", other.map(|_| ())),
        }
    }
    // The control: a live grant does try to connect.
    let live = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 30);
    assert!(matches!(
        session.begin(&nowhere, &live).await,
        Err(RlsError::Database(_))
    ));
}

#[tokio::test]
async fn claims_with_a_past_exp_see_nothing() {
    with_db(|db| async move {
        let mut past = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 30);
        let live = serde_json::to_string(&past).unwrap();
        past.exp = now_secs() - 10;
        let past = serde_json::to_string(&past).unwrap();

        // Set by hand (the helper would refuse them): the policies check
        // `exp` themselves.
        let mut tx = raw_scoped(&db, Some(&past)).await;
        assert!(raw_ids(&mut tx, "SELECT id FROM orders").await.is_empty());
        tx.rollback().await.unwrap();

        let mut tx = raw_scoped(&db, Some(&live)).await;
        assert_eq!(
            raw_ids(&mut tx, "SELECT id FROM orders ORDER BY id").await,
            ["a1", "a2"]
        );
        tx.rollback().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_long_transaction_cannot_outlive_its_grant() {
    with_db(|db| async move {
        let short = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 3);
        let mut tx = db.session.begin(&db.pool, &short).await.unwrap();
        assert_eq!(
            ids(&mut tx, "SELECT id FROM orders ORDER BY id").await,
            ["a1", "a2"]
        );

        // Wait, inside the same transaction, until the grant has expired.
        let expiry = UNIX_EPOCH + Duration::from_secs(short.exp) + Duration::from_millis(200);
        if let Ok(wait) = expiry.duration_since(SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
        // `now()` is still the transaction's start; the policies use the
        // statement's time, so the grant no longer reaches anything.
        assert!(ids(&mut tx, "SELECT id FROM orders").await.is_empty());
        tx.rollback().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn missing_or_garbage_claims_see_nothing() {
    with_db(|db| async move {
        let exp = now_secs() + 60;
        let valid = format!(
            r#"{{"sub":"alice","tenant":"t1","scope":"user","effects":["read:orders"],"exp":{exp}}}"#
        );
        let broken = [
            String::new(),
            "{not json".into(),
            "[]".into(),
            "\"alice\"".into(),
            "null".into(),
            // No exp; exp as a string; effects as a string; no or empty sub;
            // an unknown scope.
            r#"{"sub":"alice","tenant":"t1","scope":"user","effects":["read:orders"]}"#.into(),
            valid.replace(&format!("\"exp\":{exp}"), &format!("\"exp\":\"{exp}\"")),
            valid.replace(r#"["read:orders"]"#, r#""read:orders""#),
            valid.replace(r#""sub":"alice","#, ""),
            valid.replace(r#""sub":"alice""#, r#""sub":"""#),
            valid.replace(r#""scope":"user""#, r#""scope":"everything""#),
        ];
        // No setting at all.
        let mut tx = raw_scoped(&db, None).await;
        assert!(raw_ids(&mut tx, "SELECT id FROM orders").await.is_empty());
        tx.rollback().await.unwrap();
        for raw in &broken {
            let mut tx = raw_scoped(&db, Some(raw)).await;
            assert!(
                raw_ids(&mut tx, "SELECT id FROM orders").await.is_empty(),
                "claims {raw:?} reached rows"
            );
            tx.rollback().await.unwrap();
        }
        // The control: the same shape, intact, reaches alice's rows.
        let mut tx = raw_scoped(&db, Some(&valid)).await;
        assert_eq!(raw_ids(&mut tx, "SELECT id FROM orders ORDER BY id").await, ["a1", "a2"]);
        tx.rollback().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn claims_and_role_end_with_the_transaction() {
    with_db(|db| async move {
        // One connection, so the next transaction reuses it.
        let single = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(db.options.clone())
            .await
            .unwrap();
        let grant = claims("alice", Some("t1"), Some(Scope::User), &["read:orders", "write:payments"], 30);
        let session = db.session.clone();
        for commit in [true, false] {
            let mut tx = session.begin(&single, &grant).await.unwrap();
            let (user, sub, scope, exp, claims): (String, String, String, String, String) =
                sqlx::query_as(
                    "SELECT current_user::text, current_setting('request.jwt.claim.sub'), \
                     current_setting('request.jwt.claim.scope'), current_setting('request.jwt.claim.exp'), \
                     current_setting('request.jwt.claims')",
                )
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(user, db.role);
            assert_eq!((sub.as_str(), scope.as_str()), ("alice", "user"));
            assert_eq!(exp, grant.exp.to_string());
            let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
            assert_eq!(claims["sub"], "alice");
            assert_eq!(claims["tables"]["orders"], serde_json::json!(["SELECT"]));
            assert_eq!(claims["tables"]["payments"], serde_json::json!(["INSERT", "UPDATE"]));
            if commit {
                tx.commit().await.unwrap();
            } else {
                tx.rollback().await.unwrap();
            }
            let (user, claims): (String, Option<String>) = sqlx::query_as(
                "SELECT current_user::text, current_setting('request.jwt.claims', true)",
            )
            .fetch_one(&single)
            .await
            .unwrap();
            assert_ne!(user, db.role, "the role outlived the transaction");
            assert!(
                claims.unwrap_or_default().is_empty(),
                "the claims outlived the transaction"
            );
        }
        single.close().await;
    })
    .await;
}
