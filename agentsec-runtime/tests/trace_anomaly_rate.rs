//! The built-in anomaly rule on an agent's tool-call rate.

mod anomaly_support;

use std::time::Duration;

use agentsec_runtime::identity::RunId;
use agentsec_runtime::trace::{AnomalyConfig, TOOL_CALL_RATE};
use anomaly_support::*;

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
