use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, SqlSafeStr, Sqlite, Transaction};

use super::sql::decode::sql_decoders;
use super::sql::prelude::*;
use super::sql::sql_store_pool;
use super::sql::store_impl::impl_sql_store;

type Db = Sqlite;
type Row = sqlx::sqlite::SqliteRow;

/// How long a writer waits for the database lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The embedded store: one SQLite file (WAL mode, foreign keys on).
///
/// The file and its parent directories are created on first use and the
/// schema is migrated on open, so `open` on a new path just works. Several
/// processes may share the file; writes are serialized by SQLite's lock.
///
/// ```
/// use agentsec_runtime::store::{NewRun, RunStore, SqliteStore};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = SqliteStore::open_in_memory().await?;
/// let run = store.create_run(&NewRun::new("support", "user-1", serde_json::json!({}))).await?;
/// assert_eq!(store.get_run(run.id).await?.version, 1);
/// # Ok::<(), agentsec_runtime::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed, with parent directories) the database at
    /// `path` and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Backend(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }

    /// A private in-memory database (for tests and examples); it lives as
    /// long as the store.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // One connection that never idles out: the database exists only
        // while a connection to it is open.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.dangerous_set_table_name(super::sql::MIGRATIONS_TABLE);
        // A database made before the store used sqlx's migrator recorded its
        // first migration in `agentsec_schema_migrations`: mark it applied
        // (without running it again) so the later ones run on top.
        let legacy: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agentsec_schema_migrations')")
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

    /// `BEGIN IMMEDIATE` takes the write lock up front (waiting up to the busy
    /// timeout), so a transaction never fails half-way upgrading a read lock.
    async fn begin_write(&self) -> Result<Transaction<'static, Db>, StoreError> {
        let conn = self.clean_connection().await?;
        Ok(Transaction::begin(conn, Some("BEGIN IMMEDIATE".into_sql_str())).await?)
    }

    /// A read transaction: in WAL mode its first read fixes the snapshot.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Db>, StoreError> {
        let conn = self.clean_connection().await?;
        Ok(Transaction::begin(conn, None).await?)
    }

    /// A pooled connection that sqlx does not think is inside a transaction.
    ///
    /// When the disk is full SQLite rolls the transaction back by itself; the
    /// `ROLLBACK` sqlx then sends fails ("no transaction is active"), and
    /// sqlx keeps counting the transaction as open on that connection: every
    /// later `BEGIN IMMEDIATE` on it would fail ("attempted to call
    /// begin_with at non-zero transaction depth") until the process
    /// restarted. Such a connection is closed instead (the pool opens a
    /// fresh one), so the store works again as soon as there is room.
    async fn clean_connection(&self) -> Result<PoolConnection<Db>, StoreError> {
        // Each stale connection is closed, so this ends after at most one
        // pass over the pool.
        for _ in 0..=self.pool.options().get_max_connections() {
            let mut conn = self.pool.acquire().await?;
            if !conn.is_in_transaction() {
                return Ok(conn);
            }
            tracing::warn!("closing a SQLite connection left inside a failed transaction");
            conn.close_on_drop();
        }
        Err(StoreError::Backend(
            "every SQLite connection was left inside a failed transaction".into(),
        ))
    }

    async fn claim_rows(
        &self,
        worker: &str,
        now: UnixMillis,
        until: UnixMillis,
        limit: i64,
    ) -> Result<Vec<Row>, StoreError> {
        // One statement: SQLite runs it under the database write lock, so two
        // workers cannot select the same free run.
        const CLAIM: &str = concat!(
            "UPDATE runs SET lease_owner = $1, lease_until = $2, lease_epoch = lease_epoch + 1 \
             WHERE id IN (SELECT id FROM runs \
             WHERE status = 'running' AND (lease_until IS NULL OR lease_until <= $3) \
             ORDER BY updated_at, id LIMIT $4) RETURNING ",
            q::run_cols!()
        );
        Ok(sqlx::query(CLAIM)
            .bind(worker)
            .bind(until.0)
            .bind(now.0)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}

mod codec {
    use super::Row;
    use uuid::Uuid;

    pub(super) fn id(id: Uuid) -> String {
        id.hyphenated().to_string()
    }

    pub(super) fn json(value: &serde_json::Value) -> String {
        value.to_string()
    }

    pub(super) fn get_uuid(row: &Row, name: &str) -> Result<Uuid, String> {
        let text: String = sqlx::Row::try_get(row, name).map_err(|e| e.to_string())?;
        Uuid::parse_str(&text).map_err(|e| format!("{name}: {e}"))
    }

    pub(super) fn get_opt_uuid(row: &Row, name: &str) -> Result<Option<Uuid>, String> {
        let text: Option<String> = sqlx::Row::try_get(row, name).map_err(|e| e.to_string())?;
        text.map(|t| Uuid::parse_str(&t).map_err(|e| format!("{name}: {e}")))
            .transpose()
    }

    pub(super) fn get_json(row: &Row, name: &str) -> Result<serde_json::Value, String> {
        let text: String = sqlx::Row::try_get(row, name).map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))
    }

    pub(super) fn get_opt_json(row: &Row, name: &str) -> Result<Option<serde_json::Value>, String> {
        let text: Option<String> = sqlx::Row::try_get(row, name).map_err(|e| e.to_string())?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| format!("{name}: {e}")))
            .transpose()
    }
}

sql_decoders!();
sql_store_pool!(
    SqliteStore,
    SqlitePool,
    " (its connections must have foreign keys on)"
);
impl_sql_store!(SqliteStore, "sqlite");
