//! The CLI as a new user meets it: times a person reads, one run-id form
//! everywhere, read-only commands that never create a store, usage errors
//! that list the valid values, quiet broken pipes, a PostgreSQL address
//! that does not answer, readable `runs show`, a trace that says what
//! screening did and who approved, and an audit log one can list.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{agentsec, agentsec_in, command, stderr, stdout, temp_db};

/// Runs the demo into `db` and returns the run id `runs list` shows.
fn demo_run(db: &str) -> String {
    let demo = agentsec(&["demo", "--db", db]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let listed = stdout(&agentsec(&["--sqlite", db, "runs", "list"]));
    listed
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no run in {listed}"))
        .to_owned()
}

#[test]
fn read_only_commands_never_create_a_store_and_name_the_demo_file() {
    let db = temp_db("readonly");
    let dir = db.dir();
    for args in [
        &["runs", "list"][..],
        &["approvals", "list"],
        &["audit", "verify"],
        &["audit", "list"],
        &["keys", "list", "support"],
        &["trace", "run_01a20c68c574739e801c9c3a90352be8"],
    ] {
        let out = agentsec_in(dir, args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("no store at agentsec.db"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !dir.join("agentsec.db").exists(),
            "`{args:?}` created a store"
        );
    }
    // After the demo, the refusal names the file the demo wrote.
    let demo = agentsec_in(dir, &["demo"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let runs = agentsec_in(dir, &["runs", "list"]);
    assert_eq!(runs.status.code(), Some(3));
    assert!(
        stderr(&runs).contains(
            "`agentsec demo` wrote agentsec-demo.db: try `agentsec --sqlite agentsec-demo.db"
        ),
        "{}",
        stderr(&runs)
    );
    assert!(!dir.join("agentsec.db").exists());
}

#[test]
fn usage_errors_exit_2_and_list_the_valid_values() {
    let db = temp_db("usage");
    let db_text = db.to_str().unwrap();
    let out = agentsec(&["--sqlite", db_text, "runs", "list", "--status", "paused"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    for status in [
        "running",
        "awaiting_approval",
        "completed",
        "failed",
        "halted",
    ] {
        assert!(text.contains(status), "`{status}` not listed: {text}");
    }
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let db = temp_db("pipe");
    let db_text = db.to_str().unwrap();
    let run = demo_run(db_text);
    // `agentsec trace RUN | head -0`: the reader is gone before the first line.
    let mut child = command(&["--sqlite", db_text, "trace", &run])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn an_unreachable_postgresql_fails_within_seconds_naming_the_address() {
    let started = Instant::now();
    // A non-routable address: the connection attempt gets no answer at all.
    let out = agentsec(&[
        "--database-url",
        "postgres://postgres:hunter2@10.255.255.1:5432/test",
        "runs",
        "list",
    ]);
    let waited = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    let text = stderr(&out);
    assert!(text.contains("10.255.255.1:5432/test"), "{text}");
    assert!(!text.contains("hunter2"), "the password was shown: {text}");
}

#[test]
fn one_run_id_form_in_text_json_and_events() {
    let db = temp_db("ids");
    let db_text = db.to_str().unwrap();
    let run = demo_run(db_text);
    assert!(run.starts_with("run_") && run.len() == 36, "{run}");

    let listed: serde_json::Value =
        serde_json::from_slice(&agentsec(&["--sqlite", db_text, "runs", "list", "--json"]).stdout)
            .unwrap();
    assert_eq!(listed[0]["id"], run.as_str());
    // Small: the state stays out of the listing.
    assert!(listed[0].get("state").is_none(), "{listed}");

    let trace: serde_json::Value =
        serde_json::from_slice(&agentsec(&["--sqlite", db_text, "trace", &run, "--json"]).stdout)
            .unwrap();
    assert_eq!(trace["run"]["id"], run.as_str());
    assert_eq!(trace["run"]["state"]["run_id"], run.as_str());

    // The events in the audit log carry the same id, so grepping for it works.
    let audit = agentsec(&["--sqlite", db_text, "audit", "list", "--json"]);
    let text = stdout(&audit);
    let entries: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = entries.as_array().unwrap();
    assert!(!entries.is_empty());
    for entry in entries.iter().filter(|e| !e["run_id"].is_null()) {
        assert_eq!(entry["run_id"], run.as_str(), "{entry}");
        if let Some(id) = entry["data"].get("run_id") {
            assert_eq!(id, run.as_str(), "{entry}");
        }
    }
}

#[test]
fn runs_show_is_readable_and_times_are_local_and_relative() {
    let db = temp_db("show");
    let db_text = db.to_str().unwrap();
    let run = demo_run(db_text);
    let out = agentsec(&["--sqlite", db_text, "runs", "show", &run]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains(&format!("run      {run}")), "{text}");
    assert!(text.contains("user     alice (tenant acme)"), "{text}");
    assert!(text.contains("status   completed"), "{text}");
    assert!(text.contains("refund_order"), "{text}");
    assert!(text.contains("approved by lead@support"), "{text}");
    // A time reads `YYYY-MM-DD HH:MM (just now)` or `(… ago)`.
    let created = text.lines().find(|l| l.starts_with("created")).unwrap();
    assert!(
        created.contains("(just now)") || created.contains(" ago)"),
        "{created}"
    );
    assert!(created.contains("-") && created.contains(":"), "{created}");
    assert!(!text.trim_start().starts_with('{'), "not JSON: {text}");
    let json = agentsec(&["--sqlite", db_text, "runs", "show", &run, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["status"], "completed");

    let listed = stdout(&agentsec(&["--sqlite", db_text, "runs", "list"]));
    assert!(!listed.contains("unix"), "{listed}");
    assert!(
        listed.contains("(just now)") || listed.contains(" ago)"),
        "{listed}"
    );
}

#[test]
fn the_trace_marks_screening_and_approvals_and_prices_it_does_not_know() {
    let db = temp_db("trace");
    let db_text = db.to_str().unwrap();
    let run = demo_run(db_text);
    let out = agentsec(&["--sqlite", db_text, "trace", &run]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    // The ticket carried a planted instruction: screening flagged it.
    let ticket = text
        .lines()
        .skip_while(|l| !l.contains("read_ticket"))
        .nth(1)
        .unwrap_or_default();
    assert!(
        ticket.contains("⚑ flagged by screening ("),
        "the ticket's result is not marked: {text}"
    );
    assert!(
        text.contains("✋ approved by lead@support"),
        "the approver is not shown: {text}"
    );
    assert!(text.contains("cost n/a (no prices set)"), "{text}");
    assert!(!text.contains("$0.0000"), "{text}");
    assert!(text.contains("timeline from "), "{text}");
}

#[test]
fn the_demo_prints_what_the_readme_says() {
    let db = temp_db("readme");
    let db_text = db.to_str().unwrap();
    let demo = agentsec(&["demo", "--db", db_text]);
    let text = stdout(&demo);
    assert!(demo.status.success(), "{}", stderr(&demo));
    // README: "`agentsec trace` prints the run as a tree and a timeline;
    // `agentsec audit verify` checks the hash chain".
    assert!(text.contains("├─ model turn"), "no tree: {text}");
    assert!(text.contains("timeline from "), "no timeline: {text}");
    assert!(text.contains("audit chain intact"), "{text}");
    // The command it prints for approving works for the tenant's run.
    assert!(text.contains("--tenant acme --role support-lead"), "{text}");
    // Times in the approvals list read as local time plus relative.
    assert!(
        text.contains("expires 20") && text.contains("(in "),
        "{text}"
    );
}

#[test]
fn audit_list_prints_entries_readably_and_verify_counts_kinds() {
    let db = temp_db("auditlist");
    let db_text = db.to_str().unwrap();
    let run = demo_run(db_text);
    let out = agentsec(&["--sqlite", db_text, "audit", "list", "--run", &run]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    for expected in [
        "input_flagged",
        "from read_ticket",
        "approval_requested",
        "approval_granted",
        "by user:lead@support",
        "irreversible_executed",
        "tool refund_order",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
    let other = agentsec(&[
        "--sqlite",
        db_text,
        "audit",
        "list",
        "--run",
        "run_01a20c68c574739e801c9c3a90352be8",
    ]);
    assert_eq!(stdout(&other).trim(), "no audit entries");

    let verify = stdout(&agentsec(&["--sqlite", db_text, "audit", "verify"]));
    assert!(verify.contains("entries checked: "), "{verify}");
    assert!(verify.contains("1 irreversible_executed"), "{verify}");
    assert!(verify.contains("1 approval_granted"), "{verify}");
}
