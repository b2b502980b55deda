//! The audit sink: security events land in the store's hash chain, in
//! publication order, and tampering with a stored row is reported.

use std::sync::Arc;

use agentsec_runtime::identity::{CallId, RunId};
use agentsec_runtime::store::{AuditBreakKind, RunStore, SqliteStore};
use agentsec_runtime::trace::{AuditSink, EventBus, EventEnvelope, SecurityEvent, args_digest};

fn granted(run_id: RunId, call_id: CallId) -> SecurityEvent {
    SecurityEvent::ApprovalGranted {
        run_id,
        call_id,
        tool: "refund_order".into(),
        approver: "bob".into(),
    }
}

fn denied(run_id: RunId, n: usize) -> SecurityEvent {
    SecurityEvent::PermissionDenied {
        run_id,
        agent: "support".into(),
        user: "alice".into(),
        tool: format!("tool_{n}"),
        call_id: CallId::new(),
        reason: "not granted".into(),
    }
}

/// One run's worth of audited and unaudited events, in order.
fn run_events(run_id: RunId) -> Vec<SecurityEvent> {
    let refund = CallId::new();
    let args = r#"{"order":"A1"}"#;
    vec![
        denied(run_id, 0),
        SecurityEvent::ApprovalRequested {
            run_id,
            agent: "support".into(),
            user: "alice".into(),
            tool: "refund_order".into(),
            call_id: refund,
            reason: "moves money".into(),
        },
        granted(run_id, refund),
        SecurityEvent::IrreversibleExecuted {
            run_id,
            agent: "support".into(),
            user: "alice".into(),
            tool: "refund_order".into(),
            call_id: refund,
            args_digest: args_digest(args),
            approver: Some("bob".into()),
            succeeded: true,
        },
        SecurityEvent::ApprovalRejected {
            run_id,
            call_id: CallId::new(),
            tool: "delete_customer".into(),
            approver: "carol".into(),
            reason: "not on a Friday".into(),
        },
        SecurityEvent::KeyRejected {
            key_id: None,
            agent: None,
            reason: "malformed key".into(),
        },
        SecurityEvent::RunHalted {
            run_id,
            agent: "support".into(),
            reason: "max iterations".into(),
        },
    ]
}

async fn sqlite() -> (Arc<SqliteStore>, Arc<dyn RunStore>) {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let dyn_store: Arc<dyn RunStore> = store.clone();
    (store, dyn_store)
}

/// Publishes `events` on a bus whose sink is an audit sink on `store`, and
/// waits until the sink has handled them.
async fn publish_audited(
    store: &Arc<dyn RunStore>,
    events: impl IntoIterator<Item = SecurityEvent>,
) -> AuditSink {
    let audit = AuditSink::spawn(store.clone()).unwrap();
    let bus = EventBus::default().with(audit.clone());
    for event in events {
        bus.publish(event);
    }
    audit.flush().await;
    audit
}

#[tokio::test]
async fn audited_events_land_in_the_chain_in_order() {
    let (_, store) = sqlite().await;
    let run_id = RunId::new();
    let audit = publish_audited(&store, run_events(run_id)).await;

    let log = store.list_audit(0, 100).await.unwrap();
    let summary: Vec<(i64, &str, &str)> = log
        .iter()
        .map(|e| (e.seq, e.kind.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "permission_denied", "agent:support"),
            (2, "approval_requested", "agent:support"),
            (3, "approval_granted", "user:bob"),
            (4, "irreversible_executed", "agent:support"),
            (5, "approval_rejected", "user:carol"),
            (6, "key_rejected", "key:unknown"),
        ]
    );
    assert_eq!(log[1].run_id, Some(run_id));
    assert_eq!(log[5].run_id, None);
    // The data is the envelope: the event's own fields and time.
    let executed: EventEnvelope = serde_json::from_value(log[3].data.clone()).unwrap();
    assert!(matches!(
        executed.event,
        SecurityEvent::IrreversibleExecuted { succeeded: true, ref approver, .. } if approver.as_deref() == Some("bob")
    ));
    assert!(executed.at.0 > 0);
    assert_eq!(audit.stats().appended, 6);
    let verification = store.verify_audit().await.unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.entries, 6);
}

#[tokio::test]
async fn many_events_keep_their_publication_order() {
    let (_, store) = sqlite().await;
    let run_id = RunId::new();
    publish_audited(&store, (0..200).map(|n| denied(run_id, n))).await;
    let log = store.list_audit(0, 1000).await.unwrap();
    let tools: Vec<String> = log
        .iter()
        .map(|e| e.data["tool"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..200).map(|n| format!("tool_{n}")).collect();
    assert_eq!(tools, expected);
    assert!(store.verify_audit().await.unwrap().is_intact());
}

#[tokio::test]
async fn a_row_changed_in_the_database_is_reported() {
    let (sqlite, store) = sqlite().await;
    publish_audited(&store, run_events(RunId::new())).await;
    assert!(store.verify_audit().await.unwrap().is_intact());

    // Someone with database access rewrites who approved the refund.
    let changed = sqlx::query("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 2")
        .execute(sqlite.pool())
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);

    let verification = store.verify_audit().await.unwrap();
    let broken = verification.first_break.expect("the change is found");
    assert_eq!(broken.seq, 2);
    assert_eq!(broken.kind, AuditBreakKind::Altered);
}

#[tokio::test]
async fn unaudited_events_are_not_appended() {
    let (_, store) = sqlite().await;
    let run_id = RunId::new();
    let unaudited = [
        SecurityEvent::RunHalted {
            run_id,
            agent: "support".into(),
            reason: "budget".into(),
        },
        SecurityEvent::SecretRedacted {
            run_id: Some(run_id),
            secret: "stripe_api_key".into(),
            sink: "model_request".into(),
        },
    ];
    let audit = publish_audited(&store, unaudited).await;
    assert!(store.list_audit(0, 10).await.unwrap().is_empty());
    assert_eq!(audit.stats().appended, 0);
}
