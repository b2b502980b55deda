//! The harness of the row-level security tests: a schema, a restricted tool
//! role and a login of their own per test (roles are global to the cluster),
//! all dropped afterwards, so tests run in parallel; the example schema is
//! the one the crate ships, seeded with the same rows for every test. The
//! tools' pool connects as the login — a NOLOGIN-free, NOINHERIT member of
//! the tool role and nothing else, as the guide sets it up — never as the
//! superuser of `DATABASE_URL`, which only creates and inspects.
#![allow(dead_code)] // each test file uses part of it

use std::future::Future;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use agentsec_runtime::identity::{CallId, RunId};
use agentsec_runtime::permission::GrantClaims;
use agentsec_runtime::permission::rls::{
    EXAMPLE_RLS_SCHEMA, RlsKey, RlsSession, ScopedTransaction,
};
use agentsec_runtime::tool::Scope;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Postgres, Transaction};

/// What a test body gets: the tools' pool on its schema (connecting as the
/// test's own restricted login), the superuser's pool on the same schema
/// (to seed and to look at what really is in the tables), the names of the
/// tool role and the login, and the session with the installed key.
#[derive(Clone)]
pub struct Db {
    pub pool: PgPool,
    pub options: PgConnectOptions,
    pub admin: PgPool,
    pub admin_options: PgConnectOptions,
    pub role: String,
    pub login: String,
    pub key: [u8; 32],
    pub session: RlsSession,
}

impl Db {
    /// The tag the policies expect for `claims`, computed here by hand
    /// (SHA-256 of key || SHA-256 of the claims), not by the runtime.
    pub fn tag(&self, claims: &str) -> String {
        let mut outer = Sha256::new();
        outer.update(self.key);
        outer.update(Sha256::digest(claims.as_bytes()));
        hex::encode(outer.finalize())
    }
}

pub async fn with_db<F, Fut>(body: F)
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
    let login = format!("agentsec_login_{suffix}");
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let admin = PgPool::connect(&url)
        .await
        .expect("connect to DATABASE_URL");
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA {schema}; CREATE ROLE {login} LOGIN NOINHERIT"
    )))
    .execute(&admin)
    .await
    .expect("create schema and login");
    let admin_options = PgConnectOptions::from_str(&url)
        .expect("parse DATABASE_URL")
        .options([("search_path", schema.as_str())]);
    let options = admin_options.clone().username(&login);
    let owner = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(admin_options.clone())
        .await
        .expect("connect to the test schema");

    let setup = async {
        let mut conn = owner.acquire().await?;
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
        sqlx::raw_sql(AssertSqlSafe(format!("GRANT {role} TO {login}")))
            .execute(&mut *conn)
            .await?;
        let rls_key = RlsKey::from_bytes(&key).expect("32 bytes");
        rls_key
            .install(&mut *conn)
            .await
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        let session = RlsSession::new(&role, rls_key).expect("a plain role name");
        Ok::<_, sqlx::Error>((pool, session))
    }
    .await;

    let (outcome, pool) = match &setup {
        Ok((pool, session)) => {
            let db = Db {
                pool: pool.clone(),
                options,
                admin: owner.clone(),
                admin_options,
                role: role.clone(),
                login: login.clone(),
                key,
                session: session.clone(),
            };
            (Some(tokio::spawn(body(db)).await), Some(pool.clone()))
        }
        Err(_) => (None, None),
    };
    if let Some(pool) = pool {
        pool.close().await;
    }
    owner.close().await;
    // Dropping the schema drops the roles' privileges on its objects; the
    // roles themselves are global and go too.
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP SCHEMA {schema} CASCADE; DROP OWNED BY {login}; DROP ROLE {login}; \
         DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN \
           EXECUTE 'DROP OWNED BY {role}'; EXECUTE 'DROP ROLE {role}'; END IF; END $$;"
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

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Claims as the runtime mints them, for `user` in `tenant`.
pub fn claims(
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

pub async fn ids(tx: &mut ScopedTransaction, sql: &'static str) -> Vec<String> {
    sqlx::query_scalar(sql)
        .fetch_all(&mut **tx)
        .await
        .expect("query")
}

/// The SQLSTATE of a database error.
pub fn sqlstate(error: &sqlx::Error) -> String {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// The ids a query returns in a transaction opened by hand.
pub async fn raw_ids(tx: &mut Transaction<'static, Postgres>, sql: &'static str) -> Vec<String> {
    sqlx::query_scalar(sql)
        .fetch_all(&mut **tx)
        .await
        .expect("query")
}

/// Opens a transaction as the restricted role with `raw` as the claims
/// setting (or none), tagged with the key by hand, bypassing the helper: to
/// test what the policies themselves accept.
pub async fn raw_scoped(db: &Db, raw: Option<&str>) -> Transaction<'static, Postgres> {
    let mut tx = db.pool.begin().await.unwrap();
    if let Some(raw) = raw {
        sqlx::query(
            "SELECT set_config('request.jwt.claims', $1, true), \
                    set_config('agentsec.claims_tag', $2, true)",
        )
        .bind(raw)
        .bind(db.tag(raw))
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
