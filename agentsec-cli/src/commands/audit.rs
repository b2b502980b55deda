use std::io::Write;
use std::sync::Arc;

use agentsec::store::RunStore;
use clap::Subcommand;

use crate::error::CliError;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and report the first altered, removed or reordered entry.
    Verify,
}

pub async fn run(
    command: AuditCommand,
    store: &Arc<dyn RunStore>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        AuditCommand::Verify => {
            let verification = store.verify_audit().await?;
            match verification.first_break {
                None => {
                    writeln!(
                        out,
                        "audit chain intact: {} entries, head {}",
                        verification.entries, verification.head_hash
                    )?;
                    Ok(())
                }
                Some(found) => Err(CliError::Failed(format!(
                    "audit chain broken at entry {}: {:?}",
                    found.seq, found.kind
                ))),
            }
        }
    }
}
