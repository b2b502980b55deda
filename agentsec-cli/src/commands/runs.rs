use agentsec::escape::echo;
use std::io::Write;
use std::sync::Arc;

use agentsec::engine::RunState;
use agentsec::identity::RunId;
use agentsec::store::{RunFilter, RunRecord, RunStatus, RunStore};
use clap::Subcommand;
use clap::builder::PossibleValuesParser;

use crate::error::CliError;
use crate::when::{now_ms, when_at};

/// The statuses `--status` accepts (clap lists them on a wrong value).
fn statuses() -> PossibleValuesParser {
    PossibleValuesParser::new(RunStatus::ALL.iter().map(|s| s.as_str()))
}

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
        /// Only runs in this status.
        #[arg(long, value_parser = statuses())]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON (one small object per run, without its state) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one run: who, where it is, what it spent, its calls.
    Show {
        /// The run id (`run_…` or a UUID).
        run: String,
        /// Print the whole record, state included, as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Parses a run id as printed by agentsec or as a bare UUID.
pub fn parse_run_id(text: &str) -> Result<RunId, CliError> {
    text.parse().map_err(|_| {
        CliError::NotFound(format!(
            "`{}` is not a run id (expected run_… or a UUID)",
            echo(text)
        ))
    })
}

/// A run in a listing: what a person or a script needs to pick one, never
/// the state (which can be large; `runs show RUN --json` has it).
#[derive(serde::Serialize)]
struct RunSummary<'a> {
    id: RunId,
    agent: &'a str,
    user_id: &'a str,
    tenant: Option<&'a str>,
    status: RunStatus,
    created_at: i64,
    updated_at: i64,
}

impl<'a> From<&'a RunRecord> for RunSummary<'a> {
    fn from(run: &'a RunRecord) -> Self {
        Self {
            id: run.id,
            agent: &run.agent,
            user_id: &run.user_id,
            tenant: run.tenant.as_deref(),
            status: run.status,
            created_at: run.created_at.0,
            updated_at: run.updated_at.0,
        }
    }
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
                Some(s) => Some(s.parse::<RunStatus>().map_err(|_| {
                    CliError::Usage(format!(
                        "unknown status `{}` (valid: {})",
                        echo(&s),
                        valid_statuses()
                    ))
                })?),
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
                let small: Vec<RunSummary<'_>> = runs.iter().map(RunSummary::from).collect();
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&small).unwrap_or_default()
                )?;
            } else {
                print_table(&runs, out)?;
            }
            Ok(())
        }
        RunsCommand::Show { run, json } => {
            let record = store.get_run(parse_run_id(&run)?).await?;
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&record).unwrap_or_default()
                )?;
            } else {
                show(&record, out)?;
            }
            Ok(())
        }
    }
}

fn valid_statuses() -> String {
    RunStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_table(runs: &[RunRecord], out: &mut dyn Write) -> Result<(), CliError> {
    if runs.is_empty() {
        writeln!(out, "no runs")?;
        return Ok(());
    }
    let now = now_ms();
    writeln!(
        out,
        "{:<36} {:<14} {:<14} {:<20} UPDATED",
        "RUN", "AGENT", "USER", "STATUS"
    )?;
    for run in runs {
        writeln!(
            out,
            "{:<36} {:<14} {:<14} {:<20} {}",
            run.id.to_string(),
            echo(&run.agent),
            echo(&run.user_id),
            run.status.as_str(),
            when_at(run.updated_at.0, now)
        )?;
    }
    Ok(())
}

/// A run for a person: the record's facts, then (when the state is
/// readable) what it spent and each call with what became of it.
fn show(record: &RunRecord, out: &mut dyn Write) -> Result<(), CliError> {
    let now = now_ms();
    let tenant = record
        .tenant
        .as_deref()
        .map(|t| format!(" (tenant {})", echo(t)))
        .unwrap_or_default();
    writeln!(out, "run      {}", record.id)?;
    writeln!(out, "agent    {}", echo(&record.agent))?;
    writeln!(out, "user     {}{tenant}", echo(&record.user_id))?;
    writeln!(out, "status   {}", record.status.as_str())?;
    writeln!(out, "created  {}", when_at(record.created_at.0, now))?;
    writeln!(out, "updated  {}", when_at(record.updated_at.0, now))?;
    if let (Some(owner), Some(until)) = (&record.lease_owner, record.lease_until) {
        writeln!(
            out,
            "lease    {} until {}",
            echo(owner),
            when_at(until.0, now)
        )?;
    }
    let state: RunState = match serde_json::from_value(record.state.clone()) {
        Ok(state) => state,
        Err(e) => {
            writeln!(
                out,
                "state    unreadable by this version ({}); `--json` prints it raw",
                echo(&e.to_string())
            )?;
            return Ok(());
        }
    };
    writeln!(out, "phase    {}", state.phase.name())?;
    let spend = &state.spend;
    writeln!(
        out,
        "spent    {} tokens in, {} out · {} model calls · {} tool calls · {}",
        spend.input_tokens,
        spend.output_tokens,
        spend.model_calls,
        spend.tool_calls,
        crate::commands::trace::cost(spend.usd)
    )?;
    let calls: Vec<_> = state.all_calls().collect();
    if calls.is_empty() {
        writeln!(out, "calls    none")?;
    } else {
        writeln!(out, "calls")?;
        for call in calls {
            let approval = call
                .approval
                .as_ref()
                .map(|a| {
                    format!(
                        " · approved by {}{}",
                        echo(&a.approver),
                        if a.edited { " (edited)" } else { "" }
                    )
                })
                .unwrap_or_default();
            writeln!(
                out,
                "  #{:<3} {} {} → {}{approval}",
                call.step,
                echo(&call.tool),
                crate::commands::trace::short(&call.arguments, 80),
                crate::commands::trace::status_text(&call.status)
            )?;
        }
    }
    writeln!(
        out,
        "more: `agentsec trace {}` (tree and timeline), `--json` (the whole record)",
        record.id
    )?;
    Ok(())
}
