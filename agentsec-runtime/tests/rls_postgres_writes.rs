//! Writes under scoped grants with PostgreSQL row-level security: what a
//! grant without the write or delete effect cannot change, `WITH CHECK` on
//! rows written for someone else, and what the restricted role is granted.
//! Needs `DATABASE_URL`, like `rls_postgres`.

mod rls_support;

use agentsec_runtime::permission::rls::{RlsError, RlsKey, RlsSession};
use agentsec_runtime::tool::Scope;
use rls_support::{claims, sqlstate, with_db};

#[tokio::test]
async fn a_read_grant_cannot_update_or_delete() {
    with_db(|db| async move {
        let read = claims("alice", Some("t1"), Some(Scope::User), &["read:orders"], 30);
        let mut tx = db.session.begin(&db.pool, &read).await.unwrap();
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
                .fetch_one(&db.admin)
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
        let mut tx = db.session.begin(&db.pool, &everything).await.unwrap();
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
        let mut tx = db.session.begin(&db.pool, &write).await.unwrap();
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
                .fetch_all(&db.admin)
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
                let mut tx = db.session.begin(&db.pool, &write).await.unwrap();
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
        let mut tx = db.session.begin(&db.pool, &write).await.unwrap();
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
                .fetch_all(&db.admin)
                .await
                .unwrap();
        assert_eq!(owners, ["alice"]);
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
        .fetch_all(&db.admin)
        .await
        .unwrap();
        assert_eq!(
            tables,
            [
                ("agentsec_rls_key".to_owned(), true, false),
                ("orders".to_owned(), true, true),
                ("payments".to_owned(), true, true)
            ]
        );
        let (login, bypass, superuser): (bool, bool, bool) =
            sqlx::query_as("SELECT rolcanlogin, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = $1")
                .bind(&db.role)
                .fetch_one(&db.admin)
                .await
                .unwrap();
        assert!(!login && !bypass && !superuser);
        let privileges: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT t, p, has_table_privilege($1, t, p) FROM unnest(ARRAY['orders', 'payments']) AS t, \
             unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p \
             ORDER BY t, p",
        )
        .bind(&db.role)
        .fetch_all(&db.admin)
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
        let session = RlsSession::new(&missing, RlsKey::random()).unwrap();
        match session.begin(&db.pool, &grant).await {
            Err(e @ RlsError::NotAMember { .. }) => {
                assert!(
                    e.to_string()
                        .contains(&format!("GRANT {missing} TO {}", db.login)),
                    "{e}"
                )
            }
            other => panic!("expected NotAMember, got {:?}", other.map(|_| ())),
        }
        assert!(matches!(
            RlsSession::new("agentsec_tool; RESET ROLE", RlsKey::random()),
            Err(RlsError::InvalidRole(_))
        ));
    })
    .await;
}
