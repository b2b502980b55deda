use agentsec::escape::{echo, escape_control};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use agentsec::engine::{CallStatus, Phase, RunState};
use agentsec::model::Message;
use agentsec::store::RunStore;
use clap::Args;

use crate::commands::runs::parse_run_id;
use crate::error::CliError;
use crate::output::{Paint, colour};

#[derive(Args)]
pub struct TraceArgs {
    /// The run id (`run_…` or a UUID).
    run: String,
    /// Print the run's state as JSON, for machines.
    #[arg(long)]
    json: bool,
}

pub async fn run(
    args: TraceArgs,
    store: &Arc<dyn RunStore>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let record = store.get_run(parse_run_id(&args.run)?).await?;
    let state: RunState = serde_json::from_value(record.state.clone()).map_err(|e| {
        CliError::Failed(format!(
            "run {} has a state this version cannot read: {e}",
            record.id
        ))
    })?;
    if args.json {
        let steps = store.list_steps(record.id).await?;
        let doc = serde_json::json!({ "run": record, "steps": steps });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )?;
        return Ok(());
    }
    let steps = store.list_steps(record.id).await?;
    let elapsed = match (steps.first(), steps.last()) {
        (Some(first), Some(last)) => Some(last.at.0 - first.at.0),
        _ => None,
    };
    let paint = Paint(colour());
    render(&state, elapsed, paint, out)?;
    timeline(&steps, paint, out)
}

/// One line per saved transition: when, which phase, what each call of the
/// turn was (with its approver), and the tokens spent so far.
fn timeline(
    steps: &[agentsec::store::StepRecord],
    paint: Paint,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let Some(first) = steps.first() else {
        return Ok(());
    };
    writeln!(out, "{}", paint.bold("timeline"))?;
    for step in steps {
        let data = &step.data;
        let calls: Vec<String> = data
            .get("calls")
            .and_then(|c| c.as_array())
            .map(|calls| {
                calls
                    .iter()
                    .map(|c| {
                        let tool = c.get("tool").and_then(|t| t.as_str()).unwrap_or("?");
                        let status = c.get("status").map(|s| match s {
                            serde_json::Value::String(s) => s.clone(),
                            other => other
                                .get("status")
                                .and_then(|v| v.as_str())
                                .unwrap_or("?")
                                .to_owned(),
                        });
                        let approver = c
                            .pointer("/status/proof/approver")
                            .or_else(|| c.get("approver"))
                            .and_then(|a| a.as_str())
                            .map(|a| format!(" by {}", echo(a)))
                            .unwrap_or_default();
                        format!(
                            "{}={}{approver}",
                            echo(tool),
                            echo(&status.unwrap_or_default())
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let tokens = |key: &str| {
            data.pointer(&format!("/spend/{key}"))
                .and_then(|v| v.as_u64())
                .unwrap_or(0)
        };
        writeln!(
            out,
            "  +{:>5} ms  #{:<3} {:<22} tokens {}/{}{}",
            step.at.0 - first.at.0,
            step.seq,
            step.kind,
            tokens("input_tokens"),
            tokens("output_tokens"),
            if calls.is_empty() {
                String::new()
            } else {
                format!("  {}", calls.join(", "))
            }
        )?;
    }
    Ok(())
}

/// Outside text (model output, tool results, arguments), control
/// characters escaped so the terminal shows them instead of obeying them,
/// and cut to `max` characters.
fn short(text: &str, max: usize) -> String {
    let flat = escape_control(text);
    if flat.chars().count() <= max {
        flat.into_owned()
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// Renders a run as a tree: the input, each model turn with the calls it
/// proposed and what became of each, the outcome, and the totals.
pub fn render(
    state: &RunState,
    elapsed_ms: Option<i64>,
    paint: Paint,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let outcome = match &state.phase {
        Phase::Completed { .. } => paint.green("completed"),
        Phase::AwaitingApproval => paint.yellow("awaiting approval"),
        Phase::Halted { reason } => paint.red(&format!(
            "halted: {}",
            serde_json::to_string(reason).unwrap_or_default()
        )),
        Phase::Failed { error } => paint.red(&format!("failed: {}", echo(&error.to_string()))),
        other => paint.yellow(other.name()),
    };
    let tenant = state
        .user
        .tenant
        .as_deref()
        .map(|t| format!(" (tenant {})", echo(t)))
        .unwrap_or_default();
    writeln!(
        out,
        "{} agent {} for {}{tenant} · prompt {} · {outcome}",
        paint.bold(&state.run_id.to_string()),
        echo(&state.agent),
        echo(&state.user.id),
        state.prompt_version
    )?;
    // Results by the provider's call id.
    let results: HashMap<&str, (&str, bool)> = state
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::Tool {
                call_id,
                content,
                is_error,
                ..
            } => Some((call_id.as_str(), (content.as_str(), *is_error))),
            _ => None,
        })
        .collect();
    let pending: HashMap<&str, &CallStatus> = state
        .pending
        .iter()
        .map(|c| (c.model_call_id.as_str(), &c.status))
        .collect();
    let mut turn = 0;
    for message in &state.messages {
        match message {
            Message::User { content } => writeln!(out, "├─ user: {}", short(content, 100))?,
            Message::System { content } => writeln!(out, "├─ system: {}", short(content, 100))?,
            Message::Assistant {
                content,
                tool_calls,
            } => {
                turn += 1;
                writeln!(out, "├─ {} {turn}", paint.bold("model turn"))?;
                if let Some(text) = content
                    && !tool_calls.is_empty()
                {
                    writeln!(out, "│  ├─ says: {}", short(text, 100))?;
                }
                for call in tool_calls {
                    writeln!(
                        out,
                        "│  ├─ {} {}",
                        paint.bold(&echo(&call.name)),
                        paint.dim(&short(&call.arguments, 80))
                    )?;
                    let line = match (results.get(call.id.as_str()), pending.get(call.id.as_str()))
                    {
                        (_, Some(CallStatus::AwaitingApproval { reason })) => {
                            paint.yellow(&format!("⏸ awaiting approval: {}", echo(reason)))
                        }
                        (Some((text, false)), _) => paint.green(&format!("✔ {}", short(text, 90))),
                        (Some((text, true)), _) => paint.red(&format!("✘ {}", short(text, 90))),
                        (None, _) => paint.dim("… not run"),
                    };
                    writeln!(out, "│  │  └─ {line}")?;
                }
                if tool_calls.is_empty()
                    && let Some(text) = content
                {
                    writeln!(out, "│  └─ answers: {}", short(text, 100))?;
                }
            }
            Message::Tool { .. } => {}
        }
    }
    let spend = &state.spend;
    let elapsed = elapsed_ms
        .map(|ms| format!(" · {ms} ms"))
        .unwrap_or_default();
    writeln!(
        out,
        "└─ {} tokens in, {} out · {} model calls · {} tool calls · ${:.4}{elapsed}",
        spend.input_tokens, spend.output_tokens, spend.model_calls, spend.tool_calls, spend.usd
    )?;
    Ok(())
}
