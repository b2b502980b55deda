//! Hostile SQL inside a scoped transaction (issue 12, point 1), against the
//! real PostgreSQL of `DATABASE_URL`, connecting as a restricted login the
//! harness creates: leaving the tool role, writing claims, shadowing a table
//! with a temporary one, and leaving state on a pooled connection for the
//! next call. None may read or change another user's rows.

mod rls_support;

use agentsec_runtime::permission::rls::{RlsError, ScopedTransaction};
use agentsec_runtime::tool::Scope;
use rls_support::{Db, claims, now_secs, with_db};
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// Alice's rows in the seed data (tenant t1).
const ALICE: [&str; 2] = ["a1", "a2"];

/// Runs `statements` in order in `tx`, collecting every id a statement
/// returns, until one fails (a failed statement aborts the transaction).
async fn run_hostile(tx: &mut ScopedTransaction, statements: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for sql in statements {
        match sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .fetch_all(&mut **tx)
            .await
        {
            Ok(rows) => {
                for row in rows {
                    use sqlx::Row;
                    if let Ok(id) = row.try_get::<String, _>(0) {
                        seen.push(id);
                    }
                }
            }
            Err(_) => break,
        }
    }
    seen
}

/// Every order id, as the superuser sees them.
async fn all_orders(db: &Db) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM orders ORDER BY id")
        .fetch_all(&db.admin)
        .await
        .unwrap()
}

/// Alice's grant to read and delete her orders; the attack runs in it and
/// the transaction is committed, so anything it changed would stay.
async fn attack(db: &Db, statements: &[String]) -> Vec<String> {
    let grant = claims(
        "alice",
        Some("t1"),
        Some(Scope::User),
        &["read:orders", "delete:orders"],
        30,
    );
    let mut tx = db.session.begin(&db.pool, &grant).await.unwrap();
    let seen = run_hostile(&mut tx, statements).await;
    let _ = tx.commit().await;
    seen
}

fn assert_only_alice(seen: &[String], what: &str) {
    for id in seen {
        assert!(ALICE.contains(&id.as_str()), "{what}: reached {id}");
    }
}

async fn assert_others_untouched(db: &Db, what: &str) {
    let left = all_orders(db).await;
    for other in ["a9", "b1", "c1"] {
        assert!(
            left.iter().any(|id| id == other),
            "{what}: {other} was deleted"
        );
    }
}

fn sql(statements: &[&str]) -> Vec<String> {
    statements.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn reset_role_reaches_no_other_rows() {
    with_db(|db| async move {
        let seen = attack(
            &db,
            &sql(&[
                "RESET ROLE",
                "SELECT id FROM orders",
                "DELETE FROM orders RETURNING id",
            ]),
        )
        .await;
        assert_only_alice(&seen, "RESET ROLE");
        assert_others_untouched(&db, "RESET ROLE").await;
    })
    .await;
}

#[tokio::test]
async fn set_role_to_the_superuser_is_refused() {
    with_db(|db| async move {
        let superuser: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&db.admin)
            .await
            .unwrap();
        for switch in [
            format!("SET ROLE \"{superuser}\""),
            format!("SET SESSION ROLE \"{superuser}\""),
            "SET ROLE postgres".to_owned(),
        ] {
            let seen = attack(
                &db,
                &[
                    switch.clone(),
                    "SELECT id FROM orders".into(),
                    "DELETE FROM orders RETURNING id".into(),
                ],
            )
            .await;
            assert_only_alice(&seen, &switch);
        }
        assert_others_untouched(&db, "SET ROLE").await;
    })
    .await;
}

#[tokio::test]
async fn set_config_role_inside_a_where_clause_reaches_no_other_rows() {
    with_db(|db| async move {
        let seen = attack(
            &db,
            &sql(&[
                "SELECT id FROM orders WHERE id = 'x' OR set_config('role', 'none', true) IS NULL",
                "SELECT id FROM orders",
                "DELETE FROM orders WHERE id = 'x' OR set_config('role', 'none', true) IS NULL RETURNING id",
                "DELETE FROM orders RETURNING id",
            ]),
        )
        .await;
        assert_only_alice(&seen, "set_config('role', ...)");
        assert_others_untouched(&db, "set_config('role', ...)").await;
    })
    .await;
}

#[tokio::test]
async fn claims_written_by_sql_reach_nothing() {
    with_db(|db| async move {
        let exp = now_secs() + 600;
        let forged = format!(
            r#"{{"sub":"bob","tenant":"t1","scope":"global","effects":["read:orders","delete:orders"],"exp":{exp}}}"#
        );
        for local in ["true", "false"] {
            let seen = attack(
                &db,
                &[
                    format!("SELECT set_config('request.jwt.claims', '{forged}', {local}) AS id"),
                    "SELECT id FROM orders".into(),
                    "DELETE FROM orders RETURNING id".into(),
                ],
            )
            .await;
            // The first statement returns the forged text itself.
            let rows: Vec<String> = seen.into_iter().filter(|s| !s.starts_with('{')).collect();
            assert!(rows.is_empty(), "forged claims (local = {local}) reached {rows:?}");
        }
        // Inside a WHERE clause, mid-statement, and with the real tag copied.
        let seen = attack(
            &db,
            &[format!(
                "SELECT id FROM orders WHERE set_config('request.jwt.claims', '{forged}', true) IS NOT NULL"
            )],
        )
        .await;
        assert_only_alice(&seen, "claims set in a WHERE clause");
        assert_others_untouched(&db, "forged claims").await;
    })
    .await;
}

/// A pool of one connection as the login, so the next call reuses it.
async fn single(db: &Db) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect_with(db.options.clone())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_temp_table_does_not_shadow_the_real_one_for_the_next_call() {
    with_db(|db| async move {
        let pool = single(&db).await;
        let alice = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 30);
        let mut tx = db.session.begin(&pool, &alice).await.unwrap();
        // Whether the database lets the tool role create it (TEMP comes
        // through PUBLIC unless revoked database-wide), it must not survive.
        let _ = run_hostile(
            &mut tx,
            &sql(&[
                "CREATE TEMP TABLE orders (id text, owner_id text, tenant_id text)",
                "INSERT INTO orders VALUES ('ord_FAKE', 'bob', 't1')",
            ]),
        )
        .await;
        tx.commit().await.unwrap();

        let bob = claims("bob", Some("t1"), Some(Scope::User), &["read:orders"], 30);
        let mut tx = db.session.begin(&pool, &bob).await.unwrap();
        let seen = run_hostile(&mut tx, &sql(&["SELECT id FROM orders ORDER BY id"])).await;
        tx.rollback().await.unwrap();
        assert_eq!(seen, ["b1"], "bob read a table the previous call left");
        pool.close().await;
    })
    .await;
}

#[tokio::test]
async fn session_state_does_not_reach_the_next_use_of_the_connection() {
    with_db(|db| async move {
        let pool = single(&db).await;
        let alice = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 30);
        let mut tx = db.session.begin(&pool, &alice).await.unwrap();
        // Alice's own, validly tagged claims, copied to the session level,
        // and the session's role set: both would outlive the commit.
        let _ = run_hostile(
            &mut tx,
            &sql(&[
                "SELECT set_config('request.jwt.claims', current_setting('request.jwt.claims'), false), \
                        set_config('agentsec.claims_tag', current_setting('agentsec.claims_tag'), false)",
                &format!("SET SESSION ROLE {}", db.role),
            ]),
        )
        .await;
        tx.commit().await.unwrap();

        // The next user of the connection, without the helper.
        let (user, claims_left, tag_left): (String, Option<String>, Option<String>) =
            sqlx::query_as(
                "SELECT current_user::text, current_setting('request.jwt.claims', true), \
                        current_setting('agentsec.claims_tag', true)",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(user, db.login, "the role outlived the call");
        assert!(claims_left.unwrap_or_default().is_empty(), "the claims outlived the call");
        assert!(tag_left.unwrap_or_default().is_empty(), "the tag outlived the call");
        let mut conn = pool.acquire().await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!("SET ROLE {}", db.role)))
            .execute(&mut *conn)
            .await
            .unwrap();
        let seen: Vec<String> = sqlx::query_scalar("SELECT id FROM orders")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert!(seen.is_empty(), "an unscoped use saw {seen:?}");
        sqlx::raw_sql("RESET ROLE").execute(&mut *conn).await.unwrap();
        drop(conn);

        // And the next scoped call is bob's alone.
        let bob = claims("bob", Some("t1"), Some(Scope::User), &["read:orders"], 30);
        let mut tx = db.session.begin(&pool, &bob).await.unwrap();
        let seen = run_hostile(&mut tx, &sql(&["SELECT id FROM orders ORDER BY id"])).await;
        tx.rollback().await.unwrap();
        assert_eq!(seen, ["b1"]);
        pool.close().await;
    })
    .await;
}

#[tokio::test]
async fn logins_that_could_escape_are_refused_at_begin() {
    with_db(|db| async move {
        let grant = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 30);
        // The superuser of DATABASE_URL, as the example's README once said.
        match db.session.begin(&db.admin, &grant).await {
            Err(e @ RlsError::UnsafeLogin { .. }) => {
                assert!(e.to_string().contains("superuser"), "{e}")
            }
            other => panic!("the superuser was accepted: {:?}", other.map(|_| ())),
        }
        // A BYPASSRLS login, a CREATEROLE login, and a login that owns a
        // protected table: each a member of the tool role, each refused.
        let bypass = format!("{}_bypass", db.login);
        let creator = format!("{}_creator", db.login);
        let owner = format!("{}_owner", db.login);
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE ROLE {bypass} LOGIN BYPASSRLS; CREATE ROLE {creator} LOGIN CREATEROLE; \
             CREATE ROLE {owner} LOGIN; GRANT {role} TO {bypass}, {creator}, {owner}; \
             ALTER TABLE payments OWNER TO {owner};",
            role = db.role
        )))
        .execute(&db.admin)
        .await
        .unwrap();
        let mut outcomes = Vec::new();
        for (login, expected) in [
            (&bypass, "BYPASSRLS"),
            (&creator, "CREATEROLE"),
            (&owner, "payments"),
        ] {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(db.options.clone().username(login))
                .await
                .unwrap();
            let result = db.session.begin(&pool, &grant).await.map(drop);
            pool.close().await;
            outcomes.push((login.clone(), expected, result));
        }
        sqlx::raw_sql(AssertSqlSafe(format!(
            "ALTER TABLE payments OWNER TO CURRENT_USER; \
             DROP OWNED BY {bypass}, {creator}, {owner}; DROP ROLE {bypass}, {creator}, {owner};"
        )))
        .execute(&db.admin)
        .await
        .unwrap();
        for (login, expected, result) in outcomes {
            match result {
                Err(e @ RlsError::UnsafeLogin { .. }) => {
                    assert!(e.to_string().contains(expected), "{login}: {e}")
                }
                other => panic!("{login} was accepted: {other:?}"),
            }
        }
        // The control: the harness's login is fine.
        db.session
            .begin(&db.pool, &grant)
            .await
            .unwrap()
            .rollback()
            .await
            .unwrap();
    })
    .await;
}
