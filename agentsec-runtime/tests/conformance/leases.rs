use std::collections::HashSet;
use std::time::Duration;

use agentsec_runtime::identity::RunId;
use agentsec_runtime::store::{RunStatus, RunStore, StoreError};

use super::{Stores, new_run};

const LONG: Duration = Duration::from_secs(600);

pub async fn concurrent_claims_are_disjoint(stores: Stores) {
    let mut all = HashSet::new();
    for i in 0..24 {
        all.insert(
            new_run(&*stores.a, "support", &format!("user-{i}"))
                .await
                .id,
        );
    }
    let parked = new_run(&*stores.a, "support", "parked").await;
    let mut waiting = parked.clone();
    waiting.status = RunStatus::AwaitingApproval;
    stores.a.update_run(&waiting).await.unwrap();

    let mut tasks = Vec::new();
    for worker in 0..6 {
        let store = if worker % 2 == 0 {
            stores.a.clone()
        } else {
            stores.b.clone()
        };
        tasks.push(tokio::spawn(async move {
            let name = format!("worker-{worker}");
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_runnable(&name, LONG, 3).await.unwrap();
                if claimed.is_empty() {
                    break;
                }
                for run in claimed {
                    assert_eq!(run.lease_owner.as_deref(), Some(name.as_str()));
                    mine.push(run.id);
                }
            }
            mine
        }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        seen.extend(task.await.unwrap());
    }
    let unique: HashSet<RunId> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no run was claimed twice");
    assert_eq!(
        unique, all,
        "every running run was claimed, the paused one was not"
    );
    assert!(
        stores
            .b
            .claim_runnable("late", LONG, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn expired_lease_is_reclaimed(stores: Stores) {
    let run = new_run(&*stores.a, "support", "alice").await;
    let claimed = stores
        .a
        .claim_runnable("worker-a", Duration::from_millis(1), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![run.id]
    );
    // worker-a "dies": it never renews. Once the lease lapses, B takes over.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let taken = stores.b.claim_runnable("worker-b", LONG, 10).await.unwrap();
    assert_eq!(taken.iter().map(|r| r.id).collect::<Vec<_>>(), vec![run.id]);
    assert_eq!(taken[0].lease_owner.as_deref(), Some("worker-b"));
    // The dead worker cannot renew or release what it lost.
    assert!(matches!(
        stores.a.renew_lease(run.id, "worker-a", LONG).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert!(matches!(
        stores.a.release_lease(run.id, "worker-a").await,
        Err(StoreError::LeaseLost { .. })
    ));
    // A live lease is not reclaimed.
    assert!(
        stores
            .a
            .claim_runnable("worker-c", LONG, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn leases_renew_and_release(store: &dyn RunStore) {
    let run = new_run(store, "support", "alice").await;
    let claimed = store.claim_runnable("w1", LONG, 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let before = claimed[0].lease_until.unwrap();
    let renewed = store.renew_lease(run.id, "w1", LONG + LONG).await.unwrap();
    assert!(renewed.lease_until.unwrap() > before);
    assert!(matches!(
        store.renew_lease(run.id, "w2", LONG).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert!(matches!(
        store.try_acquire_run(run.id, "w2", LONG).await,
        Err(StoreError::Busy { .. })
    ));
    store.release_lease(run.id, "w1").await.unwrap();
    let free = store.get_run(run.id).await.unwrap();
    assert_eq!((free.lease_owner, free.lease_until), (None, None));
    assert_eq!(store.claim_runnable("w2", LONG, 5).await.unwrap().len(), 1);
    assert!(matches!(
        store.renew_lease(RunId::new(), "w1", LONG).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.try_acquire_run(RunId::new(), "w1", LONG).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn single_flight_acquire(stores: Stores) {
    let run = new_run(&*stores.a, "support", "alice").await;
    let mut waiting = run.clone();
    waiting.status = RunStatus::AwaitingApproval;
    stores.a.update_run(&waiting).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = if i % 2 == 0 {
            stores.a.clone()
        } else {
            stores.b.clone()
        };
        tasks.push(tokio::spawn(async move {
            store
                .try_acquire_run(run.id, &format!("resumer-{i}"), LONG)
                .await
        }));
    }
    let (mut won, mut busy) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(record) => {
                won += 1;
                assert!(record.lease_owner.unwrap().starts_with("resumer-"));
            }
            Err(StoreError::Busy { run_id }) => {
                assert_eq!(run_id, run.id);
                busy += 1;
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((won, busy), (1, 11), "exactly one resumer acquires the run");
}
