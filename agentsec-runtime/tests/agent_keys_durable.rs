//! Agent keys kept in the durable store (`RunStoreKeys` over a `RunStore`):
//! the same life cycle as in memory, surviving a reopen of the SQLite file,
//! compare-and-swap on the record's version, and stored rows treated as
//! untrusted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentsec_runtime::ExposeSecret;
use agentsec_runtime::identity::keys::{KeyOptions, KeyStatus, KeyStoreError, RunStoreKeys};
use agentsec_runtime::identity::{AgentKeys, Environment, KeyError, KeyStore};
use agentsec_runtime::store::{self, MemoryStore, RunStore, SqliteStore, UnixMillis};

const PEPPER: &[u8] = b"a-server-side-pepper-of-32-bytes+";
const HOUR: Duration = Duration::from_secs(3600);

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_900_000_000)
}

fn keys_over(store: Arc<dyn RunStore>) -> AgentKeys {
    AgentKeys::new(
        Arc::new(RunStoreKeys::new(store)),
        PEPPER,
        Environment::Production,
    )
    .expect("valid configuration")
    .with_rotation_overlap(HOUR)
    .expect("valid overlap")
}

fn temp_db_path() -> PathBuf {
    std::env::temp_dir()
        .join(format!(
            "agentsec-durable-keys-{}",
            uuid::Uuid::new_v4().simple()
        ))
        .join("agentsec.db")
}

/// Issue, authenticate, list, rotate, revoke: the whole life cycle.
async fn life_cycle(store: Arc<dyn RunStore>) {
    let keys = keys_over(store);
    let issued = keys
        .issue(
            "support",
            KeyOptions::new()
                .expires_in(24 * HOUR)
                .allow_network("10.0.0.0/8".parse().unwrap()),
            t0(),
        )
        .await
        .unwrap();
    let key = issued.key.expose_secret();
    let inside = Some("10.1.2.3".parse().unwrap());
    let caller = keys.authenticate(key, inside, t0()).await.unwrap();
    assert_eq!(caller.agent, "support");
    assert!(matches!(
        keys.authenticate(key, Some("192.0.2.1".parse().unwrap()), t0())
            .await,
        Err(KeyError::AddressNotAllowed { .. })
    ));

    let rotated = keys.rotate(&issued.info.key_id, t0()).await.unwrap();
    let new_key = rotated.key.expose_secret();
    assert_eq!(
        rotated.info.allowed_networks, issued.info.allowed_networks,
        "networks carried over through the store"
    );
    // Both work during the overlap window; then only the successor.
    keys.authenticate(key, inside, t0()).await.unwrap();
    keys.authenticate(new_key, inside, t0()).await.unwrap();
    let later = t0() + HOUR;
    match keys.authenticate(key, inside, later).await {
        Err(KeyError::RotatedOut { replaced_by, .. }) => {
            assert_eq!(replaced_by, rotated.info.key_id)
        }
        other => panic!("expected RotatedOut, got {other:?}"),
    }
    keys.authenticate(new_key, inside, later).await.unwrap();
    // A key is rotated once.
    assert!(matches!(
        keys.rotate(&issued.info.key_id, t0()).await,
        Err(KeyError::AlreadyRotated { .. })
    ));

    keys.revoke(&rotated.info.key_id, later).await.unwrap();
    assert!(matches!(
        keys.authenticate(new_key, inside, later).await,
        Err(KeyError::Revoked { .. })
    ));
    let listed = keys.list("support", later).await.unwrap();
    let status = |id: &str| {
        listed
            .iter()
            .find(|k| k.key_id == id)
            .map(|k| k.status)
            .expect("listed")
    };
    assert_eq!(listed.len(), 2);
    assert_eq!(status(&issued.info.key_id), KeyStatus::Retired);
    assert_eq!(status(&rotated.info.key_id), KeyStatus::Revoked);
}

#[tokio::test]
async fn life_cycle_in_memory_store() {
    life_cycle(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn life_cycle_in_sqlite_store() {
    life_cycle(Arc::new(SqliteStore::open_in_memory().await.unwrap())).await;
}

#[tokio::test]
async fn issued_rotated_and_revoked_keys_survive_a_reopen() {
    let path = temp_db_path();
    let (kept, old, new, revoked) = {
        let store = SqliteStore::open(&path).await.unwrap();
        let keys = keys_over(Arc::new(store.clone()));
        let kept = keys
            .issue(
                "support",
                KeyOptions::new()
                    .expires_in(24 * HOUR)
                    .allow_network("10.0.0.0/8".parse().unwrap()),
                t0(),
            )
            .await
            .unwrap();
        let old = keys
            .issue("billing", KeyOptions::new(), t0())
            .await
            .unwrap();
        let new = keys.rotate(&old.info.key_id, t0()).await.unwrap();
        let revoked = keys
            .issue("billing", KeyOptions::new(), t0())
            .await
            .unwrap();
        keys.revoke(&revoked.info.key_id, t0()).await.unwrap();
        store.pool().close().await;
        (kept, old, new, revoked)
    };

    // A new process: a new store on the same file, a new service with the
    // same pepper.
    let store = SqliteStore::open(&path).await.unwrap();
    let keys = keys_over(Arc::new(store.clone()));
    let inside = Some("10.9.9.9".parse().unwrap());
    let caller = keys
        .authenticate(kept.key.expose_secret(), inside, t0())
        .await
        .unwrap();
    assert_eq!(caller.agent, "support");
    assert!(matches!(
        keys.authenticate(kept.key.expose_secret(), None, t0())
            .await,
        Err(KeyError::AddressNotAllowed { .. })
    ));
    assert!(matches!(
        keys.authenticate(kept.key.expose_secret(), inside, t0() + 24 * HOUR)
            .await,
        Err(KeyError::Expired { .. })
    ));
    // The rotation: old still in its window, then out; the successor works.
    let during = keys
        .authenticate(old.key.expose_secret(), None, t0())
        .await
        .unwrap();
    assert_eq!(during.retires_at, Some(t0() + HOUR));
    assert!(matches!(
        keys.authenticate(old.key.expose_secret(), None, t0() + HOUR).await,
        Err(KeyError::RotatedOut { replaced_by, .. }) if replaced_by == new.info.key_id
    ));
    keys.authenticate(new.key.expose_secret(), None, t0() + HOUR)
        .await
        .unwrap();
    assert!(matches!(
        keys.rotate(&old.info.key_id, t0()).await,
        Err(KeyError::AlreadyRotated { .. })
    ));
    assert!(matches!(
        keys.authenticate(revoked.key.expose_secret(), None, t0())
            .await,
        Err(KeyError::Revoked { .. })
    ));

    // How the record sits in the store: hex hash, environment tag, the
    // overlap, a rotation time, and the extras in the JSON column.
    let row = store
        .get_agent_key(&old.info.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.environment, "prod");
    assert_eq!(row.hash.len(), 64);
    assert!(row.hash.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        row.overlap_until,
        Some(UnixMillis(1_900_000_000_000 + 3_600_000))
    );
    assert!(row.rotated_at.is_some());
    assert_eq!(row.cidrs["replaced_by"], new.info.key_id.as_str());
    assert_eq!(row.cidrs["version"], 1);
    store.pool().close().await;
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn updates_are_compare_and_swap_on_the_version() {
    for store in [
        Arc::new(MemoryStore::new()) as Arc<dyn RunStore>,
        Arc::new(SqliteStore::open_in_memory().await.unwrap()),
    ] {
        let durable = RunStoreKeys::new(store.clone());
        let keys =
            AgentKeys::new(Arc::new(durable.clone()), PEPPER, Environment::Production).unwrap();
        let issued = keys
            .issue("support", KeyOptions::new(), t0())
            .await
            .unwrap();
        let id = issued.info.key_id;
        let read = durable.get(&id).await.unwrap().unwrap();
        assert_eq!(read.version, 0);

        let mut revoked = read.clone();
        revoked.revoked_at = Some(t0());
        durable.update(revoked).await.unwrap();
        assert_eq!(durable.get(&id).await.unwrap().unwrap().version, 1);

        // A writer still holding version 0 is refused and changes nothing.
        let mut stale = read.clone();
        stale.revoked_at = None;
        assert_eq!(
            durable.update(stale).await,
            Err(KeyStoreError::Conflict(id.clone()))
        );
        assert_eq!(
            durable.get(&id).await.unwrap().unwrap().revoked_at,
            Some(t0())
        );

        let mut ghost = read;
        ghost.key_id = "0000000000000000".into();
        assert!(matches!(
            durable.update(ghost).await,
            Err(KeyStoreError::NotFound(_))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_racing_updates_from_one_version_exactly_one_wins() {
    let store: Arc<dyn RunStore> = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let durable = Arc::new(RunStoreKeys::new(store));
    let keys = AgentKeys::new(durable.clone(), PEPPER, Environment::Production).unwrap();
    let id = keys
        .issue("support", KeyOptions::new(), t0())
        .await
        .unwrap()
        .info
        .key_id;
    let read = durable.get(&id).await.unwrap().unwrap();
    let writers: Vec<_> = (0..8u64)
        .map(|i| {
            let durable = durable.clone();
            let mut record = read.clone();
            record.retires_at = Some(t0() + Duration::from_secs(i + 1));
            tokio::spawn(async move { durable.update(record).await })
        })
        .collect();
    let mut wins = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(()) => wins += 1,
            Err(KeyStoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(durable.get(&id).await.unwrap().unwrap().version, 1);
}

fn raw_row(key_id: &str) -> store::AgentKeyRecord {
    store::AgentKeyRecord {
        key_id: key_id.into(),
        agent: "support".into(),
        environment: "prod".into(),
        hash: "ab".repeat(32),
        created_at: UnixMillis(1_000),
        expires_at: None,
        revoked_at: None,
        rotated_at: None,
        overlap_until: None,
        cidrs: serde_json::json!(["10.0.0.0/8"]),
    }
}

#[tokio::test]
async fn rows_from_other_writers_and_corrupt_rows() {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let durable = RunStoreKeys::new(store.clone());

    // A plain CIDR array, as the store documents it: networks, version 0.
    store.insert_agent_key(&raw_row("plain")).await.unwrap();
    let plain = durable.get("plain").await.unwrap().unwrap();
    assert_eq!(plain.version, 0);
    assert_eq!(plain.allowed_networks, ["10.0.0.0/8".parse().unwrap()]);
    assert_eq!(plain.environment, Environment::Production);
    assert_eq!(plain.secret_hash, [0xab; 32]);

    // Rows that do not decode are backend errors, never panics.
    let corrupt = [
        store::AgentKeyRecord {
            hash: "not hex".into(),
            ..raw_row("bad-hash")
        },
        store::AgentKeyRecord {
            hash: "abcd".into(),
            ..raw_row("short-hash")
        },
        store::AgentKeyRecord {
            environment: "mars".into(),
            ..raw_row("bad-env")
        },
        store::AgentKeyRecord {
            cidrs: serde_json::json!(["not a network"]),
            ..raw_row("bad-net")
        },
        store::AgentKeyRecord {
            cidrs: serde_json::json!("10.0.0.0/8"),
            ..raw_row("bad-json")
        },
        store::AgentKeyRecord {
            cidrs: serde_json::json!({"networks": [], "version": -1}),
            ..raw_row("bad-version")
        },
        store::AgentKeyRecord {
            created_at: UnixMillis(-5),
            ..raw_row("bad-time")
        },
    ];
    for row in &corrupt {
        store.insert_agent_key(row).await.unwrap();
        assert!(
            matches!(
                durable.get(&row.key_id).await,
                Err(KeyStoreError::Backend(_))
            ),
            "{} decoded",
            row.key_id
        );
    }
    assert!(matches!(
        durable.list_by_agent("support").await,
        Err(KeyStoreError::Backend(_))
    ));
    // Inserting an id twice is a duplicate.
    assert_eq!(
        durable.insert(plain.clone()).await,
        Err(KeyStoreError::Duplicate("plain".into()))
    );
}

#[tokio::test]
async fn life_cycle_in_postgres_store() {
    use std::str::FromStr;

    use sqlx::AssertSqlSafe;
    use sqlx::postgres::{PgConnectOptions, PgPool};

    let Ok(url) = std::env::var("DATABASE_URL") else {
        println!("skipped: DATABASE_URL not set");
        return;
    };
    let admin = PgPool::connect(&url).await.unwrap();
    // Hex only: safe to splice into DDL.
    let schema = format!("agentsec_keys_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store = store::PostgresStore::connect_with(options, 2)
        .await
        .unwrap();
    let outcome = tokio::spawn(life_cycle(Arc::new(store.clone()))).await;
    store.pool().close().await;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}
