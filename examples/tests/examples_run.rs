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
