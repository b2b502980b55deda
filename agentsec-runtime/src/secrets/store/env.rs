use std::collections::HashMap;

use secrecy::SecretString;

use super::{SecretError, SecretStore};
use crate::BoxFuture;

/// The prefix [`EnvSecretStore::default`] uses.
const DEFAULT_PREFIX: &str = "AGENTSEC_SECRET_";

/// Secrets read from environment variables.
///
/// A secret name maps to a variable by upper-casing it, turning `-` and `.`
/// into `_`, and putting the prefix in front:
///
/// | prefix              | name              | variable                          |
/// |---------------------|-------------------|-----------------------------------|
/// | `AGENTSEC_SECRET_`  | `stripe_api_key`  | `AGENTSEC_SECRET_STRIPE_API_KEY`  |
/// | `AGENTSEC_SECRET_`  | `openai.api-key`  | `AGENTSEC_SECRET_OPENAI_API_KEY`  |
/// | `MYAPP_`            | `db_password`     | `MYAPP_DB_PASSWORD`               |
///
/// Names may hold ASCII letters, digits, `_`, `-` and `.` only; any other
/// name is refused with [`SecretError::InvalidName`]. Because `-`, `.` and
/// `_` map to the same character, `a-b` and `a_b` are the same secret.
/// An empty variable counts as absent. The process environment is read on
/// every [`get`](SecretStore::get), so a restarted or re-configured process
/// sees new values; [`EnvSecretStore::from_vars`] reads from a fixed map
/// instead (tests, or values loaded from elsewhere at start-up).
///
/// ```
/// use agentsec_runtime::secrets::{EnvSecretStore, ExposeSecret, SecretStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert_eq!(
///     EnvSecretStore::default().variable_for("stripe_api_key").unwrap(),
///     "AGENTSEC_SECRET_STRIPE_API_KEY"
/// );
/// let store = EnvSecretStore::from_vars(
///     "MYAPP_",
///     [("MYAPP_DB_PASSWORD", "correct horse battery staple")],
/// );
/// let value = store.get("db_password").await.unwrap().unwrap();
/// assert_eq!(value.expose_secret(), "correct horse battery staple");
/// # });
/// ```
pub struct EnvSecretStore {
    prefix: String,
    source: Source,
}

enum Source {
    Process,
    Fixed(HashMap<String, String>),
}

impl EnvSecretStore {
    /// A store reading the process environment, with variables named
    /// `{prefix}{NAME}`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            source: Source::Process,
        }
    }

    /// A store reading from the given variables instead of the process
    /// environment (same name mapping as [`EnvSecretStore::new`]).
    pub fn from_vars<K, V>(
        prefix: impl Into<String>,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            prefix: prefix.into(),
            source: Source::Fixed(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// The prefix put in front of every variable name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The environment variable that holds the secret `name`.
    pub fn variable_for(&self, name: &str) -> Result<String, SecretError> {
        let invalid = |reason| SecretError::InvalidName {
            store: "env",
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("the name is empty"));
        }
        let mut variable = self.prefix.clone();
        for c in name.chars() {
            match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' => variable.push(c.to_ascii_uppercase()),
                '_' | '-' | '.' => variable.push('_'),
                _ => {
                    return Err(invalid(
                        "only ASCII letters, digits, `_`, `-` and `.` are allowed",
                    ));
                }
            }
        }
        Ok(variable)
    }
}

impl Default for EnvSecretStore {
    /// A store reading `AGENTSEC_SECRET_{NAME}` from the process environment.
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX)
    }
}

impl std::fmt::Debug for EnvSecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Process => "process",
            Source::Fixed(_) => "fixed",
        };
        f.debug_struct("EnvSecretStore")
            .field("prefix", &self.prefix)
            .field("source", &source)
            .finish()
    }
}

impl SecretStore for EnvSecretStore {
    fn kind(&self) -> &'static str {
        "env"
    }

    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, SecretError>> {
        let result = self.variable_for(name).and_then(|variable| {
            let value = match &self.source {
                Source::Fixed(vars) => vars.get(&variable).cloned(),
                Source::Process => match std::env::var(&variable) {
                    Ok(value) => Some(value),
                    Err(std::env::VarError::NotPresent) => None,
                    Err(std::env::VarError::NotUnicode(_)) => {
                        return Err(SecretError::NotUtf8 {
                            store: "env",
                            name: name.to_owned(),
                        });
                    }
                },
            };
            Ok(value.filter(|v| !v.is_empty()).map(SecretString::from))
        });
        Box::pin(async move { result })
    }
}
