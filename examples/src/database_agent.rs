//! The database agent, shared by `examples/database_agent.rs` and its test:
//! an agent whose `list_orders` tool runs `SELECT ... FROM orders` with no
//! `WHERE` clause at all, inside a transaction that PostgreSQL row-level
//! security scopes to the call's verified grant. Alice's run sees Alice's
//! orders, Bob's run sees Bob's, whatever the SQL says.
//!
//! `DATABASE_URL` is used only to set up (as the owner of the tables); the
//! tool's pool connects as a login the example creates, a NOINHERIT member
//! of the tool role and nothing else — `RlsSession::begin` refuses a
//! superuser, a `BYPASSRLS` login or the tables' owner.

use std::io::Write;
use std::str::FromStr;
use std::sync::Mutex;

use agentsec::engine::{AgentRuntime, RunOutcome};
use agentsec::model::{ScriptedModel, ScriptedReply};
use agentsec::permission::rls::{EXAMPLE_RLS_SCHEMA, RlsKey, RlsSession};
use agentsec::prelude::*;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};

/// What the example prints when there is no database to run against.
pub const SKIPPED: &str = "skipped: set DATABASE_URL to a PostgreSQL database (e.g. postgres://postgres@127.0.0.1:5432/test)";

/// One order row as the tool returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    /// The order id.
    pub id: String,
    /// Who placed it.
    pub owner_id: String,
    /// What it cost, in cents.
    pub total_cents: i64,
}

/// The tool's database: a pool, the row-level-security session, and what
/// each call returned (for the narration).
pub struct OrdersDb {
    pool: PgPool,
    session: RlsSession,
    seen: Mutex<Vec<(String, Vec<OrderRow>)>>,
}

impl OrdersDb {
    /// What each `list_orders` call returned: (user, rows), in call order.
    pub fn seen(&self) -> Vec<(String, Vec<OrderRow>)> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// List the signed-in user's orders.
#[tool(read = "orders", scope = "user")]
pub async fn list_orders(
    ctx: &ToolCtx,
    #[state] db: &OrdersDb,
) -> Result<Vec<OrderRow>, ToolError> {
    // The claims of this call's grant, verified by the runtime before the
    // tool runs: user, tenant, scope `user`, effect `read:orders`.
    let claims = ctx
        .grant_claims()
        .ok_or_else(|| ToolError::failed("no verified grant for this call"))?;
    let mut tx = db
        .session
        .begin(&db.pool, claims)
        .await
        .map_err(|e| ToolError::failed(format!("database: {e}")))?;
    // Deliberately no `WHERE owner_id = ...`: the policies add it.
    let rows = sqlx::query("SELECT id, owner_id, total_cents FROM orders ORDER BY id")
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| ToolError::failed(format!("database: {e}")))?;
    tx.commit()
        .await
        .map_err(|e| ToolError::failed(format!("database: {e}")))?;
    let rows = rows
        .iter()
        .map(|row| {
            Ok(OrderRow {
                id: row.try_get("id")?,
                owner_id: row.try_get("owner_id")?,
                total_cents: row.try_get("total_cents")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(|e| ToolError::failed(format!("database: {e}")))?;
    db.seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((ctx.user().id.clone(), rows.clone()));
    Ok(rows)
}

/// The database agent.
#[agent(
    name = "orders",
    prompt = "You answer questions about the user's orders.",
    tools(list_orders),
    max_iterations = 3,
    budget(tokens = 10_000, tool_calls = 4)
)]
pub struct DatabaseAgent;

/// What the example did.
pub struct DatabaseReport {
    /// What each `list_orders` call returned: (user, rows).
    pub seen: Vec<(String, Vec<OrderRow>)>,
    /// How many rows the table holds, counted as the owner (no RLS).
    pub total_rows: i64,
    /// The answers of the runs, in order.
    pub answers: Vec<String>,
    /// The schema the example created (and dropped).
    pub schema: String,
    /// The tool role the example created (and dropped).
    pub role: String,
    /// The login the tool's pool connected as (created and dropped).
    pub login: String,
}

/// Runs the example against `DATABASE_URL`; `Ok(None)` (after printing
/// [`SKIPPED`]) when it is not set.
pub async fn run(
    out: &mut dyn Write,
) -> Result<Option<DatabaseReport>, Box<dyn std::error::Error>> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        writeln!(out, "{SKIPPED}")?;
        return Ok(None);
    };
    // Hex suffix: a fixed alphabet, safe to splice into DDL.
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let schema = format!("agentsec_example_{suffix}");
    let role = format!("agentsec_example_tool_{suffix}");
    let login = format!("agentsec_example_login_{suffix}");
    let admin = PgPool::connect(&url).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA {schema}; CREATE ROLE {login} LOGIN NOINHERIT"
    )))
    .execute(&admin)
    .await?;
    writeln!(
        out,
        "created schema {schema}, tool role {role} and login {login}"
    )?;
    let names = Names {
        schema: &schema,
        role: &role,
        login: &login,
    };
    let result = in_schema(out, &url, &names).await;
    // Cleanup whatever happened: the schema, the roles' grants, the roles.
    let cleanup = sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP SCHEMA {schema} CASCADE; DROP OWNED BY {login}; DROP ROLE {login}; \
         DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN \
           EXECUTE 'DROP OWNED BY {role}'; EXECUTE 'DROP ROLE {role}'; END IF; END $$;"
    )))
    .execute(&admin)
    .await;
    admin.close().await;
    let (seen, total_rows, answers) = result?;
    cleanup?;
    writeln!(
        out,
        "dropped schema {schema}, role {role} and login {login}"
    )?;
    Ok(Some(DatabaseReport {
        seen,
        total_rows,
        answers,
        schema,
        role,
        login,
    }))
}

type Outcome = (Vec<(String, Vec<OrderRow>)>, i64, Vec<String>);

struct Names<'a> {
    schema: &'a str,
    role: &'a str,
    login: &'a str,
}

async fn in_schema(
    out: &mut dyn Write,
    url: &str,
    names: &Names<'_>,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let owner_options = PgConnectOptions::from_str(url)?.options([("search_path", names.schema)]);
    // The tools connect as the restricted login, never as the owner.
    let tools_options = owner_options.clone().username(names.login);
    let owner = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(owner_options)
        .await?;
    let result = async {
        let key = set_up(out, &owner, names).await?;
        let tools = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(tools_options)
            .await?;
        let result = run_agent(out, &owner, &tools, names.role, key).await;
        tools.close().await;
        result
    }
    .await;
    owner.close().await;
    result
}

/// Creates the example schema and seeds it, as the owner; makes the login a
/// member of the tool role; installs a fresh key.
async fn set_up(
    out: &mut dyn Write,
    owner: &PgPool,
    names: &Names<'_>,
) -> Result<RlsKey, Box<dyn std::error::Error>> {
    let role = names.role;
    {
        let mut conn = owner.acquire().await?;
        // The example schema creates the role named by this setting.
        sqlx::query("SELECT set_config('agentsec.tool_role', $1, false)")
            .bind(role)
            .execute(&mut *conn)
            .await?;
        sqlx::raw_sql(EXAMPLE_RLS_SCHEMA)
            .execute(&mut *conn)
            .await?;
        sqlx::raw_sql(
            "RESET agentsec.tool_role;
             INSERT INTO orders (id, owner_id, tenant_id, total_cents) VALUES
                ('ord_a1', 'alice', 'acme', 4999),
                ('ord_a2', 'alice', 'acme', 12500),
                ('ord_b1', 'bob',   'acme', 89900),
                ('ord_b2', 'bob',   'acme', 1500);",
        )
        .execute(&mut *conn)
        .await?;
        sqlx::raw_sql(AssertSqlSafe(format!("GRANT {role} TO {}", names.login)))
            .execute(&mut *conn)
            .await?;
    }
    // In production the key comes from the secret store; here a fresh one.
    let key = RlsKey::random();
    key.install(owner).await?;
    writeln!(
        out,
        "the tools connect as {}, a member of {role} only",
        names.login
    )?;
    Ok(key)
}

async fn run_agent(
    out: &mut dyn Write,
    owner: &PgPool,
    pool: &PgPool,
    role: &str,
    key: RlsKey,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let total_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(owner)
        .await?;
    writeln!(
        out,
        "seeded {total_rows} orders (alice: 2, bob: 2); the tool's SQL has no WHERE clause"
    )?;

    let db = std::sync::Arc::new(OrdersDb {
        pool: pool.clone(),
        session: RlsSession::new(role, key)?,
        seen: Mutex::new(Vec::new()),
    });
    let model = ScriptedModel::new([
        ScriptedReply::tool_call("list_orders", json!({})),
        ScriptedReply::text("You have two orders: ord_a1 and ord_a2."),
        ScriptedReply::tool_call("list_orders", json!({})),
        ScriptedReply::text("You have two orders: ord_b1 and ord_b2."),
    ]);
    let runtime = AgentRuntime::<DatabaseAgent>::builder()
        .model(model)
        .state_arc(db.clone())
        .build()
        .await?;
    let mut answers = Vec::new();
    for user in ["alice", "bob"] {
        writeln!(out, "{user}: What are my orders?")?;
        let report = runtime
            .start(
                UserIdentity::new(user).with_tenant("acme"),
                "What are my orders?",
            )
            .await?;
        if let Some((_, rows)) = db.seen().last() {
            writeln!(out, "  list_orders ran as {user} and returned:")?;
            for row in rows {
                writeln!(
                    out,
                    "    {} owner={} total={}",
                    row.id, row.owner_id, row.total_cents
                )?;
            }
        }
        match report.outcome {
            RunOutcome::Completed { answer } => {
                writeln!(out, "  agent: {answer}")?;
                answers.push(answer);
            }
            other => return Err(format!("{user}'s run did not complete: {other:?}").into()),
        }
    }
    Ok((db.seen(), total_rows, answers))
}
