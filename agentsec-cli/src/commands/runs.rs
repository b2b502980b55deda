use agentsec::escape::echo;
use std::io::Write;
use std::sync::Arc;

use agentsec::identity::RunId;
use agentsec::store::{RunFilter, RunRecord, RunStatus, RunStore};
use clap::Subcommand;

use crate::error::CliError;

#[derive(Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first.
    List {
        /// Only runs of this agent.
        #[arg(long)]
        agent: Option<String>,
        /// Only runs for this user.
        #[arg(long)]
        user: Option<String>,
        /// Only runs in this status (running, awaiting_approval, completed, ...).
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one run's record and state as JSON.
    Show {
        /// The run id (`run_…` or a UUID).
        run: String,
    },
}

/// Parses a run id as printed by agentsec or as a bare UUID.
pub fn parse_run_id(text: &str) -> Result<RunId, CliError> {
    text.parse().map_err(|_| {
        CliError::NotFound(format!(
            "`{text}` is not a run id (expected run_… or a UUID)"
        ))
    })
}

pub async fn run(
    command: RunsCommand,
    store: &Arc<dyn RunStore>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        RunsCommand::List {
            agent,
            user,
            status,
            limit,
            json,
        } => {
            let status = match status {
                Some(s) => Some(
                    s.parse::<RunStatus>()
                        .map_err(|_| CliError::Refused(format!("unknown status `{s}`")))?,
                ),
                None => None,
            };
            let filter = RunFilter {
                status,
                agent,
                user_id: user,
                limit,
            };
            let runs = store.list_runs(&filter).await?;
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&runs).unwrap_or_default()
                )?;
            } else {
                print_table(&runs, out)?;
            }
            Ok(())
        }
        RunsCommand::Show { run } => {
            let record = store.get_run(parse_run_id(&run)?).await?;
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&record).unwrap_or_default()
            )?;
            Ok(())
        }
    }
}

fn print_table(runs: &[RunRecord], out: &mut dyn Write) -> Result<(), CliError> {
    if runs.is_empty() {
        writeln!(out, "no runs")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<37} {:<14} {:<14} {:<20} UPDATED (unix ms)",
        "RUN", "AGENT", "USER", "STATUS"
    )?;
    for run in runs {
        writeln!(
            out,
            "{:<37} {:<14} {:<14} {:<20} {}",
            run.id.to_string(),
            echo(&run.agent),
            echo(&run.user_id),
            run.status.as_str(),
            run.updated_at.0
        )?;
    }
    Ok(())
}
