use std::time::Duration;

use agentsec_runtime::hitl::{ApprovalDecision, SYSTEM_APPROVER};
use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
use agentsec_runtime::store::{
    ApprovalStatus, NewApproval, NewIntent, RunStore, StoreError, UnixMillis,
};
use serde_json::json;
use uuid::Uuid;

use super::{Stores, new_run};

pub(super) fn approval_for(run_id: RunId, expires_at: UnixMillis) -> NewApproval {
    NewApproval {
        id: Uuid::new_v4(),
        run_id,
        call_id: CallId::new(),
        tool: "refund_order".into(),
        args_sha256: "ab".repeat(32),
        requested_by: "agent:support".into(),
        expires_at,
    }
}

pub(super) fn in_an_hour() -> UnixMillis {
    UnixMillis::now().saturating_add(Duration::from_secs(3600))
}

pub async fn approvals_list_and_decide_once(store: &dyn RunStore) {
    let alice = new_run(store, "support", "alice").await;
    let bob = new_run(store, "billing", "bob").await;
    let a1 = store
        .insert_approval(&approval_for(alice.id, in_an_hour()))
        .await
        .unwrap();
    let b1 = store
        .insert_approval(&approval_for(bob.id, in_an_hour()))
        .await
        .unwrap();
    let expired = store
        .insert_approval(&approval_for(alice.id, UnixMillis(1)))
        .await
        .unwrap();
    assert_eq!(a1.status, ApprovalStatus::Pending);

    let pending = store.list_pending_approvals(None, None).await.unwrap();
    assert_eq!(pending.len(), 2, "the expired approval is not listed");
    let by_agent = store
        .list_pending_approvals(Some("support"), None)
        .await
        .unwrap();
    assert_eq!(
        by_agent.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![a1.id]
    );
    let by_user = store
        .list_pending_approvals(None, Some("bob"))
        .await
        .unwrap();
    assert_eq!(
        by_user.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![b1.id]
    );
    assert!(
        store
            .list_pending_approvals(Some("support"), Some("bob"))
            .await
            .unwrap()
            .is_empty()
    );

    let mut decision = ApprovalDecision::approve_edited(
        a1.call_id,
        UserIdentity::new("carol"),
        r#"{"amount_cents":100}"#,
    );
    decision.signature = Some("sig".into());
    let decided = store.decide_approval(a1.id, &decision).await.unwrap();
    assert_eq!(decided.status, ApprovalStatus::Approved);
    assert_eq!(decided.decided_by.as_deref(), Some("carol"));
    assert_eq!(decided.edited_args.as_deref(), decision.edited_arguments());
    assert_eq!(decided.signature, decision.signature);
    assert!(decided.decided_at.is_some());
    assert_eq!(store.get_approval(a1.id).await.unwrap(), decided);

    // A second decision does not overwrite the first.
    match store
        .decide_approval(
            a1.id,
            &ApprovalDecision::reject(CallId::new(), UserIdentity::new("mallory"), "no"),
        )
        .await
    {
        Err(StoreError::NotPending {
            status: ApprovalStatus::Approved,
            ..
        }) => {}
        other => panic!("expected NotPending, got {other:?}"),
    }
    assert_eq!(
        store
            .get_approval(a1.id)
            .await
            .unwrap()
            .decided_by
            .as_deref(),
        Some("carol")
    );

    // Past its deadline an approval cannot be decided, and is marked expired.
    match store
        .decide_approval(
            expired.id,
            &ApprovalDecision::approve(CallId::new(), UserIdentity::new("carol")),
        )
        .await
    {
        Err(StoreError::NotPending {
            status: ApprovalStatus::Expired,
            ..
        }) => {}
        other => panic!("expected expiry, got {other:?}"),
    }
    assert_eq!(
        store.get_approval(expired.id).await.unwrap().status,
        ApprovalStatus::Expired
    );
    assert!(matches!(
        store
            .decide_approval(
                Uuid::new_v4(),
                &ApprovalDecision::approve(CallId::new(), UserIdentity::new("x"))
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .insert_approval(&approval_for(RunId::new(), in_an_hour()))
            .await,
        Err(StoreError::NotFound { .. })
    ));

    // An expiry decided by the approval service (its clock ahead of the
    // store's) is recorded as expired, by the system, never as approved.
    let lapsed = store
        .insert_approval(&approval_for(alice.id, in_an_hour()))
        .await
        .unwrap();
    let decided = store
        .decide_approval(lapsed.id, &ApprovalDecision::expired(lapsed.call_id))
        .await
        .unwrap();
    assert_eq!(decided.status, ApprovalStatus::Expired);
    assert_eq!(decided.decided_by.as_deref(), Some(SYSTEM_APPROVER));
    assert_eq!((decided.reason, decided.edited_args), (None, None));
}

pub async fn racing_approval_decisions(stores: Stores) {
    let run = new_run(&*stores.a, "support", "alice").await;
    let approval = stores
        .a
        .insert_approval(&approval_for(run.id, in_an_hour()))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        // Alternate between the two handles, as two server processes would.
        let store = if i % 2 == 0 {
            stores.a.clone()
        } else {
            stores.b.clone()
        };
        tasks.push(tokio::spawn(async move {
            let decision = if i % 3 == 0 {
                ApprovalDecision::reject(
                    CallId::new(),
                    UserIdentity::new(format!("approver-{i}")),
                    "no",
                )
            } else {
                ApprovalDecision::approve(CallId::new(), UserIdentity::new(format!("approver-{i}")))
            };
            store.decide_approval(approval.id, &decision).await
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(record) => winners.push(record),
            Err(StoreError::NotPending { .. }) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one approver wins");
    let stored = stores.a.get_approval(approval.id).await.unwrap();
    assert_eq!(stored.decided_by, winners[0].decided_by);
    assert_eq!(stored.status, winners[0].status);
}

pub async fn intents_are_exactly_once(store: &dyn RunStore) {
    let run = new_run(store, "support", "alice").await;
    let call = CallId::new();
    let intent = NewIntent {
        run_id: run.id,
        call_id: call,
        idempotency_key: format!("{}:{}", run.id, call),
        approval_id: Some(Uuid::new_v4()),
    };
    let recorded = store.record_intent(&intent).await.unwrap();
    assert!(recorded.result.is_none());
    assert_eq!(recorded.approval_id, intent.approval_id);

    match store.record_intent(&intent).await {
        Err(StoreError::DuplicateIntent { call_id, .. }) => assert_eq!(call_id, call),
        other => panic!("expected DuplicateIntent, got {other:?}"),
    }
    // The same idempotency key for another call is refused too.
    let reused_key = NewIntent {
        call_id: CallId::new(),
        ..intent.clone()
    };
    assert!(matches!(
        store.record_intent(&reused_key).await,
        Err(StoreError::DuplicateIntent { .. })
    ));

    let other = NewIntent {
        run_id: run.id,
        call_id: CallId::new(),
        idempotency_key: "second".into(),
        approval_id: None,
    };
    store.record_intent(&other).await.unwrap();
    let open = store.unfinished_intents(run.id).await.unwrap();
    assert_eq!(open.len(), 2);

    let done = store
        .record_intent_result(run.id, call, &json!({"refund": "re_123"}))
        .await
        .unwrap();
    assert_eq!(done.result, Some(json!({"refund": "re_123"})));
    assert!(done.finished_at.is_some());
    assert!(matches!(
        store
            .record_intent_result(run.id, call, &json!({"again": true}))
            .await,
        Err(StoreError::IntentFinished { .. })
    ));
    let open = store.unfinished_intents(run.id).await.unwrap();
    assert_eq!(
        open.iter().map(|i| i.call_id).collect::<Vec<_>>(),
        vec![other.call_id]
    );
    assert_eq!(
        store
            .get_intent(run.id, call)
            .await
            .unwrap()
            .unwrap()
            .result,
        done.result
    );
    assert!(
        store
            .get_intent(run.id, CallId::new())
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store
            .record_intent_result(run.id, CallId::new(), &json!(1))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}
