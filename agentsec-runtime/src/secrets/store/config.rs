use std::path::PathBuf;
use std::str::FromStr;

use super::{ChainedSecretStore, EnvSecretStore, FileSecretStore, MemorySecretStore, SecretStore};

/// Which secret store a deployment uses, chosen per environment from one
/// string (typically the `AGENTSEC_SECRET_STORE` variable).
///
/// The string is a comma-separated list of stores, asked in order (the first
/// that has a name wins, see [`ChainedSecretStore`]):
///
/// | item          | store                                               |
/// |---------------|-----------------------------------------------------|
/// | `env`         | [`EnvSecretStore`] with prefix `AGENTSEC_SECRET_`   |
/// | `env:PREFIX`  | [`EnvSecretStore`] with prefix `PREFIX`             |
/// | `dir:PATH`    | [`FileSecretStore`] reading files in `PATH`         |
/// | `memory`      | an empty [`MemorySecretStore`] (tests, CI)          |
///
/// Paths cannot contain `,`. Spaces around items are ignored.
///
/// ```
/// use agentsec_runtime::secrets::SecretStoreConfig;
/// // Production: Kubernetes-mounted files first, then the environment.
/// let prod: SecretStoreConfig = "dir:/var/run/secrets/agentsec, env".parse().unwrap();
/// assert_eq!(
///     prod,
///     SecretStoreConfig::Chain(vec![
///         SecretStoreConfig::Dir { path: "/var/run/secrets/agentsec".into() },
///         SecretStoreConfig::Env { prefix: "AGENTSEC_SECRET_".into() },
///     ])
/// );
/// let store = prod.build();
/// assert_eq!(store.kind(), "chain");
/// assert!("vault:x".parse::<SecretStoreConfig>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretStoreConfig {
    /// Environment variables `{prefix}{NAME}`.
    Env {
        /// The variable prefix.
        prefix: String,
    },
    /// One file per secret in a directory.
    Dir {
        /// The directory.
        path: PathBuf,
    },
    /// An empty in-memory store.
    Memory,
    /// Several stores, asked in order.
    Chain(Vec<SecretStoreConfig>),
}

/// Why a secret store specification could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretStoreConfigError {
    /// The specification names no store.
    #[error("the secret store specification is empty")]
    Empty,
    /// An item is not `env`, `env:PREFIX`, `dir:PATH` or `memory`.
    #[error("unknown secret store `{0}` (expected `env`, `env:PREFIX`, `dir:PATH` or `memory`)")]
    Unknown(String),
    /// `dir:` without a path.
    #[error("`dir:` needs a directory path")]
    MissingPath,
    /// The variable holding the specification is not valid Unicode.
    #[error("`{0}` is not valid Unicode")]
    NotUnicode(&'static str),
}

impl SecretStoreConfig {
    /// The environment variable [`SecretStoreConfig::from_env`] reads.
    pub const ENV_VAR: &'static str = "AGENTSEC_SECRET_STORE";

    /// The store used when [`Self::ENV_VAR`] is unset: environment variables
    /// with the `AGENTSEC_SECRET_` prefix.
    pub fn default_env() -> Self {
        Self::Env {
            prefix: "AGENTSEC_SECRET_".to_owned(),
        }
    }

    /// Reads the specification from `AGENTSEC_SECRET_STORE`, or
    /// [`SecretStoreConfig::default_env`] when it is unset.
    pub fn from_env() -> Result<Self, SecretStoreConfigError> {
        match std::env::var(Self::ENV_VAR) {
            Ok(spec) => spec.parse(),
            Err(std::env::VarError::NotPresent) => Ok(Self::default_env()),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(SecretStoreConfigError::NotUnicode(Self::ENV_VAR))
            }
        }
    }

    /// Builds the store this configuration describes.
    pub fn build(&self) -> Box<dyn SecretStore> {
        match self {
            Self::Env { prefix } => Box::new(EnvSecretStore::new(prefix.clone())),
            Self::Dir { path } => Box::new(FileSecretStore::new(path.clone())),
            Self::Memory => Box::new(MemorySecretStore::new()),
            Self::Chain(items) => {
                let mut chain = ChainedSecretStore::new();
                for item in items {
                    chain.push(item.build());
                }
                Box::new(chain)
            }
        }
    }

    fn parse_item(item: &str) -> Result<Self, SecretStoreConfigError> {
        if item == "env" {
            return Ok(Self::default_env());
        }
        if item == "memory" {
            return Ok(Self::Memory);
        }
        if let Some(prefix) = item.strip_prefix("env:") {
            return Ok(Self::Env {
                prefix: prefix.to_owned(),
            });
        }
        if let Some(path) = item.strip_prefix("dir:") {
            if path.is_empty() {
                return Err(SecretStoreConfigError::MissingPath);
            }
            return Ok(Self::Dir { path: path.into() });
        }
        Err(SecretStoreConfigError::Unknown(item.to_owned()))
    }
}

impl FromStr for SecretStoreConfig {
    type Err = SecretStoreConfigError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut items = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            items.push(Self::parse_item(item)?);
        }
        match items.len() {
            0 => Err(SecretStoreConfigError::Empty),
            1 => Ok(items.remove(0)),
            _ => Ok(Self::Chain(items)),
        }
    }
}
