//! Checkpointed engine steps per second: runs of an agent driven by the
//! scripted model (one tool call, then an answer), every state saved before
//! the next step, on the in-memory checkpoints. Then the cost of one durable
//! checkpoint: the run state serialized and written with
//! `RunStore::update_run` on SQLite (a file, WAL, `synchronous = NORMAL`),
//! and on PostgreSQL when `DATABASE_URL` is set.
//!
//! No store-backed `Checkpoints` adapter exists yet, so the durable figures
//! are the store's `update_run` path measured directly, and engine steps per
//! second on a store are estimated as one in-memory step plus one durable
//! checkpoint.
//!
//! `cargo bench -p agentsec --bench engine_steps`

mod common;

use std::time::{Duration, Instant};

use agentsec::engine::{AgentRuntime, RunOutcome, RunState};
use agentsec::model::{ScriptedModel, ScriptedReply};
use agentsec::prelude::*;
use agentsec::store::{NewRun, PostgresStore, RunRecord, RunStore, SqliteStore};
use criterion::Criterion;
use serde_json::json;

/// Add two integers.
#[tool(pure)]
async fn add(a: i64, b: i64) -> Result<i64, ToolError> {
    Ok(a + b)
}

#[agent(
    name = "calculator",
    prompt = "You add numbers with the add tool.",
    tools(add),
    max_iterations = 4,
    budget(tokens = 1_000_000)
)]
pub struct Calculator;

const GROUP: &str = "engine_steps";
const SQLITE_TARGET: f64 = 5_000.0;
const POSTGRES_TARGET: f64 = 1_000.0;

fn script(model: &ScriptedModel) {
    model.push(ScriptedReply::tool_call("add", json!({"a": 2, "b": 40})));
    model.push(ScriptedReply::text("42"));
}

async fn runtime(model: &ScriptedModel) -> AgentRuntime<Calculator> {
    AgentRuntime::<Calculator>::builder()
        .model(model.clone())
        .build()
        .await
        .expect("the calculator has what it needs")
}

/// One run, to learn its shape: how many states it saves, and the state a
/// durable checkpoint writes.
fn sample_run(rt: &tokio::runtime::Runtime) -> RunState {
    rt.block_on(async {
        let model = ScriptedModel::new([]);
        script(&model);
        let report = runtime(&model)
            .await
            .start(UserIdentity::new("alice"), "What is 2 + 40?")
            .await
            .expect("the run starts");
        assert_eq!(
            report.outcome,
            RunOutcome::Completed {
                answer: "42".into()
            }
        );
        report.state
    })
}

fn bench(c: &mut Criterion, rt: &tokio::runtime::Runtime, state: &RunState) {
    let mut group = c.benchmark_group(GROUP);
    // One iteration is one whole run. The scripted model records every
    // request, so each sample gets a fresh model and runtime (built outside
    // the timed part) instead of one that grows for the whole benchmark.
    group.bench_function("run_memory", |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let model = ScriptedModel::new([]);
            for _ in 0..iters {
                script(&model);
            }
            let runtime = runtime(&model).await;
            let start = Instant::now();
            for _ in 0..iters {
                let report = runtime
                    .start(UserIdentity::new("alice"), "What is 2 + 40?")
                    .await
                    .expect("the run starts");
                std::hint::black_box(report);
            }
            start.elapsed()
        })
    });

    let path = std::env::temp_dir().join(format!("agentsec-bench-{}.db", std::process::id()));
    let sqlite = rt
        .block_on(SqliteStore::open(&path))
        .expect("a SQLite file in the temp dir");
    group.bench_function("checkpoint_sqlite", |b| {
        b.to_async(rt)
            .iter_custom(|iters| checkpoints(&sqlite, state, iters))
    });
    drop(sqlite);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let postgres = rt
                .block_on(PostgresStore::connect(&url))
                .expect("DATABASE_URL is a reachable PostgreSQL");
            group.bench_function("checkpoint_postgres", |b| {
                b.to_async(rt)
                    .iter_custom(|iters| checkpoints(&postgres, state, iters))
            });
        }
        Err(_) => println!("engine_steps/checkpoint_postgres: skipped (DATABASE_URL is not set)"),
    }
    group.finish();
}

/// `iters` checkpoints of one run: the state serialized and written as the
/// run's next version, as a store-backed `Checkpoints::save` would.
async fn checkpoints(store: &impl RunStore, state: &RunState, iters: u64) -> Duration {
    let mut state = state.clone();
    let value = serde_json::to_value(&state).expect("a run state serializes");
    let mut record: RunRecord = store
        .create_run(&NewRun::new("calculator", "alice", value))
        .await
        .expect("the run is created");
    let start = Instant::now();
    for _ in 0..iters {
        state.version += 1;
        record.state = serde_json::to_value(&state).expect("a run state serializes");
        record = store.update_run(&record).await.expect("the update commits");
    }
    start.elapsed()
}

fn summary(state: &RunState) {
    if !common::measuring() {
        return;
    }
    // Every state the run passed through was saved: `version` counts them,
    // the first being the state the run started in.
    let steps = state.version.saturating_sub(1) as f64;
    let state_bytes = serde_json::to_vec(state).map(|v| v.len()).unwrap_or(0);
    println!();
    println!(
        "engine_steps: one run = {steps} checkpointed steps ({} saves), final state {state_bytes} bytes of JSON",
        state.version
    );
    let Some(run) = common::median_ns(GROUP, "run_memory") else {
        println!("engine_steps: no estimates found");
        return;
    };
    let step = run / steps;
    println!(
        "  in memory: {} per run, {} per step = {:.0} steps/s",
        common::human(run),
        common::human(step),
        1e9 / step
    );
    for (name, store, target) in [
        ("checkpoint_sqlite", "SQLite", SQLITE_TARGET),
        ("checkpoint_postgres", "PostgreSQL", POSTGRES_TARGET),
    ] {
        let Some(checkpoint) = common::median_ns(GROUP, name) else {
            println!("  {store}: not measured");
            continue;
        };
        let per_second = 1e9 / (step + checkpoint);
        println!(
            "  {store}: {} per checkpoint ({:.0}/s); estimated {per_second:.0} engine steps/s",
            common::human(checkpoint),
            1e9 / checkpoint
        );
        common::report_at_least(
            &format!("engine steps on {store} (estimated)"),
            per_second,
            target,
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let state = sample_run(&rt);
    let mut c = common::criterion();
    bench(&mut c, &rt, &state);
    c.final_summary();
    summary(&state);
}
