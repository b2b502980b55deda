//! The built-in anomaly rules: repeated denials, repeated irreversible
//! calls, and a normal run that raises nothing. The rate rule is in
//! `trace_anomaly_rate.rs`.

mod anomaly_support;

use std::time::Duration;

use agentsec_runtime::identity::{CallId, RunId};
use agentsec_runtime::trace::{
    AnomalyConfig, CollectingSink, EventBus, REPEATED_DENIALS, REPEATED_IRREVERSIBLE,
    SecurityEvent, args_digest,
};
use anomaly_support::*;

// --- repeated denials ------------------------------------------------------

#[test]
fn three_denials_in_one_run_raise_one_anomaly() {
    let h = Harness::new(AnomalyConfig::default());
    let run = RunId::new();
    h.at(1, denied(run, "support"));
    h.at(2, refused(run));
    assert!(
        h.anomalies().is_empty(),
        "two denials are below the threshold"
    );
    h.at(3, denied(run, "support"));
    assert_eq!(
        h.anomalies(),
        vec![(
            REPEATED_DENIALS.to_owned(),
            Some(run),
            Some("support".to_owned())
        )]
    );
    // It fires once per run, not on every denial after the threshold.
    h.at(4, denied(run, "support"));
    assert_eq!(h.rules(), [REPEATED_DENIALS]);
    // Every event is passed on, the anomaly after the event that raised it.
    let kinds: Vec<_> = h.seen.events().iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            "permission_denied",
            "tool_refused",
            "permission_denied",
            "anomaly",
            "permission_denied"
        ]
    );
}

#[test]
fn denials_are_counted_per_run() {
    let h = Harness::new(AnomalyConfig::default());
    for i in 0..6 {
        // Six runs with one or two denials each: none reaches three.
        let run = RunId::new();
        h.at(i * 10, denied(run, "support"));
        if i % 2 == 0 {
            h.at(i * 10 + 1, refused(run));
        }
    }
    assert!(h.anomalies().is_empty());
}

#[test]
fn the_denial_threshold_is_configurable() {
    let h = Harness::new(AnomalyConfig {
        denials_per_run: 5,
        ..Default::default()
    });
    let run = RunId::new();
    for i in 0..4 {
        h.at(i, refused(run));
    }
    assert!(h.anomalies().is_empty());
    h.at(5, refused(run));
    assert_eq!(h.rules(), [REPEATED_DENIALS]);
}

// --- repeated irreversible calls -------------------------------------------

#[test]
fn the_same_irreversible_call_twice_fires() {
    let h = Harness::new(AnomalyConfig::default());
    let (first, second) = (RunId::new(), RunId::new());
    h.at(
        0,
        called(
            first,
            "support",
            "refund_order",
            r#"{"order":"A1","cents":500}"#,
            true,
        ),
    );
    // Same arguments in another order: the same digest.
    h.at(
        MINUTE,
        called(
            second,
            "support",
            "refund_order",
            r#"{"cents":500,"order":"A1"}"#,
            true,
        ),
    );
    assert_eq!(
        h.anomalies(),
        vec![(
            REPEATED_IRREVERSIBLE.to_owned(),
            Some(second),
            Some("support".to_owned())
        )]
    );
}

#[test]
fn one_call_requested_then_executed_is_not_a_repeat() {
    let h = Harness::new(AnomalyConfig::default());
    let run = RunId::new();
    let call_id = CallId::new();
    let args = r#"{"order":"A1"}"#;
    h.at(
        0,
        called_as(run, "support", "refund_order", args, true, call_id),
    );
    h.at(
        5,
        SecurityEvent::IrreversibleExecuted {
            run_id: run,
            agent: "support".into(),
            user: "alice".into(),
            tool: "refund_order".into(),
            call_id,
            args_digest: args_digest(args),
            approver: Some("bob".into()),
            succeeded: true,
        },
    );
    assert!(h.anomalies().is_empty());
}

#[test]
fn different_arguments_tools_or_old_calls_do_not_fire() {
    let h = Harness::new(AnomalyConfig {
        repeat_window: Duration::from_secs(600),
        ..Default::default()
    });
    let run = RunId::new();
    h.at(
        0,
        called(run, "support", "refund_order", r#"{"order":"A1"}"#, true),
    );
    h.at(
        1,
        called(run, "support", "refund_order", r#"{"order":"A2"}"#, true),
    );
    h.at(
        2,
        called(run, "support", "cancel_order", r#"{"order":"A1"}"#, true),
    );
    // Reversible calls repeat all the time.
    h.at(3, called(run, "support", "list_orders", "{}", false));
    h.at(4, called(run, "support", "list_orders", "{}", false));
    // The same refund, but after the window has passed.
    h.at(
        11 * MINUTE,
        called(run, "support", "refund_order", r#"{"order":"A1"}"#, true),
    );
    assert!(h.anomalies().is_empty(), "{:?}", h.anomalies());
}

// --- a normal run, and the bus ---------------------------------------------

/// A support run as the engine publishes it: a few reads, one denied call,
/// an approval requested and granted, the refund executed, a budget warning.
fn normal_run(run: RunId, start: i64, order: i64) -> Vec<(i64, SecurityEvent)> {
    let refund = CallId::new();
    let args = &format!(r#"{{"order":"A{order}","cents":500}}"#);
    vec![
        (
            start,
            called(run, "support", "list_orders", r#"{"limit":5}"#, false),
        ),
        (
            start + 900,
            called(run, "support", "get_order", r#"{"order":"A1"}"#, false),
        ),
        (start + 1_500, denied(run, "support")),
        (
            start + 2_000,
            SecurityEvent::ApprovalRequested {
                run_id: run,
                agent: "support".into(),
                user: "alice".into(),
                tool: "refund_order".into(),
                call_id: refund,
                reason: "moves money".into(),
            },
        ),
        (
            start + 60_000,
            SecurityEvent::ApprovalGranted {
                run_id: run,
                call_id: refund,
                tool: "refund_order".into(),
                approver: "bob".into(),
            },
        ),
        (
            start + 60_001,
            called_as(run, "support", "refund_order", args, true, refund),
        ),
        (
            start + 60_500,
            SecurityEvent::IrreversibleExecuted {
                run_id: run,
                agent: "support".into(),
                user: "alice".into(),
                tool: "refund_order".into(),
                call_id: refund,
                args_digest: args_digest(args),
                approver: Some("bob".into()),
                succeeded: true,
            },
        ),
        (
            start + 61_000,
            SecurityEvent::BudgetWarning {
                run_id: run,
                agent: "support".into(),
                cap: "tokens".into(),
                spent: 16_500.0,
                limit: 20_000.0,
            },
        ),
    ]
}

#[test]
fn normal_runs_raise_no_anomaly() {
    let h = Harness::new(AnomalyConfig::default());
    for i in 0..20 {
        for (at, event) in normal_run(RunId::new(), i * 5 * MINUTE, i) {
            h.at(at, event);
        }
    }
    assert!(h.anomalies().is_empty(), "{:?}", h.anomalies());
    assert_eq!(h.seen.events().len(), 20 * 8);
}

#[test]
fn the_bus_publishes_anomalies_to_sinks_and_subscribers() {
    let sink = CollectingSink::default();
    let bus = EventBus::default()
        .with(sink.clone())
        .with_anomaly_detection(AnomalyConfig::default());
    let mut subscriber = bus.subscribe();
    let run = RunId::new();
    for _ in 0..3 {
        bus.publish(refused(run));
    }
    let kinds: Vec<_> = sink.events().iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        ["tool_refused", "tool_refused", "tool_refused", "anomaly"]
    );
    let mut received = Vec::new();
    while let Ok(envelope) = subscriber.try_recv() {
        received.push(envelope.event.kind());
    }
    assert_eq!(received, kinds);
}

#[test]
fn without_detection_the_bus_raises_nothing() {
    let sink = CollectingSink::default();
    let bus = EventBus::default().with(sink.clone());
    let run = RunId::new();
    for _ in 0..5 {
        bus.publish(refused(run));
    }
    assert!(sink.events().iter().all(|e| e.kind() == "tool_refused"));
}
