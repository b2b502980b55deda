//! The `agentsec` binary, run as a user would run it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agentsec-cli-{}-{}", std::process::id(), name));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("agentsec.db")
}

fn agentsec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentsec"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .env(
            "AGENTSEC_SECRET_AGENTSEC_KEY_PEPPER",
            "pepper-for-the-cli-tests-0123456789abcdef",
        )
        .env(
            "AGENTSEC_SECRET_AGENTSEC_APPROVAL_KEY",
            "approval-key-for-the-cli-tests-0123456789",
        )
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

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

/// Pauses a support run on a refund whose arguments carry a raw carriage
/// return (as a manipulated model could write them), for a user whose id
/// carries ANSI escapes, in the SQLite file `db`.
fn pause_a_hostile_refund(db: &std::path::Path) {
    use std::sync::Arc;

    use agentsec::engine::{AgentRuntime, RunOutcome, StoreCheckpoints};
    use agentsec::model::{ScriptedModel, ScriptedReply};
    use agentsec::prelude::*;
    use agentsec::secrets::MemorySecretStore;
    use agentsec::store::{RunStore, SqliteStore};
    use examples::shop::{Shop, SupportAgent};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store: Arc<dyn RunStore> = Arc::new(SqliteStore::open(db).await.unwrap());
        // A raw carriage return is valid JSON whitespace: the arguments the
        // model wrote reach the approver as they are.
        let model = ScriptedModel::new([ScriptedReply::tool_call(
            "refund_order",
            "{\"order_id\": \"ord_1002\",\r\"amount_cents\": 12500}",
        )]);
        let agent = AgentRuntime::<SupportAgent>::builder()
            .model(model)
            .state_arc(Arc::new(Shop::default()))
            .secrets(MemorySecretStore::new().with("stripe_api_key", "sk_test_cli_only_000"))
            .checkpoints(StoreCheckpoints::new(store.clone()).with_owner("app"))
            .build()
            .await
            .unwrap();
        let report = agent
            .start(
                UserIdentity::new("alice\u{1b}[2K\u{1b}[32m(verified)").with_tenant("acme"),
                "refund please",
            )
            .await
            .unwrap();
        assert!(
            matches!(report.outcome, RunOutcome::AwaitingApproval { .. }),
            "{:?}",
            report.outcome
        );
    });
}

#[test]
fn approvals_list_shows_hostile_arguments_escaped_with_the_tenant() {
    let db = temp_db("hostile");
    let db_text = db.to_str().unwrap();
    pause_a_hostile_refund(&db);
    let listed = agentsec(&["--sqlite", db_text, "approvals", "list"]);
    let text = stdout(&listed);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        !text.contains('\r'),
        "a raw carriage return reached the terminal: {text:?}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "a raw escape reached the terminal: {text:?}"
    );
    assert!(text.contains(r#""ord_1002",\r"amount_cents""#), "{text}");
    assert!(
        text.contains(r"alice\u{1b}[2K\u{1b}[32m(verified)"),
        "{text}"
    );
    assert!(text.contains("(tenant acme)"), "{text}");
    assert!(text.contains("--tenant acme"), "{text}");

    // Approving without the tenant is refused, naming the flag that fixes it.
    let id = text.split_whitespace().next().unwrap().to_owned();
    let refused = agentsec(&[
        "--sqlite",
        db_text,
        "approvals",
        "approve",
        &id,
        "--as",
        "lead@support",
    ]);
    assert_eq!(refused.status.code(), Some(5), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--tenant acme"),
        "{}",
        stderr(&refused)
    );
    let approved = agentsec(&[
        "--sqlite",
        db_text,
        "approvals",
        "approve",
        &id,
        "--as",
        "lead@support",
        "--tenant",
        "acme",
    ]);
    assert!(approved.status.success(), "{}", stderr(&approved));

    // The other views of the same run are escaped too.
    let runs = stdout(&agentsec(&["--sqlite", db_text, "runs", "list"]));
    assert!(runs.contains(r"alice\u{1b}[2K"), "{runs}");
    let run_id = runs
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let trace = stdout(&agentsec(&["--sqlite", db_text, "trace", &run_id]));
    for view in [&runs, &trace] {
        assert!(!view.contains('\r') && !view.contains('\u{1b}'), "{view:?}");
    }
}

/// Issue 12, point 3, as reported: an application built with four eyes and
/// a required role; `agentsec approvals approve ID --as alice` (the customer
/// herself, no role) is recorded by the CLI — whose service has no
/// application policy — and the application's `resume` must not execute it.
#[test]
fn a_cli_approval_that_violates_the_applications_policy_does_not_run() {
    use std::sync::Arc;

    use agentsec::engine::{AgentRuntime, RunOutcome, StoreCheckpoints};
    use agentsec::hitl::{ApprovalPolicy, Approvals, DecisionSigner};
    use agentsec::model::{ScriptedModel, ScriptedReply};
    use agentsec::prelude::*;
    use agentsec::secrets::MemorySecretStore;
    use agentsec::store::{RunStore, SqliteStore};
    use examples::shop::{Shop, SupportAgent};

    let db = temp_db("policy");
    let db_text = db.to_str().unwrap().to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store: Arc<dyn RunStore> = Arc::new(SqliteStore::open(&db).await.unwrap());
        let checkpoints = StoreCheckpoints::new(store.clone()).with_owner("app");
        let shop = Arc::new(Shop::default());
        let agent = AgentRuntime::<SupportAgent>::builder()
            .model(ScriptedModel::new([
                ScriptedReply::tool_call(
                    "refund_order",
                    serde_json::json!({"order_id": "ord_1002", "amount_cents": 12_500}),
                ),
                ScriptedReply::text("Done."),
            ]))
            .state_arc(shop.clone())
            .secrets(MemorySecretStore::new().with("stripe_api_key", "sk_test_cli_only_000"))
            .checkpoints(checkpoints.clone())
            .build()
            .await
            .unwrap();
        let alice = UserIdentity::new("alice").with_tenant("acme");
        let report = agent.start(alice, "refund please").await.unwrap();
        assert!(matches!(
            report.outcome,
            RunOutcome::AwaitingApproval { .. }
        ));

        // The customer approves her own refund from the command line.
        let listed = stdout(&agentsec(&["--sqlite", &db_text, "approvals", "list"]));
        let id = listed.split_whitespace().next().unwrap().to_owned();
        let approved = agentsec(&[
            "--sqlite",
            &db_text,
            "approvals",
            "approve",
            &id,
            "--as",
            "alice",
            "--tenant",
            "acme",
        ]);
        assert!(approved.status.success(), "{}", stderr(&approved));

        // The application resumes with its own policy and the shared key.
        let signer =
            DecisionSigner::new(b"approval-key-for-the-cli-tests-0123456789".to_vec()).unwrap();
        let app = Approvals::new(&checkpoints, signer).with_policy(
            ApprovalPolicy::default()
                .four_eyes()
                .require_role("support-lead"),
        );
        let done = app.resume(&agent, report.run_id).await.unwrap();
        assert!(
            shop.refunds().is_empty(),
            "the refund ran: {:?}",
            shop.refunds()
        );
        assert!(
            matches!(done.outcome, RunOutcome::Completed { .. }),
            "{:?}",
            done.outcome
        );
    });
}
