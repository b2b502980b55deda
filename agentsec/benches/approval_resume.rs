//! Approvals: the time from `AgentRuntime::resume(run, [approve])` to the
//! approved tool running (loading the paused state, recording the approval,
//! saving, deciding and dispatching the call under a fresh grant), and what
//! a paused run costs to keep: its serialized `RunState`, and the heap the
//! runtime holds for it (counted by a global allocator in this binary).
//!
//! `cargo bench -p agentsec --bench approval_resume`

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use agentsec::BoxFuture;
use agentsec::engine::{AgentRuntime, RunOutcome, RunReport};
use agentsec::hitl::ApprovalDecision;
use agentsec::model::{
    Message, ModelError, ModelProvider, ModelRequest, ModelResponse, ModelToolCall, StopReason,
    Usage,
};
use agentsec::prelude::*;
use criterion::Criterion;

/// Counts the bytes live on the heap, to measure what a paused run keeps.
struct CountingAllocator;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter is only bookkeeping.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's pointer, layout and size.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// When the approved refund last ran.
static REFUNDED_AT: Mutex<Option<Instant>> = Mutex::new(None);

/// Refund an order to the customer's card.
#[tool(write = "payments", scope = "user")]
#[irreversible(reason = "moves money")]
async fn refund_order(
    ctx: &ToolCtx,
    /// The order to refund.
    order_id: String,
    /// The amount, in cents.
    amount_cents: u64,
) -> Result<String, ToolError> {
    let _ = ctx;
    *REFUNDED_AT.lock().expect("not poisoned") = Some(Instant::now());
    Ok(format!("refunded {amount_cents} on {order_id}"))
}

#[agent(
    name = "support",
    prompt = "You refund orders when asked.",
    tools(refund_order),
    max_iterations = 4,
    budget(tokens = 1_000_000)
)]
pub struct Support;

/// A scripted model that keeps nothing: asked by a user, it proposes the
/// refund; given the tool's result, it answers. (The library's
/// `ScriptedModel` records every request, which would be counted as the
/// paused runs' memory.)
struct Refunder;

impl ModelProvider for Refunder {
    fn name(&self) -> &str {
        "refunder"
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        let (content, tool_calls, stop) = match request.messages.last() {
            Some(Message::User { .. }) => (
                None,
                vec![ModelToolCall::new(
                    "call_1",
                    "refund_order",
                    r#"{"order_id": "o-1017", "amount_cents": 1299}"#,
                )],
                StopReason::ToolUse,
            ),
            _ => (Some("Refunded.".to_owned()), vec![], StopReason::EndTurn),
        };
        Box::pin(async move {
            Ok(ModelResponse {
                content,
                tool_calls,
                usage: Usage::new(120, 20),
                stop,
                model: "refunder".into(),
            })
        })
    }
}

const GROUP: &str = "approval_resume";
/// The target (issue 8): under 5 ms from resume to the tool running.
const TARGET_NS: f64 = 5_000_000.0;
/// Paused runs kept at once to measure the heap each costs.
const PAUSED_RUNS: usize = 1_000;

fn alice() -> UserIdentity {
    UserIdentity::new("alice").with_tenant("acme")
}

async fn runtime() -> AgentRuntime<Support> {
    AgentRuntime::<Support>::builder()
        .model(Refunder)
        .build()
        .await
        .expect("the support agent has what it needs")
}

async fn pause(runtime: &AgentRuntime<Support>) -> RunReport {
    let report = runtime
        .start(alice(), "Please refund order o-1017.")
        .await
        .expect("the run starts");
    assert!(
        matches!(report.outcome, RunOutcome::AwaitingApproval { .. }),
        "{:?}",
        report.outcome
    );
    report
}

fn approve(report: &RunReport) -> ApprovalDecision {
    let call = report
        .state
        .awaiting_approval()
        .next()
        .expect("one call waits");
    ApprovalDecision::approve(call.call_id, UserIdentity::new("bob").with_tenant("acme"))
}

fn bench(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let mut group = c.benchmark_group(GROUP);
    group.bench_function("resume_to_execution", |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            // A fresh runtime per sample: the in-memory checkpoints keep every run.
            let runtime = runtime().await;
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let paused = pause(&runtime).await;
                let decision = approve(&paused);
                let start = Instant::now();
                let done = runtime
                    .resume(paused.run_id, [decision])
                    .await
                    .expect("the run resumes");
                let ran = executed_at(&done).expect("the approved refund ran");
                total += ran.saturating_duration_since(start);
            }
            total
        })
    });
    group.finish();
}

/// When the refund of this run executed: the tool stamps the time, and the
/// run's messages prove it was this run's call that ran (and succeeded).
fn executed_at(done: &RunReport) -> Option<Instant> {
    let ran = done.state.messages.iter().any(
        |m| matches!(m, Message::Tool { name, is_error: false, .. } if name == "refund_order"),
    );
    let stamp = REFUNDED_AT.lock().expect("not poisoned").take();
    if ran { stamp } else { None }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let mut c = common::criterion();
    bench(&mut c, &rt);
    c.final_summary();
    memory(&rt);
    summary();
}

/// What a paused run costs to keep.
fn memory(rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        let runtime = runtime().await;
        // Warm up whatever is allocated once (thread-locals, caches).
        let first = pause(&runtime).await;
        let before = LIVE_BYTES.load(Ordering::Relaxed);
        let mut ids = Vec::with_capacity(PAUSED_RUNS);
        for _ in 0..PAUSED_RUNS {
            ids.push(pause(&runtime).await.run_id);
        }
        let after = LIVE_BYTES.load(Ordering::Relaxed);
        // The ids vector is the bench's own, not the runtime's.
        let ids_bytes = (ids.capacity() * std::mem::size_of_val(&first.run_id)) as isize;
        let per_run = (after - before - ids_bytes) as f64 / PAUSED_RUNS as f64;
        let json = serde_json::to_vec(&first.state).map(|v| v.len()).unwrap_or(0);
        println!();
        println!(
            "approval_resume: a paused run is {json} bytes of JSON; the runtime holds {per_run:.0} bytes of heap per paused run ({PAUSED_RUNS} runs, in-memory checkpoints)"
        );
        drop(ids);
    });
}

fn summary() {
    if !common::measuring() {
        return;
    }
    let Some(median) = common::median_ns(GROUP, "resume_to_execution") else {
        println!("approval_resume: no estimates found");
        return;
    };
    println!(
        "approval_resume: resume to execution median {}",
        common::human(median)
    );
    common::report_at_most("resume to the approved tool running", median, TARGET_NS);
}
