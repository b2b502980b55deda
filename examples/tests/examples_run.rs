//! Every example runs, and does what it says.

use agentsec::engine::RunOutcome;
use agentsec::trace::SecurityEvent;

#[tokio::test]
async fn the_support_desk_refunds_once_after_approval() {
    let mut out = Vec::new();
    let report = examples::support_desk::run(&mut out).await.unwrap();
    assert!(matches!(report.done.outcome, RunOutcome::Completed { .. }));
    assert_eq!(report.shop.refunds(), vec![("ord_1002".to_owned(), 12_500)]);
    let kinds: Vec<_> = report.events.iter().map(SecurityEvent::kind).collect();
    assert_eq!(
        kinds,
        [
            "tool_called",
            "approval_requested",
            "approval_granted",
            "tool_called",
            "irreversible_executed"
        ]
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("needs approval") && text.contains("lead@support approves"));
    assert!(
        !text.contains("sk_test_example_only"),
        "the payment key is never printed"
    );
}

#[tokio::test]
async fn tool_calls_refuses_all_but_the_good_call_and_the_approved_refund() {
    let mut out = Vec::new();
    let outcomes = examples::tool_calls::run(&mut out).await.unwrap();
    assert_eq!(outcomes, [true, false, false, false, false, true]);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("field `user_id`: unknown field"), "{text}");
    assert!(text.contains("did you mean `list_orders`?"));
}

#[tokio::test]
async fn the_research_assistant_withholds_the_injection_and_never_sends_the_email() {
    use examples::research_assistant::{ATTACKER, run};
    let mut out = Vec::new();
    let report = run(&mut out).await.unwrap();
    assert!(matches!(report.done.outcome, RunOutcome::Completed { .. }));
    assert!(
        report.mailbox.sent().is_empty(),
        "the rejected email was sent"
    );
    let kinds: Vec<_> = report.events.iter().map(SecurityEvent::kind).collect();
    assert!(kinds.contains(&"input_blocked"), "{kinds:?}");
    assert!(kinds.contains(&"approval_requested"), "{kinds:?}");
    assert!(kinds.contains(&"approval_rejected"), "{kinds:?}");
    assert!(!kinds.contains(&"irreversible_executed"), "{kinds:?}");
    // The planted instruction never reached the model; the refused host did not either.
    let requests = report.model.requests();
    let sent =
        serde_json::to_string(&requests.iter().map(|r| &r.messages).collect::<Vec<_>>()).unwrap();
    assert!(!sent.contains("IGNORE ALL PREVIOUS INSTRUCTIONS"), "{sent}");
    assert!(
        sent.contains("untrusted-data"),
        "page text is spotlighted: {sent}"
    );
    assert!(
        sent.contains("futures are lazy"),
        "the clean page is delivered"
    );
    assert!(
        sent.contains("host `evil.example` is not on the allowlist"),
        "{sent}"
    );
    assert!(!sent.contains("never served"));
    let reason = report.rule_of_two.expect("the rule of two holds the email");
    assert!(
        reason.contains("fetch_page") && reason.contains("read_notes"),
        "{reason}"
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(&format!("\"to\":\"{ATTACKER}\"")) && text.contains("needs approval"));
    assert!(text.contains("emails sent: []"));
}

#[tokio::test]
async fn the_database_agent_sees_only_the_users_rows_through_row_level_security() {
    let mut out = Vec::new();
    let report = examples::database_agent::run(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let Some(report) = report else {
        assert!(std::env::var("DATABASE_URL").is_err());
        assert_eq!(text.trim(), examples::database_agent::SKIPPED);
        println!("{text}");
        return;
    };
    assert_eq!(report.total_rows, 4, "the table holds everybody's orders");
    let users: Vec<&str> = report.seen.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(users, ["alice", "bob"]);
    for (user, rows) in &report.seen {
        assert_eq!(
            rows.len(),
            2,
            "{user} sees exactly their two orders: {rows:?}"
        );
        assert!(
            rows.iter().all(|r| &r.owner_id == user),
            "{user} saw {rows:?}"
        );
    }
    let alice: Vec<&str> = report.seen[0].1.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(alice, ["ord_a1", "ord_a2"]);
    assert_eq!(report.answers.len(), 2);
    // The schema and the role are gone.
    let url = std::env::var("DATABASE_URL").unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = $1) \
              + (SELECT count(*) FROM pg_roles WHERE rolname = $2)",
    )
    .bind(&report.schema)
    .bind(&report.role)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0, "the example cleaned up after itself");
    pool.close().await;
    assert!(text.contains("dropped schema"));
}
