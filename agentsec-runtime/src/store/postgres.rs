use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::sql::decode::sql_decoders;
use super::sql::prelude::*;
use super::sql::sql_store_pool;
use super::sql::store_impl::impl_sql_store;

type Db = Postgres;
type Row = sqlx::postgres::PgRow;

/// The production store: PostgreSQL, shared by several workers.
///
/// Workers claim runs with `SELECT … FOR UPDATE SKIP LOCKED` and hold them
/// under leases; audit appends are serialized by a row lock on the chain's
/// head, so the chain never forks however many processes write.
///
/// ```no_run
/// use agentsec_runtime::store::{PostgresStore, RunStore};
/// # async fn demo() -> Result<(), agentsec_runtime::store::StoreError> {
/// let store = PostgresStore::connect("postgres://agentsec@db/agentsec").await?;
/// let runs = store.claim_runnable("worker-1", std::time::Duration::from_secs(30), 10).await?;
/// # let _ = runs; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects a pool to `url` and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?, 10).await
    }

    /// Connects a pool of at most `max_connections` with `options` (use
    /// `options.options([("search_path", "...")])` for a schema of your own)
    /// and brings the schema up to date.
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        migrator.dangerous_set_table_name(super::sql::MIGRATIONS_TABLE);
        // A database made before the store used sqlx's migrator recorded its
        // first migration in `agentsec_schema_migrations`: mark it applied
        // (without running it again) so the later ones run on top.
        let legacy: bool =
            sqlx::query_scalar("SELECT to_regclass('agentsec_schema_migrations') IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        if legacy {
            let first: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM agentsec_schema_migrations WHERE version = 1",
            )
            .fetch_optional(&self.pool)
            .await?;
            if first.is_some() {
                migrator
                    .skip(&self.pool, Some(1))
                    .await
                    .map_err(sqlx::Error::from)?;
            }
        }
        migrator.run(&self.pool).await.map_err(sqlx::Error::from)?;
        Ok(())
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Db>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    async fn begin_snapshot(&self) -> Result<Transaction<'static, Db>, StoreError> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    async fn claim_rows(
        &self,
        worker: &str,
        now: UnixMillis,
        until: UnixMillis,
        limit: i64,
    ) -> Result<Vec<Row>, StoreError> {
        // Rows another worker is claiming right now are locked and skipped,
        // not waited for: concurrent claimers get disjoint runs.
        const PICK: &str = "SELECT id FROM runs WHERE status = 'running' \
             AND (lease_until IS NULL OR lease_until <= $1) \
             ORDER BY updated_at, id LIMIT $2 FOR UPDATE SKIP LOCKED";
        const LEASE: &str = concat!(
            "UPDATE runs SET lease_owner = $1, lease_until = $2, lease_epoch = lease_epoch + 1 \
             WHERE id = ANY($3) RETURNING ",
            q::run_cols!()
        );
        let mut tx = self.pool.begin().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(PICK)
            .bind(now.0)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        let rows = if ids.is_empty() {
            Vec::new()
        } else {
            sqlx::query(LEASE)
                .bind(worker)
                .bind(until.0)
                .bind(ids)
                .fetch_all(&mut *tx)
                .await?
        };
        tx.commit().await?;
        Ok(rows)
    }
}

mod codec {
    use super::Row;
    use sqlx::types::Json;
    use uuid::Uuid;

    pub(super) fn id(id: Uuid) -> Uuid {
        id
    }

    pub(super) fn json(value: &serde_json::Value) -> Json<&serde_json::Value> {
        Json(value)
    }

    pub(super) fn get_uuid(row: &Row, name: &str) -> Result<Uuid, String> {
        sqlx::Row::try_get(row, name).map_err(|e| e.to_string())
    }

    pub(super) fn get_opt_uuid(row: &Row, name: &str) -> Result<Option<Uuid>, String> {
        sqlx::Row::try_get(row, name).map_err(|e| e.to_string())
    }

    pub(super) fn get_json(row: &Row, name: &str) -> Result<serde_json::Value, String> {
        let Json(value) = sqlx::Row::try_get::<Json<serde_json::Value>, _>(row, name)
            .map_err(|e| e.to_string())?;
        Ok(value)
    }

    pub(super) fn get_opt_json(row: &Row, name: &str) -> Result<Option<serde_json::Value>, String> {
        let value = sqlx::Row::try_get::<Option<Json<serde_json::Value>>, _>(row, name)
            .map_err(|e| e.to_string())?;
        Ok(value.map(|Json(v)| v))
    }
}

sql_decoders!();
sql_store_pool!(PostgresStore, PgPool, "");
impl_sql_store!(PostgresStore, "postgres");
