//! Per-agent invocation keys: issue, list, rotate, revoke, expire, and every
//! way a presented key must be refused.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentsec_runtime::identity::keys::{AgentKeyRecord, KeyOptions, KeyStatus, KeyStoreError};
use agentsec_runtime::identity::{AgentKeys, Environment, KeyError, KeyStore, MemoryKeyStore};
use agentsec_runtime::{BoxFuture, ExposeSecret};

const PEPPER: &[u8] = b"a-server-side-pepper-of-32-bytes+";
const HOUR: Duration = Duration::from_secs(3600);

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_900_000_000)
}

fn service(store: Arc<dyn KeyStore>, environment: Environment) -> AgentKeys {
    AgentKeys::new(store, PEPPER, environment).expect("valid configuration")
}

fn prod() -> (Arc<MemoryKeyStore>, AgentKeys) {
    let store = Arc::new(MemoryKeyStore::new());
    let keys = service(store.clone(), Environment::Production);
    (store, keys)
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("test address"))
}

#[tokio::test]
async fn an_issued_key_authenticates_its_agent() {
    let (_, keys) = prod();
    let issued = keys
        .issue("support", KeyOptions::new(), t0())
        .await
        .unwrap();
    let key = issued.key.expose_secret();
    let parts: Vec<&str> = key.splitn(4, '_').collect();
    assert_eq!(parts[0], "ask");
    assert_eq!(parts[1], "prod");
    assert_eq!(parts[2], issued.info.key_id);
    assert_eq!(parts[3].len(), 64);

    let principal = keys.authenticate(key, None, t0()).await.unwrap();
    assert_eq!(principal.agent, "support");
    assert_eq!(principal.key_id, issued.info.key_id);
    assert_eq!(principal.environment, Environment::Production);
    assert_eq!(principal.retires_at, None);
}

#[tokio::test]
async fn keys_are_per_agent() {
    let (_, keys) = prod();
    let a = keys
        .issue("support", KeyOptions::new(), t0())
        .await
        .unwrap();
    let b = keys
        .issue("billing", KeyOptions::new(), t0())
        .await
        .unwrap();
    assert_ne!(a.info.key_id, b.info.key_id);
    let who = |k: &agentsec_runtime::identity::keys::IssuedKey| k.key.expose_secret().to_owned();
    assert_eq!(
        keys.authenticate(&who(&a), None, t0()).await.unwrap().agent,
        "support"
    );
    assert_eq!(
        keys.authenticate(&who(&b), None, t0()).await.unwrap().agent,
        "billing"
    );
    assert_eq!(keys.list("support", t0()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_secret_is_stored_only_as_a_keyed_hash_and_never_shown_again() {
    let (store, keys) = prod();
    let issued = keys
        .issue("support", KeyOptions::new(), t0())
        .await
        .unwrap();
    let key = issued.key.expose_secret().to_owned();
    let secret = key.rsplit('_').next().unwrap().to_owned();

    let record = store.get(&issued.info.key_id).await.unwrap().unwrap();
    assert_ne!(hex::encode(record.secret_hash), secret);
    assert!(!format!("{record:?}").contains(&secret));
    assert!(!format!("{record:?}").contains(&hex::encode(record.secret_hash)));
    assert!(!format!("{issued:?}").contains(&secret));
    assert!(!format!("{keys:?}").contains("pepper-of"));
    let listing = format!("{:?}", keys.list("support", t0()).await.unwrap());
    assert!(!listing.contains(&secret));

    // The hash is keyed: a service with another pepper cannot verify it.
    let other = AgentKeys::new(
        store.clone(),
        b"another-pepper-of-at-least-32-bytes",
        Environment::Production,
    )
    .unwrap();
    assert_eq!(
        other.authenticate(&key, None, t0()).await,
        Err(KeyError::InvalidSecret {
            key_id: issued.info.key_id.clone()
        })
    );
}

#[tokio::test]
async fn wrong_secret_unknown_id_and_malformed_keys_are_refused() {
    let (_, keys) = prod();
    let issued = keys
        .issue("support", KeyOptions::new(), t0())
        .await
        .unwrap();
    let key = issued.key.expose_secret().to_owned();
    let id = issued.info.key_id.clone();

    // Flip the last hex digit of the secret.
    let mut wrong = key.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    let err = keys.authenticate(&wrong, None, t0()).await.unwrap_err();
    assert_eq!(err, KeyError::InvalidSecret { key_id: id.clone() });
    assert!(
        !err.to_string().contains(&wrong[25..]),
        "the error shows the secret"
    );

    let unknown = key.replacen(&id, "0000000000000000", 1);
    assert_eq!(
        keys.authenticate(&unknown, None, t0()).await,
        Err(KeyError::UnknownKey {
            key_id: "0000000000000000".into()
        })
    );

    for bad in [
        "ask_prod".to_owned(),
        key.to_uppercase(),
        format!("{key}0"),
        key.replacen("ask_", "sk_", 1),
        key.replacen("_prod_", "_qa_", 1),
        "x".repeat(10_000),
        "ask_prod_é_ü".into(),
    ] {
        let err = keys.authenticate(&bad, None, t0()).await.unwrap_err();
        assert_eq!(err, KeyError::Malformed, "{bad:.30}");
    }
    assert_eq!(
        keys.authenticate("  ", None, t0()).await,
        Err(KeyError::Missing)
    );
}

#[tokio::test]
async fn a_revoked_key_stops_at_once() {
    let (_, keys) = prod();
    let issued = keys
        .issue("support", KeyOptions::new(), t0())
        .await
        .unwrap();
    let key = issued.key.expose_secret();
    assert!(keys.authenticate(key, None, t0()).await.is_ok());
    let info = keys.revoke(&issued.info.key_id, t0()).await.unwrap();
    assert_eq!(info.status, KeyStatus::Revoked);
    assert_eq!(
        keys.authenticate(key, None, t0()).await,
        Err(KeyError::Revoked {
            key_id: issued.info.key_id.clone()
        })
    );
    // Revoking again keeps the first time.
    let again = keys.revoke(&issued.info.key_id, t0() + HOUR).await.unwrap();
    assert_eq!(again.revoked_at, Some(t0()));
}

#[tokio::test]
async fn keys_expire() {
    let (_, keys) = prod();
    let issued = keys
        .issue("support", KeyOptions::new().expires_in(HOUR), t0())
        .await
        .unwrap();
    let key = issued.key.expose_secret();
    let id = issued.info.key_id.clone();
    assert!(
        keys.authenticate(key, None, t0() + HOUR - Duration::from_secs(1))
            .await
            .is_ok()
    );
    assert_eq!(
        keys.authenticate(key, None, t0() + HOUR).await,
        Err(KeyError::Expired { key_id: id.clone() })
    );

    // `expire` brings the end forward, and never pushes it back.
    let other = keys
        .issue("support", KeyOptions::new().expires_in(HOUR), t0())
        .await
        .unwrap();
    let other_id = other.info.key_id.clone();
    keys.expire(&other_id, t0() + Duration::from_secs(60), t0())
        .await
        .unwrap();
    let later = keys
        .expire(&other_id, t0() + 10 * HOUR, t0())
        .await
        .unwrap();
    assert_eq!(later.expires_at, Some(t0() + Duration::from_secs(60)));
    assert_eq!(
        keys.authenticate(
            other.key.expose_secret(),
            None,
            t0() + Duration::from_secs(60)
        )
        .await,
        Err(KeyError::Expired { key_id: other_id })
    );
}

#[tokio::test]
async fn a_rotated_key_works_during_the_overlap_window_then_stops() {
    let store = Arc::new(MemoryKeyStore::new());
    let keys = service(store, Environment::Production)
        .with_rotation_overlap(HOUR)
        .unwrap();
    let old = keys
        .issue(
            "support",
            KeyOptions::new().allow_network("10.0.0.0/8".parse().unwrap()),
            t0(),
        )
        .await
        .unwrap();
    let new = keys.rotate(&old.info.key_id, t0()).await.unwrap();
    let (old_key, new_key) = (old.key.expose_secret(), new.key.expose_secret());
    assert_ne!(old_key, new_key);
    // The successor inherits the allowlist.
    assert_eq!(new.info.allowed_networks, old.info.allowed_networks);

    let during = t0() + HOUR - Duration::from_secs(1);
    let principal = keys
        .authenticate(old_key, ip("10.0.0.1"), during)
        .await
        .unwrap();
    assert_eq!(principal.retires_at, Some(t0() + HOUR));
    assert!(
        keys.authenticate(new_key, ip("10.0.0.1"), during)
            .await
            .is_ok()
    );

    assert_eq!(
        keys.authenticate(old_key, ip("10.0.0.1"), t0() + HOUR)
            .await,
        Err(KeyError::RotatedOut {
            key_id: old.info.key_id.clone(),
            replaced_by: new.info.key_id.clone(),
        })
    );
    assert!(
        keys.authenticate(new_key, ip("10.0.0.1"), t0() + HOUR)
            .await
            .is_ok()
    );

    // A key is rotated once; a revoked key is not rotated at all.
    assert!(matches!(
        keys.rotate(&old.info.key_id, t0()).await,
        Err(KeyError::AlreadyRotated { .. })
    ));
    keys.revoke(&new.info.key_id, t0()).await.unwrap();
    assert!(matches!(
        keys.rotate(&new.info.key_id, t0()).await,
        Err(KeyError::Revoked { .. })
    ));

    let listing = keys.list("support", t0() + 2 * HOUR).await.unwrap();
    let statuses: Vec<KeyStatus> = listing.iter().map(|k| k.status).collect();
    assert!(statuses.contains(&KeyStatus::Retired));
    assert!(statuses.contains(&KeyStatus::Revoked));
}

#[tokio::test]
async fn a_key_of_another_environment_is_refused_and_the_error_says_so() {
    let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    let staging = service(store.clone(), Environment::Staging);
    let production = service(store, Environment::Production);
    let issued = staging
        .issue("support", KeyOptions::new(), t0())
        .await
        .unwrap();
    let key = issued.key.expose_secret();
    assert!(staging.authenticate(key, None, t0()).await.is_ok());

    let err = production.authenticate(key, None, t0()).await.unwrap_err();
    assert_eq!(
        err,
        KeyError::WrongEnvironment {
            key: Environment::Staging,
            runtime: Environment::Production
        }
    );
    assert!(err.to_string().contains("staging"), "{err}");
    assert!(err.to_string().contains("production"), "{err}");

    // With separate stores (the usual set-up) the key is refused by its
    // label alone, before any lookup.
    let own_store = service(Arc::new(MemoryKeyStore::new()), Environment::Production);
    assert_eq!(
        own_store.authenticate(key, None, t0()).await,
        Err(KeyError::WrongEnvironment {
            key: Environment::Staging,
            runtime: Environment::Production
        })
    );

    // Relabelling the key as a production key does not help: the stored
    // record, not the prefix, decides.
    let relabelled = key.replacen("ask_staging_", "ask_prod_", 1);
    assert_eq!(
        production.authenticate(&relabelled, None, t0()).await,
        Err(KeyError::WrongEnvironment {
            key: Environment::Staging,
            runtime: Environment::Production
        })
    );
}

#[tokio::test]
async fn a_key_used_from_a_disallowed_address_is_refused() {
    let (_, keys) = prod();
    let issued = keys
        .issue(
            "support",
            KeyOptions::new()
                .allow_network("10.0.0.0/8".parse().unwrap())
                .allow_network("fd00::/8".parse().unwrap()),
            t0(),
        )
        .await
        .unwrap();
    let key = issued.key.expose_secret();
    let id = issued.info.key_id.clone();
    for allowed in ["10.1.2.3", "fd00::1", "::ffff:10.9.9.9"] {
        assert!(
            keys.authenticate(key, ip(allowed), t0()).await.is_ok(),
            "{allowed}"
        );
    }
    for refused in ["192.168.1.10", "11.0.0.1", "2001:db8::1", "::ffff:8.8.8.8"] {
        assert_eq!(
            keys.authenticate(key, ip(refused), t0()).await,
            Err(KeyError::AddressNotAllowed {
                key_id: id.clone(),
                address: ip(refused)
            }),
            "{refused}"
        );
    }
    assert_eq!(
        keys.authenticate(key, None, t0()).await,
        Err(KeyError::AddressNotAllowed {
            key_id: id,
            address: None
        })
    );
}

#[tokio::test]
async fn configuration_and_requests_are_checked() {
    let store: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::new());
    assert!(matches!(
        AgentKeys::new(store.clone(), b"short", Environment::Production),
        Err(KeyError::Config(_))
    ));
    let keys = service(store, Environment::Development);
    assert!(matches!(
        service(Arc::new(MemoryKeyStore::new()), Environment::Production)
            .with_rotation_overlap(Duration::from_secs(8 * 24 * 3600)),
        Err(KeyError::Config(_))
    ));
    for agent in ["", "  ", "a\nb"] {
        assert!(matches!(
            keys.issue(agent, KeyOptions::new(), t0()).await,
            Err(KeyError::InvalidRequest(_))
        ));
    }
    assert!(matches!(
        keys.issue("a", KeyOptions::new().expires_in(Duration::ZERO), t0())
            .await,
        Err(KeyError::InvalidRequest(_))
    ));
    assert!(matches!(
        keys.revoke("0000000000000000", t0()).await,
        Err(KeyError::UnknownKey { .. })
    ));
    let issued = keys.issue("a", KeyOptions::new(), t0()).await.unwrap();
    assert!(issued.key.expose_secret().starts_with("ask_dev_"));
}

#[tokio::test]
async fn the_memory_store_refuses_stale_updates_and_duplicates() {
    let (store, keys) = prod();
    let issued = keys
        .issue("support", KeyOptions::new(), t0())
        .await
        .unwrap();
    let record = store.get(&issued.info.key_id).await.unwrap().unwrap();
    assert_eq!(
        store.insert(record.clone()).await,
        Err(KeyStoreError::Duplicate(record.key_id.clone()))
    );
    store.update(record.clone()).await.unwrap();
    assert_eq!(
        store.update(record.clone()).await,
        Err(KeyStoreError::Conflict(record.key_id.clone()))
    );
}

/// A store where someone else revokes the key between the rotation's read
/// and its write: the rotation must not undo the revocation.
struct RevokeDuringRotation {
    inner: MemoryKeyStore,
    fired: AtomicBool,
}

impl KeyStore for RevokeDuringRotation {
    fn insert<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>> {
        self.inner.insert(record)
    }
    fn get<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<AgentKeyRecord>, KeyStoreError>> {
        self.inner.get(key_id)
    }
    fn list_by_agent<'a>(
        &'a self,
        agent: &'a str,
    ) -> BoxFuture<'a, Result<Vec<AgentKeyRecord>, KeyStoreError>> {
        self.inner.list_by_agent(agent)
    }
    fn update<'a>(&'a self, record: AgentKeyRecord) -> BoxFuture<'a, Result<(), KeyStoreError>> {
        Box::pin(async move {
            if record.replaced_by.is_some() && !self.fired.swap(true, Ordering::SeqCst) {
                let mut current = self.inner.get(&record.key_id).await?.expect("exists");
                current.revoked_at = Some(t0());
                self.inner.update(current).await?;
            }
            self.inner.update(record).await
        })
    }
}

#[tokio::test]
async fn a_revocation_racing_a_rotation_is_not_lost() {
    let store = Arc::new(RevokeDuringRotation {
        inner: MemoryKeyStore::new(),
        fired: AtomicBool::new(false),
    });
    let keys = service(store.clone(), Environment::Production);
    let old = keys
        .issue("support", KeyOptions::new(), t0())
        .await
        .unwrap();
    assert!(matches!(
        keys.rotate(&old.info.key_id, t0()).await,
        Err(KeyError::Revoked { .. })
    ));
    assert!(matches!(
        keys.authenticate(old.key.expose_secret(), None, t0()).await,
        Err(KeyError::Revoked { .. })
    ));
    // The successor minted before the race was lost must not work either.
    for info in keys.list("support", t0()).await.unwrap() {
        assert_eq!(info.status, KeyStatus::Revoked, "{info:?}");
    }
}
