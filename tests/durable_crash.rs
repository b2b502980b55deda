//! Crash tests: a run in a child process is killed with SIGKILL at every
//! durable write boundary in turn (before and after each store write,
//! including between a call's intent and its result), then recovered by a
//! new process. Every run must end completed, with every irreversible
//! action executed at most once — exactly once where it was approved and
//! reported as done — counted in an external, fsync'd side-effect log.
//! Also: a run paused in one process is approved and completed from another;
//! and a process stopped with SIGSTOP right after writing a payment's intent,
//! whose run another process takes over and finishes, does not pay when it
//! is continued (fencing).
//!
//! Against SQLite always, and PostgreSQL when `DATABASE_URL` is set.

mod durable_support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use durable_support::*;
use serde_json::Value;

const CHILD: &str = env!("CARGO_BIN_EXE_crash_child");

fn child(args: &[&str]) -> Output {
    Command::new(CHILD)
        .args(args)
        .output()
        .expect("spawn the crash child")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {:?}\nstdout: {}\nstderr: {}",
        output.status,
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The tool result the model was given for `tool`.
fn result_of<'a>(summary: &'a Value, tool: &str) -> Option<&'a Value> {
    summary["results"]
        .as_array()?
        .iter()
        .find(|r| r["tool"] == tool)
}

/// Which recovery paths the crashes exercised.
#[derive(Default, Debug)]
struct Paths {
    payment_reconciled_as_not_executed: u32,
    payment_reconciled_as_executed: u32,
    transfer_retried: u32,
}

/// Checks one recovered run against the side-effect log.
fn check_run(summary: &Value, effects: &Path, case: &str, paths: &mut Paths) {
    let payments = SideEffects::of(effects, "send_payment");
    let transfers = SideEffects::of(effects, "book_transfer");
    if summary["status"] == "none" {
        // Killed before the run was stored: nothing may have happened.
        assert!(
            payments.is_empty() && transfers.is_empty(),
            "{case}: effects without a run"
        );
        return;
    }
    assert_eq!(summary["status"], "completed", "{case}: {summary}");
    assert_eq!(summary["answer"], "done", "{case}");
    // Never without its approval: every execution carried bob's approval.
    for effect in payments.iter().chain(&transfers) {
        assert_eq!(effect["approver"], "bob", "{case}: {effect}");
    }

    // The payment is not idempotent: at most once, ever; exactly once when
    // the run says it happened.
    assert!(payments.len() <= 1, "{case}: paid {} times", payments.len());
    let paid = result_of(summary, "send_payment").expect("the model heard of the payment");
    if paid["is_error"] == false {
        assert_eq!(
            payments.len(),
            1,
            "{case}: reported paid but not paid: {summary}"
        );
    } else {
        assert!(
            payments.is_empty(),
            "{case}: paid but reported as not: {summary}"
        );
        assert!(
            paid["content"]
                .as_str()
                .unwrap_or("")
                .contains("did not take effect"),
            "{case}: {paid}"
        );
        paths.payment_reconciled_as_not_executed += 1;
    }
    if paid["content"] == "confirmed in the bank's records" {
        paths.payment_reconciled_as_executed += 1;
    }

    // The transfer is idempotent: retried after a crash with the same key,
    // so the bank (deduplicating by key) booked it exactly once.
    let keys: BTreeSet<&str> = transfers.iter().filter_map(|e| e["key"].as_str()).collect();
    assert_eq!(keys.len(), 1, "{case}: transfer keys {keys:?}");
    let calls: BTreeSet<&str> = transfers
        .iter()
        .filter_map(|e| e["call"].as_str())
        .collect();
    assert_eq!(calls.len(), 1, "{case}: one call, however many attempts");
    assert!(transfers.len() <= 2, "{case}: at most one retry");
    if transfers.len() == 2 {
        paths.transfer_retried += 1;
    }
    let booked = result_of(summary, "book_transfer").expect("the model heard of the transfer");
    assert_eq!(booked["is_error"], false, "{case}: {booked}");
}

async fn crash_at_every_boundary(backend: Backend) {
    let mut total = None;
    let mut killed = 0;
    let mut paths = Paths::default();
    for kill_at in 0.. {
        // A fresh store and outside world per case.
        let case_backend = match &backend.spec {
            s if s.starts_with("sqlite:") => Backend::sqlite(),
            _ => Backend::postgres().await.expect("DATABASE_URL"),
        };
        let effects = case_backend.effects();
        let effects_arg = effects.display().to_string();
        let spec = case_backend.spec.clone();
        let kill = kill_at.to_string();
        let driven = child(&["drive", &spec, &effects_arg, &kill]);
        let case = format!("{} kill at boundary {kill_at}", backend.spec);
        if driven.status.success() {
            // Got through alive: kill_at is past the last boundary.
            let passed: u64 = stdout(&driven)
                .trim()
                .strip_prefix("boundaries ")
                .and_then(|n| n.parse().ok())
                .expect("the child reports its boundaries");
            total = Some(passed);
        } else {
            assert_eq!(driven.status.signal(), Some(9), "{case}: {driven:?}");
            killed += 1;
        }
        let recovered = child(&["recover", &spec, &effects_arg]);
        assert_ok(&recovered, &case);
        let summary: Value = serde_json::from_str(stdout(&recovered).trim()).expect("summary");
        check_run(&summary, &effects, &case, &mut paths);
        if total.is_some() {
            // The uninterrupted run paid and booked exactly once.
            assert_eq!(SideEffects::of(&effects, "send_payment").len(), 1);
            assert_eq!(SideEffects::of(&effects, "book_transfer").len(), 1);
        }
        case_backend.cleanup().await;
        if total.is_some() {
            break;
        }
    }
    let total = total.expect("the loop ends when the child survives");
    assert_eq!(killed, total, "one crash per boundary");
    // Start, pause, two approvals, resume, two intents with results, answer:
    // well over a few dozen writes.
    assert!(total > 40, "only {total} boundaries");
    // The kills landed between intents and results: after the intent
    // (nothing happened yet), and after the call (it happened, unrecorded).
    println!("{total} boundaries; recovery paths: {paths:?}");
    assert!(paths.payment_reconciled_as_not_executed >= 1, "{paths:?}");
    assert!(paths.payment_reconciled_as_executed >= 1, "{paths:?}");
    assert!(paths.transfer_retried >= 1, "{paths:?}");
    backend.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_runs_survive_sigkill_at_every_boundary() {
    crash_at_every_boundary(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_runs_survive_sigkill_at_every_boundary() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    crash_at_every_boundary(backend).await;
}

async fn paused_here_approved_there(backend: Backend) {
    let effects = backend.effects();
    let effects_arg = effects.display().to_string();
    let started = child(&["start", &backend.spec, &effects_arg]);
    assert_ok(&started, "start");
    let run_id = stdout(&started).trim().to_owned();
    // The first process is gone; the run waits in the store.
    assert!(SideEffects::read(&effects).is_empty());
    let approved = child(&["approve", &backend.spec, &effects_arg, &run_id]);
    assert_ok(&approved, "approve");
    let summary: Value = serde_json::from_str(stdout(&approved).trim()).expect("summary");
    assert_eq!(
        summary["run_id"]
            .as_str()
            .map(|s| s.contains(&run_id.replace('-', ""))),
        Some(true)
    );
    assert_eq!(summary["answer"], "done");
    assert_eq!(SideEffects::of(&effects, "send_payment").len(), 1);
    assert_eq!(SideEffects::of(&effects, "book_transfer").len(), 1);
    // Spend carried over exactly: two model turns of 15 tokens, two calls.
    assert_eq!(summary["tokens"], 30);
    assert_eq!(summary["tool_calls"], 2);
    backend.cleanup().await;
}

#[tokio::test]
async fn sqlite_a_run_paused_in_one_process_completes_in_another() {
    paused_here_approved_there(Backend::sqlite()).await;
}

#[tokio::test]
async fn postgres_a_run_paused_in_one_process_completes_in_another() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    paused_here_approved_there(backend).await;
}

/// Process A stops (SIGSTOP) right after writing the payment's intent; B
/// (`recover`) waits out A's lease, finds the payment in doubt, looks its
/// idempotency key up in the outside world (nothing), reconciles it as not
/// executed and finishes the run; then A is continued (SIGCONT). A's lease
/// was taken over: it does not pay, and the run's record and the outside
/// world agree.
async fn stopped_then_continued(backend: Backend) {
    let effects = backend.effects();
    let effects_arg = effects.display().to_string();
    let mut a = Command::new(CHILD)
        .args(["stall", &backend.spec, &effects_arg])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the stalling child");
    let mut out = BufReader::new(a.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    while line.trim() != "stopped" {
        line.clear();
        let read = out.read_line(&mut line).expect("read the child");
        assert!(read > 0, "the child ended before stopping: {:?}", a.wait());
    }
    let recovered = child(&["recover", &backend.spec, &effects_arg]);
    assert_ok(&recovered, "recover while A is stopped");
    let summary: Value = serde_json::from_str(stdout(&recovered).trim()).expect("summary");

    let pid = a.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .expect("kill -CONT")
            .success()
    );
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read the child");
    let status = a.wait().expect("wait for A");
    assert!(status.success(), "{status:?}: {rest}");
    assert!(
        SideEffects::of(&effects, "send_payment").is_empty(),
        "A paid after its lease was taken over: {rest}"
    );
    assert!(
        rest.contains("woke err") && rest.contains("leased by another worker"),
        "A was fenced off: {rest}"
    );
    let case = format!("{} SIGSTOP after the intent", backend.spec);
    let mut paths = Paths::default();
    check_run(&summary, &effects, &case, &mut paths);
    assert_eq!(paths.payment_reconciled_as_not_executed, 1, "{summary}");
    backend.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_stopped_process_does_not_pay_after_a_takeover() {
    stopped_then_continued(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_stopped_process_does_not_pay_after_a_takeover() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    stopped_then_continued(backend).await;
}
