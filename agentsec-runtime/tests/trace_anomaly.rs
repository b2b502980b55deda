//! The built-in anomaly rules: each fires on its pattern, and a normal run
//! raises nothing.

use std::time::Duration;

use agentsec_runtime::identity::{CallId, RunId};
use agentsec_runtime::store::UnixMillis;
use agentsec_runtime::trace::{
    AnomalyConfig, AnomalyDetector, CollectingSink, EventBus, EventEnvelope, EventSink,
    REPEATED_DENIALS, REPEATED_IRREVERSIBLE, SecurityEvent, TOOL_CALL_RATE, args_digest,
};

const MINUTE: i64 = 60_000;

struct Harness {
    seen: CollectingSink,
    detector: AnomalyDetector<CollectingSink>,
}

impl Harness {
    fn new(config: AnomalyConfig) -> Self {
        let seen = CollectingSink::default();
        let detector = AnomalyDetector::with_config(seen.clone(), config);
        Self { seen, detector }
    }

    fn at(&self, at: i64, event: SecurityEvent) {
        self.detector
            .publish(&EventEnvelope::new(UnixMillis(at), event));
    }

    /// The anomalies raised so far: (rule, run, agent).
    fn anomalies(&self) -> Vec<(String, Option<RunId>, Option<String>)> {
        self.seen
            .events()
            .into_iter()
            .filter_map(|event| match event {
                SecurityEvent::Anomaly {
                    rule,
                    run_id,
                    agent,
                    ..
                } => Some((rule, run_id, agent)),
                _ => None,
            })
            .collect()
    }

    fn rules(&self) -> Vec<String> {
        self.anomalies()
            .into_iter()
            .map(|(rule, _, _)| rule)
            .collect()
    }
}

fn denied(run_id: RunId, agent: &str) -> SecurityEvent {
    SecurityEvent::PermissionDenied {
        run_id,
        agent: agent.into(),
        user: "alice".into(),
        tool: "delete_customer".into(),
        call_id: CallId::new(),
        reason: "customers:delete not granted".into(),
    }
}

fn refused(run_id: RunId) -> SecurityEvent {
    SecurityEvent::ToolRefused {
        run_id,
        tool: "shell".into(),
        call_id: CallId::new(),
        error: "unknown tool".into(),
    }
}

fn called(run_id: RunId, agent: &str, tool: &str, args: &str, irreversible: bool) -> SecurityEvent {
    called_as(run_id, agent, tool, args, irreversible, CallId::new())
}

fn called_as(
    run_id: RunId,
    agent: &str,
    tool: &str,
    args: &str,
    irreversible: bool,
    call_id: CallId,
) -> SecurityEvent {
    SecurityEvent::ToolCalled {
        run_id,
        agent: agent.into(),
        tool: tool.into(),
        call_id,
        irreversible,
        args_digest: args_digest(args),
    }
}

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

// --- call rate -------------------------------------------------------------

fn rate_config() -> AnomalyConfig {
    AnomalyConfig {
        rate_window: Duration::from_secs(60),
        rate_ratio: 4.0,
        rate_floor: 10,
        rate_smoothing: 0.5,
        ..Default::default()
    }
}

/// `per_minute` calls a minute, evenly spread, for `minutes` minutes from `start`.
fn steady(h: &Harness, agent: &str, start: i64, minutes: i64, per_minute: i64) {
    let run = RunId::new();
    for minute in 0..minutes {
        for i in 0..per_minute {
            let at = start + minute * MINUTE + i * (MINUTE / per_minute);
            h.at(
                at,
                called(
                    run,
                    agent,
                    "list_orders",
                    &format!("{{\"page\":{i}}}"),
                    false,
                ),
            );
        }
    }
}

#[test]
fn a_burst_on_a_quiet_agent_is_caught_by_the_floor() {
    let h = Harness::new(rate_config());
    let run = RunId::new();
    // Eleven calls within one second on an agent never seen before.
    for i in 0..11 {
        h.at(
            1_000 + i * 50,
            called(run, "support", "list_orders", "{}", false),
        );
    }
    assert_eq!(
        h.anomalies(),
        vec![(
            TOOL_CALL_RATE.to_owned(),
            Some(run),
            Some("support".to_owned())
        )]
    );
}

#[test]
fn calls_up_to_the_floor_never_fire() {
    let h = Harness::new(rate_config());
    let run = RunId::new();
    for i in 0..10 {
        h.at(
            1_000 + i * 50,
            called(run, "support", "list_orders", "{}", false),
        );
    }
    assert!(h.anomalies().is_empty());
}

#[test]
fn a_busy_agent_at_its_norm_is_quiet_but_a_multiple_of_it_fires() {
    let h = Harness::new(AnomalyConfig {
        rate_floor: 5,
        ..rate_config()
    });
    // Warm-up: the floor is below this agent's norm, so its norm is learned
    // by ramping up no faster than the ratio allows.
    for (minute, per_minute) in [5, 8, 12, 16].into_iter().enumerate() {
        steady(&h, "batch", minute as i64 * MINUTE, 1, per_minute);
    }
    steady(&h, "batch", 4 * MINUTE, 19, 20);
    assert!(
        h.anomalies().is_empty(),
        "a steady 20/min agent: {:?}",
        h.anomalies()
    );
    // Then 100 calls within ten seconds: well past four times its norm of ~20 a minute.
    let run = RunId::new();
    let start = 23 * MINUTE + 1;
    for i in 0..100 {
        h.at(
            start + i * 100,
            called(run, "batch", "list_orders", "{}", false),
        );
    }
    assert_eq!(h.rules(), [TOOL_CALL_RATE], "fires once per window");
}

#[test]
fn the_rate_is_tracked_per_agent() {
    let h = Harness::new(rate_config());
    let run = RunId::new();
    // Ten calls each for three agents within the same second.
    for agent in ["a", "b", "c"] {
        for i in 0..10 {
            h.at(1_000 + i, called(run, agent, "list_orders", "{}", false));
        }
    }
    assert!(h.anomalies().is_empty());
}

#[test]
fn denied_attempts_count_towards_the_rate() {
    let h = Harness::new(AnomalyConfig {
        denials_per_run: 1000,
        ..rate_config()
    });
    for i in 0..11 {
        h.at(1_000 + i, denied(RunId::new(), "support"));
    }
    assert_eq!(h.rules(), [TOOL_CALL_RATE]);
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
