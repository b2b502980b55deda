//! Scoped grants enforced by PostgreSQL row-level security, against a real
//! server: `DATABASE_URL` (e.g. postgres://postgres@127.0.0.1:5432/test).
//! Without it each test prints "skipped: DATABASE_URL not set".
//!
//! Every test gets a schema and a restricted role of its own (roles are
//! global to the cluster), both dropped afterwards, so tests run in
//! parallel. The example schema is the one the crate ships.

use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
use agentsec_runtime::permission::rls::{
    EXAMPLE_RLS_SCHEMA, RlsError, RlsSession, SqlOperation, begin_scoped,
};
use agentsec_runtime::permission::{GrantAuthority, GrantClaims, GrantExpectation, GrantRequest};
use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Postgres, Transaction};

/// What a test body gets: a pool on its schema (connecting as the
/// superuser of `DATABASE_URL`, like an application's login role) and the
/// name of its restricted role.
#[derive(Clone)]
struct Db {
    pool: PgPool,
    options: PgConnectOptions,
    role: String,
}

async fn with_db<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(url) = std::env::var("DATABASE_URL") else {
        println!("skipped: DATABASE_URL not set");
        return;
    };
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    // Fixed alphabet (hex): safe to splice into DDL.
    let schema = format!("agentsec_rls_{suffix}");
    let role = format!("agentsec_tool_{suffix}");
    let admin = PgPool::connect(&url)
        .await
        .expect("connect to DATABASE_URL");
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .expect("create schema");
    let options = PgConnectOptions::from_str(&url)
        .expect("parse DATABASE_URL")
        .options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone())
        .await
        .expect("connect to the test schema");

    let setup = async {
        let mut conn = pool.acquire().await?;
        sqlx::query("SELECT set_config('agentsec.tool_role', $1, false)")
            .bind(&role)
            .execute(&mut *conn)
            .await?;
        sqlx::raw_sql(EXAMPLE_RLS_SCHEMA)
            .execute(&mut *conn)
            .await?;
        sqlx::raw_sql(
            "RESET agentsec.tool_role;
             INSERT INTO orders (id, owner_id, tenant_id, total_cents) VALUES
                ('a1', 'alice', 't1', 1000),
                ('a2', 'alice', 't1', 2000),
                ('a9', 'alice', 't2', 9000),
                ('b1', 'bob',   't1', 3000),
                ('c1', 'carol', 't2', 4000);
             INSERT INTO payments (id, order_id, owner_id, tenant_id, amount_cents) VALUES
                ('p1', 'a1', 'alice', 't1', 1000),
                ('p2', 'b1', 'bob',   't1', 3000);",
        )
        .execute(&mut *conn)
        .await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;

    let outcome = match &setup {
        Ok(()) => {
            let db = Db {
                pool: pool.clone(),
                options,
                role: role.clone(),
            };
            Some(tokio::spawn(body(db)).await)
        }
        Err(_) => None,
    };
    pool.close().await;
    // Dropping the schema drops the role's privileges on its objects; the
    // role itself is global and goes too.
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP SCHEMA {schema} CASCADE; DROP OWNED BY {role}; DROP ROLE {role};"
    )))
    .execute(&admin)
    .await
    .expect("drop the test schema and role");
    admin.close().await;
    if let Err(e) = setup {
        panic!("setting up the example schema failed: {e}");
    }
    if let Some(Err(panic)) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Claims as the runtime mints them, for `user` in `tenant`.
fn claims(
    user: &str,
    tenant: Option<&str>,
    scope: Option<Scope>,
    effects: &[&str],
    lifetime_secs: i64,
) -> GrantClaims {
    let now = now_secs();
    GrantClaims {
        iss: "agentsec".into(),
        aud: "agentsec:tool".into(),
        sub: user.into(),
        tenant: tenant.map(Into::into),
        roles: vec![],
        agent: "support".into(),
        run: RunId::new(),
        call: CallId::new(),
        step: 1,
        tool: "some_tool".into(),
        effects: effects.iter().map(|e| (*e).to_owned()).collect(),
        scope,
        iat: now,
        exp: now.saturating_add_signed(lifetime_secs),
        jti: uuid::Uuid::new_v4().simple().to_string(),
    }
}

async fn ids(tx: &mut Transaction<'static, Postgres>, sql: &'static str) -> Vec<String> {
    sqlx::query_scalar(sql)
        .fetch_all(&mut **tx)
        .await
        .expect("query")
}

/// The SQLSTATE of a database error.
fn sqlstate(error: &sqlx::Error) -> String {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// Opens a transaction as the restricted role with `raw` as the claims
/// setting (or none), bypassing the helper, as a tool's own SQL could.
async fn raw_scoped(db: &Db, raw: Option<&str>) -> Transaction<'static, Postgres> {
    let mut tx = db.pool.begin().await.unwrap();
    if let Some(raw) = raw {
        sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
            .bind(raw)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::raw_sql(AssertSqlSafe(format!("SET LOCAL ROLE {}", db.role)))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

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
            .fetch_one(&db.pool)
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

        let mut tx = begin_scoped(&db.pool, &claims, &db.role).await.unwrap();
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
        let mut tx = begin_scoped(&db.pool, &tenant, &db.role).await.unwrap();
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
        let mut tx = begin_scoped(&db.pool, &other, &db.role).await.unwrap();
        assert_eq!(
            ids(&mut tx, "SELECT id FROM orders ORDER BY id").await,
            ["a9", "c1"]
        );
        tx.rollback().await.unwrap();

        // A tenant-scoped grant for a user without a tenant reaches nothing.
        let no_tenant = claims("alice", None, Some(Scope::Tenant), &["read:orders"], 30);
        let mut tx = begin_scoped(&db.pool, &no_tenant, &db.role).await.unwrap();
        assert!(ids(&mut tx, "SELECT id FROM orders").await.is_empty());
        tx.rollback().await.unwrap();

        // Nor does a grant without a scope.
        let unscoped = claims("alice", Some("t1"), None, &["read:orders"], 30);
        let mut tx = begin_scoped(&db.pool, &unscoped, &db.role).await.unwrap();
        assert!(ids(&mut tx, "SELECT id FROM orders").await.is_empty());
        tx.rollback().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_read_grant_cannot_update_or_delete() {
    with_db(|db| async move {
        let read = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 30);
        let mut tx = begin_scoped(&db.pool, &read, &db.role).await.unwrap();
        // No UPDATE or DELETE policy matches: the database filters every row
        // out, so the statements succeed and affect nothing.
        let updated = sqlx::query("UPDATE orders SET status = 'refunded' WHERE id = 'a1'")
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(updated.rows_affected(), 0);
        let updated = sqlx::query("UPDATE orders SET status = 'refunded'")
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(updated.rows_affected(), 0);
        let deleted = sqlx::query("DELETE FROM orders")
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(deleted.rows_affected(), 0);
        tx.commit().await.unwrap();

        let untouched: i64 =
            sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'open'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(untouched, 5);

        // Payments are never deleted: the role lacks the privilege, so the
        // database refuses outright (42501), whatever the grant says.
        let everything = claims(
            "alice",
            Some("t1"),
            Some(Scope::User),
            &["read:payments", "write:payments", "delete:payments"],
            30,
        );
        let mut tx = begin_scoped(&db.pool, &everything, &db.role).await.unwrap();
        let refused = sqlx::query("DELETE FROM payments")
            .execute(&mut *tx)
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&refused), "42501", "{refused}");
        tx.rollback().await.unwrap();

        // The controls: with the write and delete effects, the same
        // statements do change alice's rows (and only hers).
        let write = claims(
            "alice",
            Some("t1"),
            Some(Scope::User),
            &["read:orders", "write:orders", "delete:orders"],
            30,
        );
        let mut tx = begin_scoped(&db.pool, &write, &db.role).await.unwrap();
        let updated = sqlx::query("UPDATE orders SET status = 'refunded'")
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(updated.rows_affected(), 2);
        let deleted = sqlx::query("DELETE FROM orders WHERE id IN ('a2', 'b1')")
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(deleted.rows_affected(), 1);
        tx.commit().await.unwrap();
        let left: Vec<(String, String)> =
            sqlx::query_as("SELECT id, status FROM orders ORDER BY id")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        let expected = [
            ("a1", "refunded"),
            ("a9", "open"),
            ("b1", "open"),
            ("c1", "open"),
        ];
        assert_eq!(
            left,
            expected.map(|(i, s)| (i.to_owned(), s.to_owned())).to_vec()
        );
    })
    .await;
}

#[tokio::test]
async fn rows_written_for_someone_else_are_refused_by_with_check() {
    with_db(|db| async move {
        let write = claims(
            "alice",
            Some("t1"),
            Some(Scope::User),
            &["read:orders", "write:orders", "write:payments"],
            30,
        );
        let refused_insert = |sql: &'static str| {
            let db = db.clone();
            let write = write.clone();
            async move {
                let mut tx = begin_scoped(&db.pool, &write, &db.role).await.unwrap();
                let error = sqlx::query(sql).execute(&mut *tx).await.unwrap_err();
                assert_eq!(sqlstate(&error), "42501", "{sql}: {error}");
                assert!(
                    error.to_string().contains("row-level security"),
                    "{sql}: {error}"
                );
            }
        };
        // Another owner, another tenant, moving a row to another owner.
        refused_insert(
            "INSERT INTO orders (id, owner_id, tenant_id, total_cents) VALUES ('x1', 'bob', 't1', 5)",
        )
        .await;
        refused_insert(
            "INSERT INTO orders (id, owner_id, tenant_id, total_cents) VALUES ('x2', 'alice', 't2', 5)",
        )
        .await;
        refused_insert("UPDATE orders SET owner_id = 'bob' WHERE id = 'a1'").await;
        refused_insert(
            "INSERT INTO payments (id, order_id, owner_id, tenant_id, amount_cents) \
             VALUES ('px', 'b1', 'bob', 't1', 3000)",
        )
        .await;

        // The control: alice's own row goes in.
        let mut tx = begin_scoped(&db.pool, &write, &db.role).await.unwrap();
        let inserted = sqlx::query(
            "INSERT INTO orders (id, owner_id, tenant_id, total_cents) VALUES ('x3', 'alice', 't1', 5)",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        assert_eq!(inserted.rows_affected(), 1);
        tx.commit().await.unwrap();
        let owners: Vec<String> =
            sqlx::query_scalar("SELECT owner_id FROM orders WHERE id LIKE 'x%'")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(owners, ["alice"]);
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
    for lifetime in [-60, 0] {
        let expired = claims(
            "alice",
            Some("t1"),
            Some(Scope::User),
            &["read:orders"],
            lifetime,
        );
        match begin_scoped(&nowhere, &expired, "agentsec_tool").await {
            Err(RlsError::Expired { exp, now }) => assert!(exp <= now),
            other => panic!("expected Expired, got {:?}", other.map(|_| ())),
        }
    }
    // The control: a live grant does try to connect.
    let live = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 30);
    assert!(matches!(
        begin_scoped(&nowhere, &live, "agentsec_tool").await,
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
        assert!(ids(&mut tx, "SELECT id FROM orders").await.is_empty());
        tx.rollback().await.unwrap();

        let mut tx = raw_scoped(&db, Some(&live)).await;
        assert_eq!(
            ids(&mut tx, "SELECT id FROM orders ORDER BY id").await,
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
        let mut tx = begin_scoped(&db.pool, &short, &db.role).await.unwrap();
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
        assert!(ids(&mut tx, "SELECT id FROM orders").await.is_empty());
        tx.rollback().await.unwrap();
        for raw in &broken {
            let mut tx = raw_scoped(&db, Some(raw)).await;
            assert!(
                ids(&mut tx, "SELECT id FROM orders").await.is_empty(),
                "claims {raw:?} reached rows"
            );
            tx.rollback().await.unwrap();
        }
        // The control: the same shape, intact, reaches alice's rows.
        let mut tx = raw_scoped(&db, Some(&valid)).await;
        assert_eq!(ids(&mut tx, "SELECT id FROM orders ORDER BY id").await, ["a1", "a2"]);
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
        let session = RlsSession::new(&db.role).unwrap();
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

#[tokio::test]
async fn the_schema_forces_rls_and_grants_the_role_little() {
    with_db(|db| async move {
        let tables: Vec<(String, bool, bool)> = sqlx::query_as(
            "SELECT relname::text, relrowsecurity, relforcerowsecurity FROM pg_class \
             WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' ORDER BY relname",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert_eq!(
            tables,
            [
                ("orders".to_owned(), true, true),
                ("payments".to_owned(), true, true)
            ]
        );
        let (login, bypass, superuser): (bool, bool, bool) =
            sqlx::query_as("SELECT rolcanlogin, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = $1")
                .bind(&db.role)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert!(!login && !bypass && !superuser);
        let privileges: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT t, p, has_table_privilege($1, t, p) FROM unnest(ARRAY['orders', 'payments']) AS t, \
             unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p \
             ORDER BY t, p",
        )
        .bind(&db.role)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        let granted: Vec<String> = privileges
            .into_iter()
            .filter(|(_, _, has)| *has)
            .map(|(t, p, _)| format!("{p} {t}"))
            .collect();
        assert_eq!(
            granted,
            [
                "DELETE orders",
                "INSERT orders",
                "SELECT orders",
                "UPDATE orders",
                "INSERT payments",
                "SELECT payments",
                "UPDATE payments"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_role_the_login_cannot_assume_fails() {
    with_db(|db| async move {
        let grant = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 30);
        let missing = format!("{}_missing", db.role);
        match begin_scoped(&db.pool, &grant, &missing).await {
            Err(RlsError::Database(e)) => {
                assert!(e.to_string().contains("does not exist"), "{e}")
            }
            other => panic!("expected a database error, got {:?}", other.map(|_| ())),
        }
        assert!(matches!(
            begin_scoped(&db.pool, &grant, "agentsec_tool; RESET ROLE").await,
            Err(RlsError::InvalidRole(_))
        ));
    })
    .await;
}
