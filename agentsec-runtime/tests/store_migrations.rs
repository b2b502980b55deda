//! Databases made before the store used `sqlx::migrate!` keep working: the
//! first migration, recorded in the old `agentsec_schema_migrations` table,
//! is adopted without running again, and the agent keys' version and
//! successor move out of the JSON in `cidrs` into their own columns.
//! PostgreSQL needs `DATABASE_URL` (a schema of its own, dropped after).

mod pg_support;

use std::sync::Arc;

use agentsec_runtime::identity::KeyStore;
use agentsec_runtime::identity::keys::RunStoreKeys;
use agentsec_runtime::store::{PostgresStore, RunStore, SqliteStore};
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// What the hand-written runner did: the first migration and its record.
const LEGACY_TABLE: &str = "CREATE TABLE agentsec_schema_migrations \
     (version BIGINT PRIMARY KEY NOT NULL, description TEXT NOT NULL, applied_at BIGINT NOT NULL); \
     INSERT INTO agentsec_schema_migrations VALUES (1, 'init', 1);";

/// A rotated key as the old code wrote it: extras in a JSON object.
const LEGACY_KEY: &str = "INSERT INTO agent_keys \
     (key_id, agent, environment, hash, created_at, rotated_at, overlap_until, cidrs) VALUES \
     ('old', 'support', 'prod', 'abababababababababababababababababababababababababababababababab', \
      1000, 2000, 3000, '{\"networks\": [\"10.0.0.0/8\"], \"replaced_by\": \"new\", \"version\": 3}')";

async fn check_adopted(store: Arc<dyn RunStore>) {
    let keys = RunStoreKeys::new(store);
    let old = keys.get("old").await.unwrap().expect("the key survived");
    assert_eq!(old.version, 3);
    assert_eq!(old.replaced_by.as_deref(), Some("new"));
    assert_eq!(old.allowed_networks, ["10.0.0.0/8".parse().unwrap()]);
    // The compare-and-swap continues from the migrated version.
    let mut revoked = old.clone();
    revoked.revoked_at = Some(std::time::SystemTime::now());
    keys.update(revoked).await.unwrap();
    assert_eq!(keys.get("old").await.unwrap().unwrap().version, 4);
}

#[tokio::test]
async fn a_legacy_sqlite_database_is_adopted_and_migrated() {
    let dir =
        std::env::temp_dir().join(format!("agentsec-legacy-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("agentsec.db");
    {
        let pool = SqlitePool::connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
        sqlx::raw_sql(include_str!("../migrations/sqlite/0001_init.sql"))
            .execute(&pool)
            .await
            .unwrap();
        sqlx::raw_sql(LEGACY_TABLE).execute(&pool).await.unwrap();
        sqlx::raw_sql(LEGACY_KEY).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let cidrs: String = sqlx::query_scalar("SELECT cidrs FROM agent_keys WHERE key_id = 'old'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(cidrs, r#"["10.0.0.0/8"]"#);
    check_adopted(Arc::new(store.clone())).await;
    store.pool().close().await;
    // Opening again changes nothing.
    let again = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        again.get_agent_key("old").await.unwrap().unwrap().version,
        4
    );
    again.pool().close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_legacy_postgres_database_is_adopted_and_migrated() {
    pg_support::in_fresh_schema(|options| async move {
        let pool = PgPool::connect_with(options.clone()).await.unwrap();
        sqlx::raw_sql(include_str!("../migrations/postgres/0001_init.sql"))
            .execute(&pool)
            .await
            .unwrap();
        sqlx::raw_sql(LEGACY_TABLE).execute(&pool).await.unwrap();
        sqlx::raw_sql(LEGACY_KEY).execute(&pool).await.unwrap();
        pool.close().await;
        let store = PostgresStore::connect_with(options.clone(), 2)
            .await
            .unwrap();
        let cidrs: serde_json::Value =
            sqlx::query_scalar("SELECT cidrs FROM agent_keys WHERE key_id = 'old'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(cidrs, serde_json::json!(["10.0.0.0/8"]));
        check_adopted(Arc::new(store.clone())).await;
        store.pool().close().await;
        let again = PostgresStore::connect_with(options, 2).await.unwrap();
        assert_eq!(
            again.get_agent_key("old").await.unwrap().unwrap().version,
            4
        );
        again.pool().close().await;
    })
    .await;
}
