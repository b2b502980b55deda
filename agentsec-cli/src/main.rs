//! The `agentsec` command line.
//!
//! Works against the embedded SQLite file (default `./agentsec.db`, or
//! `--sqlite PATH`) or PostgreSQL (`--database-url URL` or `DATABASE_URL`).
//!
//! Exit codes: 0 success; 1 the command ran and found a problem (a broken
//! audit chain, a demo that did not complete); 2 usage error; 3 the store
//! could not be opened; 4 not found; 5 refused (a decision on a call that is
//! not pending, a conflicting update).

mod commands;
mod error;
mod output;
mod secrets;
mod store;
mod when;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Operate agentsec: runs, traces, approvals, agent keys, the audit log.
#[derive(Parser)]
#[command(name = "agentsec", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    store: store::StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List or show runs.
    #[command(subcommand)]
    Runs(commands::runs::RunsCommand),
    /// Print a run as a tree: steps, calls, decisions, tokens.
    Trace(commands::trace::TraceArgs),
    /// Verify the hash-chained audit log.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// List, approve or reject calls waiting for a person.
    #[command(subcommand)]
    Approvals(commands::approvals::ApprovalsCommand),
    /// Issue, list, rotate or revoke agent invocation keys.
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// Run the support-desk scenario end to end on a fresh SQLite file.
    Demo(commands::demo::DemoArgs),
}

impl Command {
    /// Whether the command only reads: such a command never creates a store.
    fn read_only(&self) -> bool {
        match self {
            Command::Runs(_) | Command::Trace(_) | Command::Audit(_) => true,
            Command::Approvals(c) => {
                matches!(c, commands::approvals::ApprovalsCommand::List { .. })
            }
            Command::Keys(c) => matches!(c, commands::keys::KeysCommand::List { .. }),
            Command::Demo(_) => false,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Rows skipped because they do not decode are named on stderr.
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let _ = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(false)
                    .without_time()
                    .with_target(false),
            )
            .with(tracing_subscriber::filter::Targets::new().with_target(
                "agentsec::corrupt",
                tracing_subscriber::filter::LevelFilter::WARN,
            ))
            .try_init();
    }
    let mut out = std::io::stdout();
    let result = match cli.command {
        // The demo makes its own fresh SQLite file, whatever DATABASE_URL says.
        Command::Demo(args) => commands::demo::run(args, &mut out).await,
        command => match cli.store.open(command.read_only()).await {
            Ok(store) => match command {
                Command::Runs(c) => commands::runs::run(c, &store, &mut out).await,
                Command::Trace(a) => commands::trace::run(a, &store, &mut out).await,
                Command::Audit(c) => commands::audit::run(c, &store, &mut out).await,
                Command::Approvals(c) => commands::approvals::run(c, &store, &mut out).await,
                Command::Keys(c) => commands::keys::run(c, &store, &mut out).await,
                Command::Demo(_) => unreachable!("handled above"),
            },
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `agentsec trace RUN | head`: the reader had enough.
        Err(error) if error.is_broken_pipe() => ExitCode::SUCCESS,
        Err(error) => {
            // Errors can quote outside values (ids, names): shown, not obeyed.
            eprintln!(
                "error: {}",
                agentsec::escape::escape_control(&error.to_string())
            );
            ExitCode::from(error.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
