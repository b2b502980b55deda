use std::path::PathBuf;
use std::sync::Arc;

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

impl StoreArgs {
    /// Opens the store the arguments name.
    pub async fn open(&self) -> Result<Arc<dyn RunStore>, CliError> {
        if let Some(path) = &self.sqlite {
            return open_sqlite(path).await;
        }
        if let Some(url) = &self.database_url {
            let store = PostgresStore::connect(url)
                .await
                .map_err(|e| CliError::Store(format!("PostgreSQL: {e}")))?;
            return Ok(Arc::new(store));
        }
        open_sqlite(&PathBuf::from("agentsec.db")).await
    }
}

/// Opens (creating) the SQLite file at `path`.
pub async fn open_sqlite(path: &std::path::Path) -> Result<Arc<dyn RunStore>, CliError> {
    let store = SqliteStore::open(path)
        .await
        .map_err(|e| CliError::Store(format!("{}: {e}", path.display())))?;
    Ok(Arc::new(store))
}
