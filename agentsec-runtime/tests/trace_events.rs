//! Security events: their wire form, the bus, subscribers and the channel sink.

use agentsec_runtime::identity::{CallId, RunId};
use agentsec_runtime::store::UnixMillis;
use agentsec_runtime::trace::{
    ChannelSink, CollectingSink, EventBus, EventEnvelope, SUBSCRIBER_CAPACITY, SecurityEvent,
    args_digest,
};
use tokio::sync::broadcast::error::TryRecvError;

fn every_kind() -> Vec<SecurityEvent> {
    let run_id = RunId::new();
    let call_id = CallId::new();
    vec![
        SecurityEvent::PermissionDenied {
            run_id,
            agent: "a".into(),
            user: "u".into(),
            tool: "t".into(),
            call_id,
            reason: "r".into(),
        },
        SecurityEvent::ToolRefused {
            run_id,
            tool: "t".into(),
            call_id,
            error: "e".into(),
        },
        SecurityEvent::ApprovalRequested {
            run_id,
            agent: "a".into(),
            user: "u".into(),
            tool: "t".into(),
            call_id,
            reason: "r".into(),
        },
        SecurityEvent::ApprovalGranted {
            run_id,
            call_id,
            tool: "t".into(),
            approver: "b".into(),
        },
        SecurityEvent::ApprovalRejected {
            run_id,
            call_id,
            tool: "t".into(),
            approver: "b".into(),
            reason: "r".into(),
        },
        SecurityEvent::BudgetWarning {
            run_id,
            agent: "a".into(),
            cap: "tokens".into(),
            spent: 8.0,
            limit: 10.0,
        },
        SecurityEvent::RunHalted {
            run_id,
            agent: "a".into(),
            reason: "r".into(),
        },
        SecurityEvent::InputFlagged {
            run_id,
            agent: "a".into(),
            source: "tool:fetch_page".into(),
            rules: vec!["ignore_previous".into()],
        },
        SecurityEvent::InputBlocked {
            run_id,
            agent: "a".into(),
            source: "user".into(),
            rules: vec!["system_prompt_override".into(), "hidden_unicode".into()],
        },
        SecurityEvent::TaintEscalation {
            run_id,
            agent: "a".into(),
            tool: "send_email".into(),
            reason: "run read untrusted content".into(),
        },
        SecurityEvent::BudgetExceeded {
            run_id,
            agent: "a".into(),
            cap: "usd".into(),
            spent: 1.2,
            limit: 1.0,
        },
        SecurityEvent::KeyRejected {
            key_id: Some("ak_1".into()),
            agent: None,
            reason: "expired".into(),
        },
        SecurityEvent::SecretRedacted {
            run_id: Some(run_id),
            secret: "stripe_api_key".into(),
            sink: "trace".into(),
        },
        SecurityEvent::Anomaly {
            run_id: None,
            agent: Some("a".into()),
            rule: "tool_call_rate".into(),
            description: "d".into(),
        },
        SecurityEvent::ToolCalled {
            run_id,
            agent: "a".into(),
            tool: "t".into(),
            call_id,
            irreversible: false,
            args_digest: args_digest("{}"),
        },
        SecurityEvent::IrreversibleExecuted {
            run_id,
            agent: "a".into(),
            user: "u".into(),
            tool: "t".into(),
            call_id,
            args_digest: args_digest("{}"),
            approver: None,
            succeeded: false,
        },
    ]
}

#[test]
fn every_event_round_trips_with_its_kind_and_time() {
    let events = every_kind();
    assert_eq!(events.len(), 16);
    for (i, event) in events.into_iter().enumerate() {
        let envelope = EventEnvelope::new(UnixMillis(1_000 + i as i64), event);
        let json = serde_json::to_value(&envelope).unwrap();
        assert_eq!(json["event"], envelope.event.kind());
        assert_eq!(json["at"], 1_000 + i as i64);
        let back: EventEnvelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, envelope);
    }
}

#[test]
fn a_redaction_event_names_the_secret_and_nothing_else() {
    let json = serde_json::to_value(EventEnvelope::new(
        UnixMillis(5),
        SecurityEvent::SecretRedacted {
            run_id: None,
            secret: "stripe_api_key".into(),
            sink: "log".into(),
        },
    ))
    .unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["at", "event", "run_id", "secret", "sink"]);
}

#[test]
fn the_bus_stamps_events_with_the_current_time() {
    let sink = CollectingSink::default();
    let bus = EventBus::default().with(sink.clone());
    let before = UnixMillis::now();
    for event in every_kind() {
        bus.publish(event);
    }
    let after = UnixMillis::now();
    let envelopes = sink.envelopes();
    assert_eq!(envelopes.len(), 16);
    assert!(envelopes.iter().all(|e| before <= e.at && e.at <= after));
}

#[test]
fn subscribers_get_every_event_and_a_slow_one_lags_without_blocking() {
    let bus = EventBus::default();
    let mut fast = bus.subscribe();
    let mut slow = bus.subscribe();
    let run_id = RunId::new();
    let halted = || SecurityEvent::RunHalted {
        run_id,
        agent: "a".into(),
        reason: "r".into(),
    };
    bus.publish(halted());
    assert_eq!(fast.try_recv().unwrap().event, halted());
    // The slow subscriber never reads; publishing goes on regardless.
    for _ in 0..SUBSCRIBER_CAPACITY + 10 {
        bus.publish(halted());
    }
    assert!(matches!(slow.try_recv(), Err(TryRecvError::Lagged(_))));
    // A clone of the bus (as the runtime keeps) feeds the same subscribers.
    let clone = bus.clone();
    let mut late = bus.subscribe();
    clone.publish(halted());
    assert_eq!(late.try_recv().unwrap().event, halted());
}

#[test]
fn the_channel_sink_drops_and_counts_when_full() {
    let (sink, mut receiver) = ChannelSink::new(2);
    let bus = EventBus::default().with(sink.clone());
    for event in every_kind().into_iter().take(5) {
        bus.publish(event);
    }
    assert_eq!(sink.dropped(), 3);
    assert_eq!(
        receiver.try_recv().unwrap().event.kind(),
        "permission_denied"
    );
    assert_eq!(receiver.try_recv().unwrap().event.kind(), "tool_refused");
    assert!(receiver.try_recv().is_err());
    drop(receiver);
    bus.publish(every_kind().remove(0));
    assert_eq!(sink.dropped(), 4, "a closed channel counts as a drop too");
}

#[test]
fn event_accessors_name_the_run_and_agent() {
    for event in every_kind() {
        match &event {
            SecurityEvent::KeyRejected { .. } => assert_eq!(event.run_id(), None),
            SecurityEvent::Anomaly { run_id, .. } => assert_eq!(event.run_id(), *run_id),
            _ => assert!(event.run_id().is_some(), "{}", event.kind()),
        }
    }
    let denied = &every_kind()[0];
    assert_eq!(denied.agent(), Some("a"));
    let granted = &every_kind()[3];
    assert_eq!(granted.agent(), None);
}

#[test]
fn the_args_digest_ignores_key_order_and_whitespace_only() {
    assert_eq!(
        args_digest(r#"{"order":"A1","refund":{"cents":5,"currency":"EUR"}}"#),
        args_digest(r#"{ "refund": { "currency": "EUR", "cents": 5 }, "order": "A1" }"#)
    );
    assert_ne!(
        args_digest(r#"{"order":"A1"}"#),
        args_digest(r#"{"order":"A2"}"#)
    );
    assert_ne!(args_digest("[1,2]"), args_digest("[2,1]"));
    // Text that is not JSON is hashed as given, without panicking.
    assert_eq!(args_digest("{not json").len(), 64);
}
