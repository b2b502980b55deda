//! The operator's secrets: the approval signing key and the agent-key pepper
//! come from the secret store configured by `AGENTSEC_SECRET_STORE` (default:
//! environment variables `AGENTSEC_SECRET_<NAME>`), never from flags.

use agentsec::secrets::{SecretStore, SecretStoreConfig};

use crate::error::CliError;

/// The name of the secret holding the approval signing key.
pub const APPROVAL_KEY: &str = "agentsec_approval_key";
/// The name of the secret holding the agent-key pepper.
pub const KEY_PEPPER: &str = "agentsec_key_pepper";

/// The secret store the environment configures.
pub fn store() -> Result<Box<dyn SecretStore>, CliError> {
    let config =
        SecretStoreConfig::from_env().map_err(|e| CliError::Store(format!("secret store: {e}")))?;
    Ok(config.build())
}
