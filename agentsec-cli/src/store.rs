use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentsec::store::{PostgresStore, RunStore, SqliteStore};
use clap::Args;

use crate::error::CliError;

/// Where the runs live.
#[derive(Args, Debug)]
pub struct StoreArgs {
    /// The SQLite file (created on first use). Wins over `--database-url`.
    #[arg(long, global = true, value_name = "PATH")]
    sqlite: Option<PathBuf>,
    /// A PostgreSQL URL; defaults to `$DATABASE_URL`. Without either, the
    /// SQLite file `./agentsec.db` is used.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
}

/// The file `agentsec demo` writes by default.
pub const DEMO_DB: &str = "agentsec-demo.db";

/// How long to wait for PostgreSQL before giving up with its address.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl StoreArgs {
    /// Opens the store the arguments name. A `read_only` command never
    /// creates a SQLite file: when there is none it says so, and names the
    /// demo's file when that one exists.
    pub async fn open(&self, read_only: bool) -> Result<Arc<dyn RunStore>, CliError> {
        if let Some(path) = &self.sqlite {
            return open_existing_or_new(path, read_only).await;
        }
        if let Some(url) = &self.database_url {
            return connect_postgres(url, CONNECT_TIMEOUT).await;
        }
        open_existing_or_new(&PathBuf::from("agentsec.db"), read_only).await
    }
}

async fn open_existing_or_new(path: &Path, read_only: bool) -> Result<Arc<dyn RunStore>, CliError> {
    if read_only && !path.exists() {
        let demo = Path::new(DEMO_DB);
        let hint = if demo.exists() && demo != path {
            format!("; `agentsec demo` wrote {DEMO_DB}: try `agentsec --sqlite {DEMO_DB} …`")
        } else {
            format!("; pass --sqlite PATH or --database-url URL (`agentsec demo` writes {DEMO_DB})")
        };
        return Err(CliError::Store(format!(
            "no store at {} (nothing was created){hint}",
            path.display()
        )));
    }
    open_sqlite(path).await
}

/// Connects to PostgreSQL at `url`, failing after `timeout` with the
/// server's address (never the password).
pub async fn connect_postgres(url: &str, timeout: Duration) -> Result<Arc<dyn RunStore>, CliError> {
    let address = address_of(url);
    match tokio::time::timeout(timeout, PostgresStore::connect(url)).await {
        Ok(Ok(store)) => Ok(Arc::new(store)),
        Ok(Err(e)) => Err(CliError::Store(format!("PostgreSQL at {address}: {e}"))),
        Err(_) => Err(CliError::Store(format!(
            "PostgreSQL at {address} did not answer within {} s",
            timeout.as_secs()
        ))),
    }
}

/// `host:port/database` of a PostgreSQL URL, without user or password.
fn address_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (host, db) = rest.split_once('/').unwrap_or((rest, ""));
    let host = if host.is_empty() { "localhost" } else { host };
    let host = if host.contains(':') && !host.ends_with(']') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    let text = if db.is_empty() {
        host
    } else {
        format!("{host}/{db}")
    };
    agentsec::escape::echo(&text)
}

/// Opens (creating) the SQLite file at `path`.
pub async fn open_sqlite(path: &std::path::Path) -> Result<Arc<dyn RunStore>, CliError> {
    let store = SqliteStore::open(path)
        .await
        .map_err(|e| CliError::Store(format!("{}: {e}", path.display())))?;
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_address_never_shows_the_password() {
        assert_eq!(
            super::address_of("postgres://app:s3cret@db.internal:6543/agents?sslmode=require"),
            "db.internal:6543/agents"
        );
        assert_eq!(
            super::address_of("postgres://localhost/test"),
            "localhost:5432/test"
        );
    }
}
