use std::time::{Duration, UNIX_EPOCH};

use agentsec_runtime::hitl::ApprovalDecision;
use agentsec_runtime::identity::{CallId, Environment, RunId, UserIdentity};
use agentsec_runtime::model::Usage;
use agentsec_runtime::store::{AgentKeyRecord, RunFilter, RunStatus, RunStore, StoreError};
use serde_json::json;

use super::approvals::{approval_for, in_an_hour};
use super::{Exec, new_run};

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

pub async fn usage_counts_per_run_and_agent(store: &dyn RunStore) {
    let r1 = new_run(store, "support", "alice").await;
    let r2 = new_run(store, "support", "bob").await;
    let delta = Usage {
        input_tokens: 100,
        output_tokens: 20,
        tool_calls: 1,
        cost_micro_usd: 1500,
    };
    store.add_usage(r1.id, "support", &delta).await.unwrap();
    store.add_usage(r1.id, "support", &delta).await.unwrap();
    store.add_usage(r2.id, "support", &delta).await.unwrap();
    assert_eq!(store.run_usage(r1.id).await.unwrap(), delta + delta);
    assert_eq!(store.run_usage(r2.id).await.unwrap(), delta);
    assert_eq!(
        store.agent_usage("support").await.unwrap(),
        delta + delta + delta
    );
    assert_eq!(store.agent_usage("nobody").await.unwrap(), Usage::default());
    // Usage is unsigned, so it only grows; a counter the ledger's columns
    // cannot hold is refused by every store, and nothing is added.
    let huge = Usage {
        cost_micro_usd: u64::MAX,
        ..Usage::default()
    };
    assert!(matches!(
        store.add_usage(r1.id, "support", &huge).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.run_usage(r1.id).await.unwrap(), delta + delta);
    assert!(matches!(
        store.add_usage(RunId::new(), "support", &delta).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.agent_usage("support").await.unwrap(),
        delta + delta + delta
    );
}

pub async fn agent_keys_roundtrip(store: &dyn RunStore) {
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    let key = AgentKeyRecord {
        key_id: "ak_1".into(),
        agent: "support".into(),
        environment: Environment::Production,
        secret_hash: [1; 32],
        created_at: at(1_000),
        expires_at: Some(at(9_000)),
        allowed_networks: vec!["10.0.0.0/8".parse().unwrap()],
        revoked_at: None,
        retires_at: None,
        replaced_by: None,
        version: 0,
    };
    store.insert_agent_key(&key).await.unwrap();
    assert!(matches!(
        store.insert_agent_key(&key).await,
        Err(StoreError::Duplicate { .. })
    ));
    let other = AgentKeyRecord {
        key_id: "ak_2".into(),
        agent: "billing".into(),
        allowed_networks: vec![],
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
    rotated.secret_hash = [2; 32];
    rotated.retires_at = Some(at(3_000));
    rotated.revoked_at = Some(at(4_000));
    rotated.replaced_by = Some("ak_3".into());
    rotated.agent = "someone-else".into(); // fixed at insert: ignored
    store.update_agent_key(&rotated).await.unwrap();
    let stored = store.get_agent_key("ak_1").await.unwrap().unwrap();
    assert_eq!(stored.secret_hash, [2; 32]);
    assert_eq!(stored.retires_at, Some(at(3_000)));
    assert_eq!(stored.revoked_at, Some(at(4_000)));
    assert_eq!(stored.replaced_by.as_deref(), Some("ak_3"));
    assert_eq!(stored.version, 1, "an update bumps the version");
    assert_eq!(
        stored.agent, "support",
        "an update cannot rebind a key to another agent"
    );
    // A writer still holding version 0 loses, and changes nothing.
    let mut stale = key.clone();
    stale.revoked_at = None;
    assert!(matches!(
        store.update_agent_key(&stale).await,
        Err(StoreError::KeyConflict { key_id }) if key_id == "ak_1"
    ));
    assert_eq!(
        store
            .get_agent_key("ak_1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(at(4_000))
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
    // Listing skips the corrupt row (with a warning naming it): one bad
    // row hides no other run.
    let listed = store.list_runs(&RunFilter::new()).await.unwrap();
    assert!(listed.iter().all(|r| r.id != run.id));
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
            .decide_approval(
                approval.id,
                &ApprovalDecision::approve(CallId::new(), UserIdentity::new("x"))
            )
            .await,
        Err(StoreError::Corrupt { .. })
    ));
}
