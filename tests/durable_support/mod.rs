//! Shared by the durable-run tests and the crash child: an agent whose
//! irreversible tools write every execution to an append-only, fsync'd
//! side-effect log (the "outside world" the tests count executions in), a
//! model whose answer depends only on the conversation (so a recovered run
//! in a new process gets the same answers), and the stores to run against.
#![allow(dead_code)]

pub mod fixture;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agentsec::BoxFuture;
use agentsec::engine::{AgentRuntime, StoreCheckpoints};
use agentsec::model::{
    Message, ModelError, ModelProvider, ModelRequest, ModelResponse, ModelToolCall, StopReason,
    Usage,
};
use agentsec::prelude::*;
use agentsec::store::{MemoryStore, PostgresStore, RunStore, SqliteStore};
use serde_json::{Value, json};

/// The outside world: one JSON line per tool execution, flushed to disk
/// before the tool returns.
pub struct SideEffects {
    path: PathBuf,
}

impl SideEffects {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn append(&self, entry: &Value) -> Result<(), ToolError> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(ToolError::failed)?;
        // One write of the whole line: with O_APPEND it lands whole even
        // when several workers record at once (`writeln!` may split it).
        file.write_all(format!("{entry}\n").as_bytes())
            .map_err(ToolError::failed)?;
        file.sync_all().map_err(ToolError::failed)
    }

    /// Every recorded execution.
    pub fn read(path: &Path) -> Vec<Value> {
        match std::fs::read_to_string(path) {
            Ok(text) => text
                .lines()
                .map(|l| serde_json::from_str(l).expect("side-effect lines are whole JSON"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The recorded executions of `tool`.
    pub fn of(path: &Path, tool: &str) -> Vec<Value> {
        Self::read(path)
            .into_iter()
            .filter(|e| e["tool"] == tool)
            .collect()
    }
}

fn record(ctx: &ToolCtx, effects: &SideEffects, tool: &str, args: Value) -> Result<(), ToolError> {
    effects.append(&json!({
        "tool": tool,
        "run": ctx.run_id().to_string(),
        "call": ctx.call_id().to_string(),
        "key": ctx.idempotency_key(),
        "approver": ctx.approval().map(|a| a.approver.clone()),
        "args": args,
    }))
}

/// Send a payment to a payee.
#[tool(egress = "payments", scope = "user")]
#[irreversible(reason = "moves money")]
pub async fn send_payment(
    ctx: &ToolCtx,
    #[state] effects: &SideEffects,
    /// Who is paid.
    payee: String,
    /// How much, in cents.
    amount_cents: u64,
) -> Result<String, ToolError> {
    record(
        ctx,
        effects,
        "send_payment",
        json!({"payee": payee, "amount_cents": amount_cents}),
    )?;
    Ok(format!("paid {amount_cents} to {payee}"))
}

/// Book a transfer between the user's accounts; the bank deduplicates
/// requests by idempotency key.
#[tool(write = "transfers", scope = "user", idempotent)]
#[irreversible(reason = "moves money")]
pub async fn book_transfer(
    ctx: &ToolCtx,
    #[state] effects: &SideEffects,
    /// The destination account.
    account: String,
    /// How much, in cents.
    amount_cents: u64,
) -> Result<String, ToolError> {
    record(
        ctx,
        effects,
        "book_transfer",
        json!({"account": account, "amount_cents": amount_cents}),
    )?;
    Ok(format!("booked {amount_cents} to {account}"))
}

/// Look up the balance of one of the user's accounts.
#[tool(read = "accounts", scope = "user")]
pub async fn lookup_balance(
    ctx: &ToolCtx,
    #[state] effects: &SideEffects,
    /// The account.
    account: String,
) -> Result<String, ToolError> {
    record(ctx, effects, "lookup_balance", json!({"account": account}))?;
    Ok(format!("{account}: 1000"))
}

#[agent(
    name = "payments",
    prompt = "You move the signed-in user's money when asked.",
    tools(send_payment, book_transfer, lookup_balance),
    max_iterations = 4,
    budget(tokens = 100_000, tool_calls = 10)
)]
pub struct PaymentsAgent;

/// Answers from the conversation alone: before any tool result, it proposes
/// `calls` (all at once); after, it answers "done". Every reply costs 10 + 5
/// tokens.
#[derive(Clone)]
pub struct PlanModel {
    calls: Vec<(String, Value)>,
}

impl PlanModel {
    pub fn new<I, S>(calls: I) -> Self
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Self {
            calls: calls.into_iter().map(|(n, a)| (n.into(), a)).collect(),
        }
    }

    /// A payment and a transfer, proposed together.
    pub fn payment_and_transfer() -> Self {
        Self::new([
            (
                "send_payment",
                json!({"payee": "acme", "amount_cents": 1200}),
            ),
            (
                "book_transfer",
                json!({"account": "savings", "amount_cents": 300}),
            ),
        ])
    }
}

impl ModelProvider for PlanModel {
    fn name(&self) -> &str {
        "plan"
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        let answered = request
            .messages
            .iter()
            .any(|m| matches!(m, Message::Tool { .. }));
        let tool_calls = if answered {
            Vec::new()
        } else {
            self.calls
                .iter()
                .enumerate()
                .map(|(i, (name, args))| {
                    ModelToolCall::new(format!("call_{i}"), name, args.to_string())
                })
                .collect()
        };
        let response = ModelResponse {
            content: answered.then(|| "done".to_owned()),
            tool_calls,
            usage: Usage::new(10, 5),
            stop: StopReason::EndTurn,
            model: "plan".into(),
        };
        Box::pin(async move { Ok(response) })
    }
}

pub fn alice() -> UserIdentity {
    UserIdentity::new("alice").with_tenant("acme")
}

pub fn bob() -> UserIdentity {
    UserIdentity::new("bob")
        .with_tenant("acme")
        .with_roles(["approver"])
}

/// A signing key for decisions (tests only).
pub const SIGNING_KEY: &[u8; 32] = b"test-approval-signing-key-000001";

pub async fn runtime(
    checkpoints: &StoreCheckpoints,
    effects: &Path,
    model: PlanModel,
) -> AgentRuntime<PaymentsAgent> {
    AgentRuntime::<PaymentsAgent>::builder()
        .model(model)
        .state(SideEffects::new(effects))
        .checkpoints(checkpoints.clone())
        .build()
        .await
        .expect("the payments agent has what it needs")
}

/// A fresh directory under the system's temp dir.
pub fn temp_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "agentsec-{label}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

/// Opens a store from a spec: `memory`, `sqlite:<path>` or
/// `postgres:<schema>` (the server from `DATABASE_URL`).
pub async fn open_store(spec: &str) -> Arc<dyn RunStore> {
    if spec == "memory" {
        return Arc::new(MemoryStore::new());
    }
    if let Some(path) = spec.strip_prefix("sqlite:") {
        return Arc::new(SqliteStore::open(path).await.expect("open SQLite"));
    }
    if let Some(schema) = spec.strip_prefix("postgres:") {
        let url = std::env::var("DATABASE_URL").expect("DATABASE_URL for a postgres store");
        let options = sqlx::postgres::PgConnectOptions::from_str(&url)
            .expect("parse DATABASE_URL")
            .options([("search_path", schema)]);
        return Arc::new(
            PostgresStore::connect_with(options, 8)
                .await
                .expect("connect to PostgreSQL"),
        );
    }
    panic!("unknown store spec `{spec}`");
}

/// A store backend for one test: a fresh SQLite file, or a fresh schema on
/// `DATABASE_URL` (dropped by [`Backend::cleanup`]).
pub struct Backend {
    pub spec: String,
    dir: Option<PathBuf>,
    schema: Option<(sqlx::PgPool, String)>,
}

impl Backend {
    pub fn sqlite() -> Self {
        let dir = temp_dir("sqlite");
        Self {
            spec: format!("sqlite:{}", dir.join("runs.db").display()),
            dir: Some(dir),
            schema: None,
        }
    }

    /// `None` (after printing why) when `DATABASE_URL` is not set.
    pub async fn postgres() -> Option<Self> {
        let Ok(url) = std::env::var("DATABASE_URL") else {
            println!("skipped: DATABASE_URL not set");
            return None;
        };
        let admin = sqlx::PgPool::connect(&url)
            .await
            .expect("connect to DATABASE_URL");
        // A random, fixed-alphabet name: safe to splice into DDL.
        let name = format!("agentsec_durable_{}", temp_suffix());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .expect("create schema");
        Some(Self {
            spec: format!("postgres:{name}"),
            dir: Some(temp_dir("effects")),
            schema: Some((admin, name)),
        })
    }

    pub async fn open(&self) -> Arc<dyn RunStore> {
        open_store(&self.spec).await
    }

    /// Where the side-effect log of this test lives.
    pub fn effects(&self) -> PathBuf {
        match &self.dir {
            Some(dir) => dir.join("effects.jsonl"),
            None => std::env::temp_dir().join(format!("agentsec-effects-{}.jsonl", temp_suffix())),
        }
    }

    pub async fn cleanup(self) {
        if let Some((admin, name)) = self.schema {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
                .execute(&admin)
                .await
                .expect("drop schema");
            admin.close().await;
        }
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Unique per call: parallel tests in one process can read the same clock
/// value, so a counter and a random part keep names apart.
fn temp_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{}_{n}_{}", std::process::id(), &random[..12])
}

/// Runs each named `async fn(Backend)` of the calling test file twice: on
/// SQLite, and on PostgreSQL (which needs `DATABASE_URL`; CI sets it and
/// fails when the server is unreachable, so there it never skips). An
/// optional `#[tokio::test(...)]` attribute first sets the runtime flavour.
#[allow(unused_macros)]
macro_rules! on_sqlite_and_postgres {
    (#[$test:meta] $($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[$test]
            async fn $name() {
                super::$name(super::Backend::sqlite()).await;
            })*
        }
        mod postgres {
            $(#[$test]
            async fn $name() {
                let Some(backend) = super::Backend::postgres().await else {
                    return;
                };
                super::$name(backend).await;
            })*
        }
    };
    ($($name:ident),* $(,)?) => {
        on_sqlite_and_postgres!(#[tokio::test] $($name),*);
    };
}
#[allow(unused_imports)]
pub(crate) use on_sqlite_and_postgres;
