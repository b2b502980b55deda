use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use agentsec::escape::echo;
use agentsec::store::{AuditEntry, RunStore};
use clap::Subcommand;

use crate::commands::runs::parse_run_id;
use crate::error::CliError;
use crate::when::{now_ms, when_at};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and report the first altered, removed or reordered
    /// entry; say how many entries of which kinds were checked.
    Verify,
    /// Print the audit log's entries, oldest first.
    List {
        /// Only the entries of this run (`run_…` or a UUID).
        #[arg(long)]
        run: Option<String>,
        /// Only entries of this kind (`approval_granted`, `input_flagged`, ...).
        #[arg(long)]
        kind: Option<String>,
        /// Print JSON (the entries as stored, hashes included).
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(
    command: AuditCommand,
    store: &Arc<dyn RunStore>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        AuditCommand::Verify => verify(store, out).await,
        AuditCommand::List { run, kind, json } => {
            let run = run.as_deref().map(parse_run_id).transpose()?;
            let entries: Vec<AuditEntry> = all_entries(store)
                .await?
                .into_iter()
                .filter(|e| run.is_none() || e.run_id == run)
                .filter(|e| kind.as_deref().is_none_or(|k| e.kind == k))
                .collect();
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&entries).unwrap_or_default()
                )?;
                return Ok(());
            }
            if entries.is_empty() {
                writeln!(out, "no audit entries")?;
            }
            let now = now_ms();
            for entry in &entries {
                writeln!(out, "{}", line(entry, now))?;
            }
            Ok(())
        }
    }
}

/// Every entry of the log, oldest first.
async fn all_entries(store: &Arc<dyn RunStore>) -> Result<Vec<AuditEntry>, CliError> {
    let mut entries = Vec::new();
    loop {
        let after = entries.last().map_or(0, |e: &AuditEntry| e.seq);
        let page = store.list_audit(after, 1_000).await?;
        if page.is_empty() {
            return Ok(entries);
        }
        entries.extend(page);
    }
}

/// One entry for a person: when, what, who, which run, and the details
/// that matter for its kind (tool, rules, reason).
fn line(entry: &AuditEntry, now: i64) -> String {
    let data = &entry.data;
    let field = |key: &str| data.get(key).and_then(|v| v.as_str()).map(echo);
    let mut details = Vec::new();
    if let Some(tool) = field("tool") {
        details.push(format!("tool {tool}"));
    }
    if let Some(source) = field("source") {
        details.push(format!("from {source}"));
    }
    if let Some(rules) = data.get("rules").and_then(|v| v.as_array()) {
        let rules: Vec<String> = rules.iter().filter_map(|r| r.as_str().map(echo)).collect();
        details.push(format!("rules {}", rules.join(", ")));
    }
    for key in ["reason", "host", "key_id"] {
        if let Some(value) = field(key) {
            details.push(format!("{key} {value}"));
        }
    }
    let run = entry
        .run_id
        .map(|r| format!(" · run {r}"))
        .unwrap_or_default();
    let details = if details.is_empty() {
        String::new()
    } else {
        format!(" · {}", details.join(" · "))
    };
    format!(
        "#{:<5} {}  {:<22} by {}{run}{details}",
        entry.seq,
        when_at(entry.at.0, now),
        echo(&entry.kind),
        echo(&entry.actor),
    )
}

/// Verifies the chain and reports what it covered, by kind.
pub async fn verify(store: &Arc<dyn RunStore>, out: &mut dyn Write) -> Result<(), CliError> {
    let verification = store.verify_audit().await?;
    if let Some(found) = verification.first_break {
        return Err(CliError::Failed(format!(
            "audit chain broken at entry {}: {:?}",
            found.seq, found.kind
        )));
    }
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for entry in all_entries(store).await? {
        *kinds.entry(entry.kind).or_default() += 1;
    }
    let by_kind: Vec<String> = kinds
        .iter()
        .map(|(kind, n)| format!("{n} {}", echo(kind)))
        .collect();
    let by_kind = if by_kind.is_empty() {
        " (the log is empty: is an AuditSink wired, or audit on by default in your runtime?)"
            .to_owned()
    } else {
        format!(": {}", by_kind.join(", "))
    };
    writeln!(
        out,
        "audit chain intact: {} entries checked{by_kind}; head {}",
        verification.entries, verification.head_hash
    )?;
    Ok(())
}
