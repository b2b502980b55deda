use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentsec::ExposeSecret;
use agentsec::escape::echo;
use agentsec::identity::keys::{
    AgentKeyInfo, AgentKeys, Environment, KeyError, KeyOptions, KeyStatus, RunStoreKeys,
};
use agentsec::store::RunStore;
use clap::Subcommand;

use crate::error::CliError;
use crate::secrets::{self, KEY_PEPPER};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Issue a key for an agent. The key is printed once and never stored.
    Issue {
        /// The agent the key invokes.
        agent: String,
        /// The environment the key works in.
        #[arg(long, default_value = "development")]
        environment: Environment,
        /// Days until the key expires.
        #[arg(long)]
        expires_in_days: Option<u64>,
        /// A network callers must come from (CIDR, repeatable).
        #[arg(long = "allow")]
        allow: Vec<ipnet::IpNet>,
    },
    /// List an agent's keys (never the keys themselves).
    List {
        /// The agent.
        agent: String,
    },
    /// Rotate a key: a new key is issued; the old one keeps working for the overlap window.
    Rotate {
        /// The key id (from `keys list`).
        key_id: String,
        /// The environment of the runtime the keys are for.
        #[arg(long, default_value = "development")]
        environment: Environment,
    },
    /// Revoke a key at once.
    Revoke {
        /// The key id (from `keys list`).
        key_id: String,
        /// The environment of the runtime the keys are for.
        #[arg(long, default_value = "development")]
        environment: Environment,
    },
}

async fn service(
    store: &Arc<dyn RunStore>,
    environment: Environment,
) -> Result<AgentKeys, CliError> {
    let secrets = secrets::store()?;
    let pepper = secrets
        .get(KEY_PEPPER)
        .await
        .map_err(|e| CliError::Store(format!("secret store: {e}")))?
        .ok_or_else(|| {
            CliError::Refused(
                "the secret store has no `agentsec_key_pepper` (set AGENTSEC_SECRET_AGENTSEC_KEY_PEPPER to at least 32 bytes, the same the runtime uses)".into(),
            )
        })?;
    AgentKeys::new(
        Arc::new(RunStoreKeys::new(store.clone())),
        pepper.expose_secret().as_bytes(),
        environment,
    )
    .map_err(keys)
}

fn keys(error: KeyError) -> CliError {
    let text = error.to_string();
    if text.contains("unknown") || text.contains("not found") {
        CliError::NotFound(text)
    } else {
        CliError::Refused(text)
    }
}

/// A key's time as the CLI shows every time: local, plus how far from now.
fn unix(time: SystemTime) -> String {
    let ms = time
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    crate::when::when(ms)
}

fn describe(info: &AgentKeyInfo) -> String {
    // The states the guide names (`KeyStatus`): a rotated key is Retiring
    // until its overlap window ends, whatever its expiry.
    let state = match info.status {
        KeyStatus::Active => match info.expires_at {
            Some(at) => format!("Active, expires at {}", unix(at)),
            None => "Active".to_owned(),
        },
        KeyStatus::Retiring { until } => format!(
            "Retiring until {}, replaced by {}",
            unix(until),
            echo(info.replaced_by.as_deref().unwrap_or("?"))
        ),
        KeyStatus::Retired => format!(
            "Retired, replaced by {}",
            echo(info.replaced_by.as_deref().unwrap_or("?"))
        ),
        KeyStatus::Revoked => format!(
            "Revoked at {}",
            info.revoked_at.map(unix).unwrap_or_else(|| "?".into())
        ),
        KeyStatus::Expired => format!(
            "Expired at {}",
            info.expires_at.map(unix).unwrap_or_else(|| "?".into())
        ),
    };
    let nets: Vec<String> = info
        .allowed_networks
        .iter()
        .map(ToString::to_string)
        .collect();
    let nets = if nets.is_empty() {
        String::new()
    } else {
        format!(" · from {}", nets.join(", "))
    };
    format!(
        "{}  {}  {}  created {}  {state}{nets}",
        echo(&info.key_id),
        echo(&info.agent),
        info.environment,
        unix(info.created_at)
    )
}

pub async fn run(
    command: KeysCommand,
    store: &Arc<dyn RunStore>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let now = SystemTime::now();
    match command {
        KeysCommand::Issue {
            agent,
            environment,
            expires_in_days,
            allow,
        } => {
            let service = service(store, environment).await?;
            let mut options = KeyOptions::new();
            options.environment = Some(environment);
            options.expires_in = expires_in_days.map(|d| Duration::from_secs(d * 86_400));
            options.allowed_networks = allow;
            let issued = service.issue(&agent, options, now).await.map_err(keys)?;
            writeln!(out, "{}", describe(&issued.info))?;
            writeln!(
                out,
                "key (shown once; store it in the caller's secret store): {}",
                issued.key.expose_secret()
            )?;
        }
        KeysCommand::List { agent } => {
            let service = service(store, Environment::Development).await?;
            let listed = service.list(&agent, now).await.map_err(keys)?;
            if listed.is_empty() {
                writeln!(out, "no keys for agent {agent}")?;
            }
            for info in listed {
                writeln!(out, "{}", describe(&info))?;
            }
        }
        KeysCommand::Rotate {
            key_id,
            environment,
        } => {
            let service = service(store, environment).await?;
            let issued = service.rotate(&key_id, now).await.map_err(keys)?;
            writeln!(
                out,
                "rotated {key_id}; the old key works until the overlap window ends"
            )?;
            writeln!(out, "{}", describe(&issued.info))?;
            writeln!(out, "new key (shown once): {}", issued.key.expose_secret())?;
        }
        KeysCommand::Revoke {
            key_id,
            environment,
        } => {
            let service = service(store, environment).await?;
            let info = service.revoke(&key_id, now).await.map_err(keys)?;
            writeln!(out, "{}", describe(&info))?;
        }
    }
    Ok(())
}
