use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The deployment an agent key belongs to. A runtime serves one environment
/// and refuses keys of every other, so a staging key that leaks cannot act
/// in production.
///
/// ```
/// use agentsec_runtime::identity::Environment;
/// assert_eq!(Environment::Production.tag(), "prod");
/// assert_eq!("staging".parse::<Environment>().unwrap(), Environment::Staging);
/// assert_eq!(Environment::Development.to_string(), "development");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Serves real users.
    Production,
    /// Pre-production.
    Staging,
    /// Developers' machines and CI.
    Development,
}

impl Environment {
    /// The short tag written into keys (`ask_<tag>_...`).
    pub const fn tag(self) -> &'static str {
        match self {
            Environment::Production => "prod",
            Environment::Staging => "staging",
            Environment::Development => "dev",
        }
    }

    /// The full name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
            Environment::Development => "development",
        }
    }

    /// The environment whose [`tag`](Self::tag) is `tag`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        [
            Environment::Production,
            Environment::Staging,
            Environment::Development,
        ]
        .into_iter()
        .find(|e| e.tag() == tag)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = String;

    /// Accepts the full name or the tag.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "production" | "prod" => Ok(Environment::Production),
            "staging" => Ok(Environment::Staging),
            "development" | "dev" => Ok(Environment::Development),
            other => Err(format!(
                "unknown environment `{}`; expected production, staging or development",
                crate::identity::session::shorten_for_message(other)
            )),
        }
    }
}
