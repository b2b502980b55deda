//! Secret stores: environment, files, chains and configuration.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use agentsec_runtime::secrets::{
    ChainedSecretStore, EnvSecretStore, ExposeSecret, FileSecretStore, MemorySecretStore,
    SecretError, SecretStore, SecretStoreConfig, SecretStoreConfigError,
};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "agentsec-secrets-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn value(store: &dyn SecretStore, name: &str) -> Option<String> {
    store
        .get(name)
        .await
        .unwrap()
        .map(|s| s.expose_secret().to_owned())
}

#[test]
fn env_names_map_to_prefixed_upper_case_variables() {
    let store = EnvSecretStore::default();
    assert_eq!(
        store.variable_for("stripe_api_key").unwrap(),
        "AGENTSEC_SECRET_STRIPE_API_KEY"
    );
    assert_eq!(
        store.variable_for("openai.api-key").unwrap(),
        "AGENTSEC_SECRET_OPENAI_API_KEY"
    );
    for bad in ["", "a b", "a/b", "key=1", "ключ"] {
        assert!(
            matches!(
                store.variable_for(bad),
                Err(SecretError::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn env_store_reads_variables() {
    let store = EnvSecretStore::from_vars(
        "APP_",
        [("APP_DB_PASSWORD", "pa55word-long"), ("APP_EMPTY", "")],
    );
    assert_eq!(
        value(&store, "db_password").await.as_deref(),
        Some("pa55word-long")
    );
    assert_eq!(
        value(&store, "db-password").await.as_deref(),
        Some("pa55word-long")
    );
    assert_eq!(value(&store, "empty").await, None, "empty counts as absent");
    assert_eq!(value(&store, "missing").await, None);
    assert!(matches!(
        store.get("../x").await,
        Err(SecretError::InvalidName { .. })
    ));
}

#[tokio::test]
async fn env_store_reads_the_process_environment() {
    // PATH is set wherever tests run; with an empty prefix the name `path`
    // maps to it.
    let expected = std::env::var("PATH").unwrap();
    let store = EnvSecretStore::new("");
    assert_eq!(value(&store, "path").await, Some(expected));
}

#[tokio::test]
async fn file_store_reads_one_file_per_secret_and_trims_one_newline() {
    let dir = TempDir::new();
    std::fs::write(dir.0.join("plain"), "value-without-newline").unwrap();
    std::fs::write(dir.0.join("newline"), "value\n").unwrap();
    std::fs::write(dir.0.join("two_newlines"), "value\n\n").unwrap();
    std::fs::write(dir.0.join("crlf"), "value\r\n").unwrap();
    std::fs::write(dir.0.join("inner"), "line1\nline2\n").unwrap();
    let store = FileSecretStore::new(&dir.0);

    assert_eq!(
        value(&store, "plain").await.as_deref(),
        Some("value-without-newline")
    );
    assert_eq!(value(&store, "newline").await.as_deref(), Some("value"));
    assert_eq!(
        value(&store, "two_newlines").await.as_deref(),
        Some("value\n")
    );
    assert_eq!(value(&store, "crlf").await.as_deref(), Some("value"));
    assert_eq!(
        value(&store, "inner").await.as_deref(),
        Some("line1\nline2")
    );
    assert_eq!(value(&store, "missing").await, None);
}

#[tokio::test]
async fn file_store_refuses_names_that_leave_the_directory() {
    // A real file next to the secrets directory: without the name check,
    // `../outside` would read it.
    let parent = TempDir::new();
    let secrets = parent.0.join("secrets");
    std::fs::create_dir_all(secrets.join("sub")).unwrap();
    std::fs::write(parent.0.join("outside"), "not-yours").unwrap();
    std::fs::write(secrets.join("sub").join("nested"), "nested-value").unwrap();
    std::fs::write(secrets.join("..data"), "kubernetes-internal").unwrap();
    let store = FileSecretStore::new(&secrets);

    for name in [
        "../outside",
        "..",
        "sub/nested",
        "sub\\nested",
        "..data",
        ".hidden",
        "a..b",
        "",
        "nul\0byte",
    ] {
        let result = store.get(name).await;
        assert!(
            matches!(result, Err(SecretError::InvalidName { store: "file", .. })),
            "{name:?} was not refused: {:?}",
            result.map(|v| v.map(|s| s.expose_secret().to_owned()))
        );
    }
    let absolute = parent.0.join("outside");
    assert!(matches!(
        store.get(absolute.to_str().unwrap()).await,
        Err(SecretError::InvalidName { .. })
    ));
}

#[tokio::test]
async fn file_store_reports_other_io_errors_and_bad_contents() {
    let dir = TempDir::new();
    std::fs::create_dir(dir.0.join("a_directory")).unwrap();
    std::fs::write(dir.0.join("binary"), [0xff, 0xfe, 0x00]).unwrap();
    let store = FileSecretStore::new(&dir.0);

    assert!(matches!(
        store.get("a_directory").await,
        Err(SecretError::Io { store: "file", .. })
    ));
    let err = store.get("binary").await.unwrap_err();
    assert!(matches!(err, SecretError::NotUtf8 { .. }));
    assert!(!err.to_string().contains('\u{fffd}'));
}

#[tokio::test]
async fn chain_takes_the_first_store_that_has_the_name() {
    let dir = TempDir::new();
    std::fs::write(dir.0.join("shared"), "from-file\n").unwrap();
    let chain = ChainedSecretStore::new()
        .with(FileSecretStore::new(&dir.0))
        .with(EnvSecretStore::from_vars(
            "T_",
            [("T_SHARED", "from-env"), ("T_ONLY_ENV", "env-only")],
        ))
        .with(MemorySecretStore::new().with("only_memory", "memory-only"));

    assert_eq!(value(&chain, "shared").await.as_deref(), Some("from-file"));
    assert_eq!(value(&chain, "only_env").await.as_deref(), Some("env-only"));
    assert_eq!(
        value(&chain, "only_memory").await.as_deref(),
        Some("memory-only")
    );
    assert_eq!(value(&chain, "nowhere").await, None);
    // An error in an earlier store is not papered over by a later one.
    assert!(matches!(
        chain.get("../shared").await,
        Err(SecretError::InvalidName { store: "file", .. })
    ));
}

#[tokio::test]
async fn config_chooses_the_store_per_environment() {
    let dir = TempDir::new();
    std::fs::write(dir.0.join("token"), "file-token\n").unwrap();
    let spec = format!("dir:{}, env:AGENTSEC_TEST_UNSET_", dir.0.display());
    let config: SecretStoreConfig = spec.parse().unwrap();
    let store = config.build();
    assert_eq!(store.kind(), "chain");
    assert_eq!(value(&*store, "token").await.as_deref(), Some("file-token"));

    assert_eq!(
        "env".parse::<SecretStoreConfig>().unwrap(),
        SecretStoreConfig::default_env()
    );
    assert_eq!(
        "memory"
            .parse::<SecretStoreConfig>()
            .unwrap()
            .build()
            .kind(),
        "memory"
    );
    assert_eq!(
        " , ".parse::<SecretStoreConfig>(),
        Err(SecretStoreConfigError::Empty)
    );
    assert_eq!(
        "dir:".parse::<SecretStoreConfig>(),
        Err(SecretStoreConfigError::MissingPath)
    );
    assert!(matches!(
        "vault:prod".parse::<SecretStoreConfig>(),
        Err(SecretStoreConfigError::Unknown(_))
    ));
}
