use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use secrecy::SecretString;

use super::{AgentKeyInfo, Environment};

/// The agent an invocation key authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentPrincipal {
    /// The agent's name.
    pub agent: String,
    /// The key that authenticated it.
    pub key_id: String,
    /// The key's (and so the runtime's) environment.
    pub environment: Environment,
    /// Set when the key was rotated: when it stops working. Callers should
    /// switch to the successor before then.
    pub retires_at: Option<SystemTime>,
}

/// Options for issuing a key.
///
/// ```
/// use std::time::Duration;
/// use agentsec_runtime::identity::keys::KeyOptions;
/// let options = KeyOptions::new()
///     .expires_in(Duration::from_secs(90 * 24 * 3600))
///     .allow_network("10.0.0.0/8".parse().unwrap());
/// assert_eq!(options.allowed_networks.len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyOptions {
    /// The key's environment; the service's own when `None`.
    pub environment: Option<Environment>,
    /// How long the key lives; forever when `None`.
    pub expires_in: Option<Duration>,
    /// Caller networks the key may be used from; any when empty.
    pub allowed_networks: Vec<IpNet>,
}

impl KeyOptions {
    /// No expiry, any address, the service's environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Issues the key for `environment` (for instance from an admin tool
    /// that serves several deployments).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Makes the key expire `ttl` after it is issued.
    pub fn expires_in(mut self, ttl: Duration) -> Self {
        self.expires_in = Some(ttl);
        self
    }

    /// Adds a caller network the key may be used from.
    pub fn allow_network(mut self, network: IpNet) -> Self {
        self.allowed_networks.push(network);
        self
    }
}

/// A newly issued key: the full key, shown once, and its listing.
///
/// The key is a [`SecretString`]: `Debug` prints `[REDACTED]`.
#[derive(Debug)]
pub struct IssuedKey {
    /// `ask_<env>_<keyid>_<secret>`: hand it to the caller, then drop it.
    pub key: SecretString,
    /// What listings will show of it.
    pub info: AgentKeyInfo,
}
