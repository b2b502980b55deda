//! The `agentsec` binary, run as a user would run it.

mod common;

use common::{agentsec, stderr, stdout, temp_db};

#[test]
fn the_demo_runs_end_to_end_and_leaves_a_run_to_inspect() {
    let db = temp_db("demo");
    let db_text = db.to_str().unwrap();
    let demo = agentsec(&["demo", "--db", db_text]);
    let text = stdout(&demo);
    assert!(demo.status.success(), "{text}\n{}", stderr(&demo));
    for expected in [
        "flagged by",
        "paused the run",
        "approvals list",
        "approved",
        "refunded order ord_1002",
        "audit chain intact",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
    assert!(
        !text.contains("sk_test_demo_only"),
        "the payment key is never printed"
    );

    let runs = agentsec(&["--sqlite", db_text, "runs", "list"]);
    let listed = stdout(&runs);
    assert!(runs.status.success());
    assert!(
        listed.contains("completed") && listed.contains("support"),
        "{listed}"
    );
    let run_id = listed
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();

    let trace = agentsec(&["--sqlite", db_text, "trace", &run_id]);
    let tree = stdout(&trace);
    assert!(trace.status.success());
    assert!(
        tree.contains("read_ticket") && tree.contains("refund_order") && tree.contains("timeline"),
        "{tree}"
    );
    assert!(!tree.contains('\x1b'), "plain when piped");

    let json = agentsec(&["--sqlite", db_text, "trace", &run_id, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--json prints JSON");
    assert_eq!(doc["run"]["status"], "completed");
    assert!(doc["steps"].as_array().unwrap().len() > 5);

    let audit = agentsec(&["--sqlite", db_text, "audit", "verify"]);
    assert!(audit.status.success(), "{}", stderr(&audit));
    assert!(stdout(&audit).contains("audit chain intact"));

    let pending = agentsec(&["--sqlite", db_text, "approvals", "list"]);
    assert!(stdout(&pending).contains("no pending approvals"));
}

#[test]
fn audit_verify_fails_on_a_tampered_log() {
    let db = temp_db("tamper");
    let db_text = db.to_str().unwrap();
    assert!(agentsec(&["demo", "--db", db_text]).status.success());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = agentsec::store::SqliteStore::open(&db).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 1")
            .execute(store.pool())
            .await
            .unwrap();
    });
    let audit = agentsec(&["--sqlite", db_text, "audit", "verify"]);
    assert_eq!(audit.status.code(), Some(1));
    assert!(
        stderr(&audit).contains("audit chain broken at entry 1"),
        "{}",
        stderr(&audit)
    );
}

#[test]
fn keys_are_issued_listed_rotated_and_revoked() {
    let db = temp_db("keys");
    let db_text = db.to_str().unwrap();
    let issued = agentsec(&[
        "--sqlite",
        db_text,
        "keys",
        "issue",
        "support",
        "--environment",
        "staging",
    ]);
    let text = stdout(&issued);
    assert!(issued.status.success(), "{}", stderr(&issued));
    assert!(text.contains("ask_staging_"), "{text}");
    let key_id = text.split_whitespace().next().unwrap().to_owned();

    let listed = stdout(&agentsec(&["--sqlite", db_text, "keys", "list", "support"]));
    assert!(
        listed.contains(&key_id) && listed.contains("Active"),
        "{listed}"
    );
    assert!(
        !listed.contains("ask_staging_"),
        "the key itself is never listed"
    );

    let rotated = agentsec(&[
        "--sqlite",
        db_text,
        "keys",
        "rotate",
        &key_id,
        "--environment",
        "staging",
    ]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    assert!(stdout(&rotated).contains("new key (shown once)"));
    // The guide's states: the old key is Retiring (naming its successor),
    // the new one Active.
    let listed = stdout(&agentsec(&["--sqlite", db_text, "keys", "list", "support"]));
    let old_line = listed.lines().find(|l| l.starts_with(&key_id)).unwrap();
    assert!(old_line.contains("Retiring until"), "{listed}");
    let new_line = listed.lines().find(|l| !l.starts_with(&key_id)).unwrap();
    assert!(new_line.contains("Active"), "{listed}");
    let new_id = new_line.split_whitespace().next().unwrap();
    assert!(
        old_line.contains(&format!("replaced by {new_id}")),
        "{listed}"
    );

    let revoked = agentsec(&[
        "--sqlite",
        db_text,
        "keys",
        "revoke",
        &key_id,
        "--environment",
        "staging",
    ]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert!(stdout(&revoked).contains("Revoked"));
    let listed = stdout(&agentsec(&["--sqlite", db_text, "keys", "list", "support"]));
    assert_eq!(listed.lines().count(), 2, "{listed}");
}

#[test]
fn errors_are_one_line_with_documented_exit_codes() {
    let db = temp_db("errors");
    let db_text = db.to_str().unwrap();
    // Approving is not read-only: it opens (creating) the store.
    let approval = agentsec(&[
        "--sqlite",
        db_text,
        "approvals",
        "approve",
        "01a20c68-c637-748b-8489-6506541ca693",
        "--as",
        "lead",
    ]);
    assert_eq!(approval.status.code(), Some(4), "{}", stderr(&approval));

    let bad_id = agentsec(&["--sqlite", db_text, "trace", "not-a-run"]);
    assert_eq!(bad_id.status.code(), Some(4));
    assert_eq!(stderr(&bad_id).lines().count(), 1, "{}", stderr(&bad_id));

    let unknown_run = agentsec(&[
        "--sqlite",
        db_text,
        "runs",
        "show",
        "run_01a20c68c574739e801c9c3a90352be8",
    ]);
    assert_eq!(unknown_run.status.code(), Some(4));

    let usage = agentsec(&["--sqlite", db_text, "runs", "frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));

    let no_db = agentsec(&[
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        "runs",
        "list",
    ]);
    assert_eq!(no_db.status.code(), Some(3), "{}", stderr(&no_db));
    assert!(stderr(&no_db).starts_with("error: cannot open the store"));
}

#[test]
fn a_corrupt_row_is_skipped_in_lists_and_has_its_own_exit_code() {
    let db = temp_db("corrupt");
    let db_text = db.to_str().unwrap();
    assert!(agentsec(&["demo", "--db", db_text]).status.success());
    let runs = agentsec(&["--sqlite", db_text, "runs", "list"]);
    let run_id = stdout(&runs)
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    // Someone truncates the run's state by hand.
    let stored_id: String = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite:{db_text}"))
                .await
                .unwrap();
            let id: String = sqlx::query_scalar("SELECT id FROM runs LIMIT 1")
                .fetch_one(&pool)
                .await
                .unwrap();
            sqlx::query("UPDATE runs SET state = substr(state, 1, 25)")
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
            id
        });
    let listed = agentsec(&["--sqlite", db_text, "runs", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        stderr(&listed).contains(&stored_id),
        "the warning names the run: {}",
        stderr(&listed)
    );
    let approvals = agentsec(&["--sqlite", db_text, "approvals", "list"]);
    assert!(approvals.status.success(), "{}", stderr(&approvals));
    let shown = agentsec(&["--sqlite", db_text, "runs", "show", &run_id]);
    assert_eq!(shown.status.code(), Some(6), "{}", stderr(&shown));
    assert!(stderr(&shown).contains("corrupt"), "{}", stderr(&shown));
}
