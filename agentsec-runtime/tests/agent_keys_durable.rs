//! Agent keys kept in the durable store (`RunStoreKeys` over a `RunStore`):
//! the same life cycle as in memory, surviving a reopen of the SQLite file,
//! compare-and-swap on the record's version, and stored rows treated as
//! untrusted.

mod pg_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentsec_runtime::ExposeSecret;
use agentsec_runtime::identity::keys::{KeyOptions, KeyStatus, KeyStoreError, RunStoreKeys};
use agentsec_runtime::identity::{AgentKeys, Environment, KeyError, KeyStore};
use agentsec_runtime::store::{self, MemoryStore, RunStore, SqliteStore};

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
    // overlap, a rotation time, and version and successor in columns of
    // their own; `cidrs` holds the networks only.
    let (environment, hash, overlap_until, rotated_at, replaced_by, version, cidrs): (
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
        i64,
        String,
    ) = sqlx::query_as(
        "SELECT environment, hash, overlap_until, rotated_at, replaced_by, version, cidrs \
         FROM agent_keys WHERE key_id = $1",
    )
    .bind(&old.info.key_id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(environment, "prod");
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(overlap_until, Some(1_900_000_000_000 + 3_600_000));
    assert!(rotated_at.is_some());
    assert_eq!(replaced_by.as_deref(), Some(new.info.key_id.as_str()));
    assert_eq!(version, 1);
    assert_eq!(cidrs, "[]");
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

/// Inserts a key row by hand, as another writer (or an attacker with the
/// database) could, with the given `hash`, `environment`, `cidrs`,
/// `version` and `created_at` columns.
async fn raw_row(
    store: &SqliteStore,
    key_id: &str,
    (hash, environment, cidrs, version, created_at): (&str, &str, &str, i64, i64),
) {
    sqlx::query(
        "INSERT INTO agent_keys (key_id, agent, environment, hash, created_at, cidrs, version) \
         VALUES ($1, 'support', $2, $3, $4, $5, $6)",
    )
    .bind(key_id)
    .bind(environment)
    .bind(hash)
    .bind(created_at)
    .bind(cidrs)
    .bind(version)
    .execute(store.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn rows_from_other_writers_and_corrupt_rows() {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let durable = RunStoreKeys::new(store.clone());
    let hash = "ab".repeat(32);
    let good = (hash.as_str(), "prod", r#"["10.0.0.0/8"]"#, 0, 1_000);

    raw_row(&store, "plain", good).await;
    let plain = durable.get("plain").await.unwrap().unwrap();
    assert_eq!(plain.version, 0);
    assert_eq!(plain.allowed_networks, ["10.0.0.0/8".parse().unwrap()]);
    assert_eq!(plain.environment, Environment::Production);
    assert_eq!(plain.secret_hash, [0xab; 32]);

    // Rows that do not decode are backend errors, never panics.
    let corrupt = [
        ("bad-hash", ("not hex", "prod", "[]", 0, 1_000)),
        ("short-hash", ("abcd", "prod", "[]", 0, 1_000)),
        ("bad-env", (hash.as_str(), "mars", "[]", 0, 1_000)),
        (
            "bad-net",
            (hash.as_str(), "prod", r#"["not a network"]"#, 0, 1_000),
        ),
        (
            "bad-json",
            (hash.as_str(), "prod", r#""10.0.0.0/8""#, 0, 1_000),
        ),
        ("bad-version", (hash.as_str(), "prod", "[]", -1, 1_000)),
        ("bad-time", (hash.as_str(), "prod", "[]", 0, -5)),
    ];
    for (key_id, row) in corrupt {
        raw_row(&store, key_id, row).await;
        assert!(
            matches!(durable.get(key_id).await, Err(KeyStoreError::Backend(_))),
            "{key_id} decoded"
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
    pg_support::in_fresh_schema(|options| async move {
        let store = store::PostgresStore::connect_with(options, 2)
            .await
            .unwrap();
        life_cycle(Arc::new(store.clone())).await;
        store.pool().close().await;
    })
    .await;
}

/// Two stores (two pools, as two processes would have) on one PostgreSQL
/// schema: a revocation through one and a rotation through the other, from
/// the same read, never both win — the revocation is not lost.
#[tokio::test]
async fn two_pools_racing_rotate_and_revoke_lose_nothing() {
    pg_support::in_fresh_schema(|options| async move {
        let cli = store::PostgresStore::connect_with(options.clone(), 2)
            .await
            .unwrap();
        let service = store::PostgresStore::connect_with(options, 2)
            .await
            .unwrap();
        let (cli_keys, service_keys) = (
            RunStoreKeys::new(Arc::new(cli.clone())),
            RunStoreKeys::new(Arc::new(service.clone())),
        );

        // The store level: both read version 0; the CLI revokes; the
        // service's write from the same read must not overwrite it.
        let issued = keys_over(Arc::new(cli.clone()))
            .issue("support", KeyOptions::new(), t0())
            .await
            .unwrap();
        let id = issued.info.key_id.clone();
        let read_by_cli = cli_keys.get(&id).await.unwrap().unwrap();
        let read_by_service = service_keys.get(&id).await.unwrap().unwrap();
        let mut revoked = read_by_cli;
        revoked.revoked_at = Some(t0());
        cli_keys.update(revoked).await.unwrap();
        let mut rotated = read_by_service;
        rotated.retires_at = Some(t0() + HOUR);
        rotated.replaced_by = Some("someone".into());
        assert_eq!(
            service_keys.update(rotated).await,
            Err(KeyStoreError::Conflict(id.clone()))
        );
        let stored = cli_keys.get(&id).await.unwrap().unwrap();
        assert_eq!(stored.revoked_at, Some(t0()), "the revocation was lost");
        assert_eq!(stored.replaced_by, None);

        // The service level, many times over: rotate through one pool while
        // revoking through the other. Both changes end up in the record
        // (the loser re-reads and re-applies), or the rotation is refused
        // because the key was already revoked — never a lost revocation.
        let (by_cli, by_service) = (
            keys_over(Arc::new(cli.clone())),
            keys_over(Arc::new(service.clone())),
        );
        for _ in 0..10 {
            let issued = by_cli
                .issue("support", KeyOptions::new(), t0())
                .await
                .unwrap();
            let id = issued.info.key_id;
            let (rotation, revocation) =
                tokio::join!(by_service.rotate(&id, t0()), by_cli.revoke(&id, t0()));
            revocation.unwrap();
            let stored = by_cli
                .list("support", t0())
                .await
                .unwrap()
                .into_iter()
                .find(|k| k.key_id == id)
                .unwrap();
            assert_eq!(stored.status, KeyStatus::Revoked, "{rotation:?}");
        }
        cli.pool().close().await;
        service.pool().close().await;
    })
    .await;
}
