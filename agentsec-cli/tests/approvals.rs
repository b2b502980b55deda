//! `agentsec approvals` against runs an application paused: what the
//! operator sees (escaped, with the tenant) and what the application does
//! with a decision its own policy refuses.

mod common;

use common::{agentsec, stderr, stdout, temp_db};

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
    // The carriage return the model wrote between the fields never reaches
    // an approver: the call pipeline stores and shows canonical JSON.
    assert!(
        text.contains(r#"{"amount_cents":12500,"order_id":"ord_1002"}"#),
        "{text}"
    );
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
