use std::time::Duration;

use agentsec_runtime::identity::{CallId, RunId};
use agentsec_runtime::store::{
    AgentKeyRecord, ApprovalDecision, ApprovalStatus, NewApproval, NewIntent, RunFilter, RunStatus,
    RunStore, StoreError, UnixMillis, Usage,
};
use serde_json::json;
use uuid::Uuid;

use super::{Exec, Stores, new_run};

pub async fn run_roundtrip_and_cas_conflict(store: &dyn RunStore) {
    let created = new_run(store, "support", "alice").await;
    assert_eq!(created.version, 1);
    assert_eq!(created.status, RunStatus::Running);
    let fetched = store.get_run(created.id).await.unwrap();
    assert_eq!(fetched, created);

    let mut first = fetched.clone();
    first.status = RunStatus::AwaitingApproval;
    first.state = json!({"step": 1, "nested": {"k": [1, 2, 3]}});
    let saved = store.update_run(&first).await.unwrap();
    assert_eq!(saved.version, 2);
    assert_eq!(saved.state, first.state);
    assert_eq!(store.get_run(created.id).await.unwrap(), saved);

    // A writer still holding version 1 loses: nothing is overwritten.
    let mut stale = fetched;
    stale.state = json!({"stale": true});
    match store.update_run(&stale).await {
        Err(StoreError::Conflict {
            expected: 1,
            actual: 2,
            ..
        }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.get_run(created.id).await.unwrap().state, first.state);

    assert!(matches!(
        store.get_run(RunId::new()).await,
        Err(StoreError::NotFound { .. })
    ));
    let mut ghost = saved.clone();
    ghost.id = RunId::new();
    assert!(matches!(
        store.update_run(&ghost).await,
        Err(StoreError::NotFound { .. })
    ));
    // The same id twice is refused.
    let again = agentsec_runtime::store::NewRun {
        id: created.id,
        ..agentsec_runtime::store::NewRun::new("x", "y", json!(null))
    };
    assert!(matches!(
        store.create_run(&again).await,
        Err(StoreError::Duplicate { .. })
    ));
}

pub async fn list_runs_filters(store: &dyn RunStore) {
    let a = new_run(store, "support", "alice").await;
    let b = new_run(store, "support", "bob").await;
    let c = new_run(store, "billing", "alice").await;
    let mut done = c.clone();
    done.status = RunStatus::Completed;
    store.update_run(&done).await.unwrap();

    let ids = |runs: Vec<agentsec_runtime::store::RunRecord>| {
        runs.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let all = ids(store.list_runs(&RunFilter::new()).await.unwrap());
    assert_eq!(all.len(), 3);
    let support = ids(store
        .list_runs(&RunFilter::new().agent("support"))
        .await
        .unwrap());
    assert_eq!(support.len(), 2);
    assert!(support.contains(&a.id) && support.contains(&b.id));
    assert_eq!(
        ids(store
            .list_runs(&RunFilter::new().user("alice").agent("support"))
            .await
            .unwrap()),
        vec![a.id]
    );
    assert_eq!(
        ids(store
            .list_runs(&RunFilter::new().status(RunStatus::Completed))
            .await
            .unwrap()),
        vec![c.id]
    );
    assert_eq!(
        store
            .list_runs(&RunFilter::new().limit(1))
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn steps_append_in_order(store: &dyn RunStore) {
    let run = new_run(store, "support", "alice").await;
    for i in 0..5 {
        let step = store
            .append_step(run.id, "model_request", &json!({"i": i}))
            .await
            .unwrap();
        assert_eq!(step.seq, i + 1);
    }
    let steps = store.list_steps(run.id).await.unwrap();
    assert_eq!(
        steps.iter().map(|s| s.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(steps[3].data, json!({"i": 3}));
    assert!(matches!(
        store.append_step(RunId::new(), "x", &json!({})).await,
        Err(StoreError::NotFound { .. })
    ));
}

fn approval_for(run_id: RunId, expires_at: UnixMillis) -> NewApproval {
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

fn in_an_hour() -> UnixMillis {
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

    let mut decision = ApprovalDecision::approve("carol");
    decision.edited_args = Some(r#"{"amount_cents":100}"#.into());
    decision.signature = Some("sig".into());
    let decided = store.decide_approval(a1.id, &decision).await.unwrap();
    assert_eq!(decided.status, ApprovalStatus::Approved);
    assert_eq!(decided.decided_by.as_deref(), Some("carol"));
    assert_eq!(decided.edited_args, decision.edited_args);
    assert!(decided.decided_at.is_some());
    assert_eq!(store.get_approval(a1.id).await.unwrap(), decided);

    // A second decision does not overwrite the first.
    match store
        .decide_approval(a1.id, &ApprovalDecision::reject("mallory", "no"))
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
        .decide_approval(expired.id, &ApprovalDecision::approve("carol"))
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
            .decide_approval(Uuid::new_v4(), &ApprovalDecision::approve("x"))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .insert_approval(&approval_for(RunId::new(), in_an_hour()))
            .await,
        Err(StoreError::NotFound { .. })
    ));
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
                ApprovalDecision::reject(format!("approver-{i}"), "no")
            } else {
                ApprovalDecision::approve(format!("approver-{i}"))
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

pub async fn usage_counts_per_run_and_agent(store: &dyn RunStore) {
    let r1 = new_run(store, "support", "alice").await;
    let r2 = new_run(store, "support", "bob").await;
    let delta = Usage {
        tokens_in: 100,
        tokens_out: 20,
        tool_calls: 1,
        cost_micro_usd: 1500,
    };
    store.add_usage(r1.id, "support", &delta).await.unwrap();
    store.add_usage(r1.id, "support", &delta).await.unwrap();
    store.add_usage(r2.id, "support", &delta).await.unwrap();
    assert_eq!(store.run_usage(r1.id).await.unwrap(), delta.plus(&delta));
    assert_eq!(store.run_usage(r2.id).await.unwrap(), delta);
    assert_eq!(
        store.agent_usage("support").await.unwrap(),
        delta.plus(&delta).plus(&delta)
    );
    assert_eq!(store.agent_usage("nobody").await.unwrap(), Usage::default());
    // Usage only grows: a negative delta would hand budget back.
    let refund = Usage {
        tokens_in: -1000,
        ..Usage::default()
    };
    assert!(matches!(
        store.add_usage(r1.id, "support", &refund).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.run_usage(r1.id).await.unwrap(), delta.plus(&delta));
    assert!(matches!(
        store.add_usage(RunId::new(), "support", &delta).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.agent_usage("support").await.unwrap(),
        delta.plus(&delta).plus(&delta)
    );
}

pub async fn agent_keys_roundtrip(store: &dyn RunStore) {
    let key = AgentKeyRecord {
        key_id: "ak_1".into(),
        agent: "support".into(),
        environment: "prod".into(),
        hash: "h1".into(),
        created_at: UnixMillis(1_000),
        expires_at: Some(UnixMillis(9_000)),
        revoked_at: None,
        rotated_at: None,
        overlap_until: None,
        cidrs: json!(["10.0.0.0/8"]),
    };
    store.insert_agent_key(&key).await.unwrap();
    assert!(matches!(
        store.insert_agent_key(&key).await,
        Err(StoreError::Duplicate { .. })
    ));
    let other = AgentKeyRecord {
        key_id: "ak_2".into(),
        agent: "billing".into(),
        cidrs: json!([]),
        ..key.clone()
    };
    store.insert_agent_key(&other).await.unwrap();
    assert_eq!(
        store.get_agent_key("ak_1").await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(store.get_agent_key("missing").await.unwrap(), None);
    assert_eq!(store.list_agent_keys(None).await.unwrap().len(), 2);
    assert_eq!(
        store.list_agent_keys(Some("billing")).await.unwrap(),
        vec![other]
    );

    let mut rotated = key.clone();
    rotated.hash = "h2".into();
    rotated.rotated_at = Some(UnixMillis(2_000));
    rotated.overlap_until = Some(UnixMillis(3_000));
    rotated.revoked_at = Some(UnixMillis(4_000));
    rotated.agent = "someone-else".into(); // fixed at insert: ignored
    store.update_agent_key(&rotated).await.unwrap();
    let stored = store.get_agent_key("ak_1").await.unwrap().unwrap();
    assert_eq!(stored.hash, "h2");
    assert_eq!(stored.overlap_until, Some(UnixMillis(3_000)));
    assert_eq!(stored.revoked_at, Some(UnixMillis(4_000)));
    assert_eq!(
        stored.agent, "support",
        "an update cannot rebind a key to another agent"
    );
    let ghost = AgentKeyRecord {
        key_id: "nope".into(),
        ..key
    };
    assert!(matches!(
        store.update_agent_key(&ghost).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn corrupt_rows_are_typed_errors(store: &dyn RunStore, exec: Exec) {
    let run = new_run(store, "corrupt-test", "alice").await;
    exec("UPDATE runs SET status = 'exploded' WHERE agent = 'corrupt-test'").await;
    match store.get_run(run.id).await {
        Err(StoreError::Corrupt {
            table: "runs",
            key,
            message,
        }) => {
            assert_eq!(key, run.id.as_uuid().to_string());
            assert!(message.contains("exploded"), "{message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(matches!(
        store.list_runs(&RunFilter::new()).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(
        matches!(store.claim_runnable("w", Duration::from_secs(1), 10).await, Ok(v) if v.is_empty())
    );

    let other = new_run(store, "corrupt-approval", "bob").await;
    let approval = store
        .insert_approval(&approval_for(other.id, in_an_hour()))
        .await
        .unwrap();
    exec("UPDATE approvals SET status = 'maybe'").await;
    assert!(matches!(
        store.get_approval(approval.id).await,
        Err(StoreError::Corrupt {
            table: "approvals",
            ..
        })
    ));
    assert!(matches!(
        store
            .decide_approval(approval.id, &ApprovalDecision::approve("x"))
            .await,
        Err(StoreError::Corrupt { .. })
    ));
}
