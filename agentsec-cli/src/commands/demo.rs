//! `agentsec demo`: the support desk end to end on a fresh SQLite file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use agentsec::engine::{AgentRuntime, RunOutcome, RunState, StoreCheckpoints};
use agentsec::hitl::{ApprovalPolicy, Approvals, DecisionSigner};
use agentsec::model::{ScriptedModel, ScriptedReply, Usage};
use agentsec::prelude::*;
use agentsec::secrets::MemorySecretStore;
use agentsec::store::RunStore;
use agentsec::trace::{AuditSink, CollectingSink, EventBus, SecurityEvent};
use clap::Args;
use examples::shop::{Shop, SupportAgent};
use serde_json::json;

use crate::commands::approvals;
use crate::commands::trace::{render, screening_marks, timeline};
use crate::error::CliError;
use crate::output::{Paint, colour};

#[derive(Args)]
pub struct DemoArgs {
    /// The SQLite file to use; it is deleted first so the demo starts fresh.
    #[arg(long, default_value = "agentsec-demo.db")]
    db: PathBuf,
}

fn fresh(path: &std::path::Path) -> Result<(), CliError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CliError::Store(format!(
                    "cannot remove {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

fn step(out: &mut dyn Write, paint: Paint, text: &str) -> Result<(), CliError> {
    writeln!(out, "\n{}", paint.bold(&format!("▶ {text}")))?;
    Ok(())
}

/// Runs the scenario; narrates to `out`.
pub async fn run(args: DemoArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let paint = Paint(colour());
    fresh(&args.db)?;
    let store: Arc<dyn RunStore> = crate::store::open_sqlite(&args.db).await?;
    let db = args.db.display().to_string();
    writeln!(
        out,
        "agentsec demo — the support desk, on a fresh SQLite file {db}"
    )?;

    // The application: the support agent, a scripted model (no network, no
    // key), durable checkpoints in the SQLite file, events to the audit log.
    let model = ScriptedModel::new([
        ScriptedReply::tool_call("read_ticket", json!({"ticket_id": "tkt_7"}))
            .with_usage(Usage::new(380, 22)),
        ScriptedReply::tool_call("list_orders", json!({"limit": 5}))
            .with_usage(Usage::new(520, 18)),
        ScriptedReply::tool_call(
            "refund_order",
            json!({"order_id": "ord_1002", "amount_cents": 12_500}),
        )
        .with_usage(Usage::new(700, 26)),
        ScriptedReply::text(
            "I'm sorry about the cracked jar. I've refunded order ord_1002 (125.00) to your card.",
        )
        .with_usage(Usage::new(760, 24)),
    ]);
    let events = CollectingSink::default();
    let audit = AuditSink::spawn(store.clone()).map_err(|e| CliError::Failed(e.to_string()))?;
    let bus = EventBus::default().with(events.clone()).with(audit.clone());
    // Decisions are signed; the application and the CLI share the key (in
    // production both read it from the secret store).
    let key: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let signer = || DecisionSigner::new(key.clone()).map_err(|e| CliError::Failed(e.to_string()));
    // The application verifies every approved call's signed decision with
    // the key before the call runs.
    let checkpoints = Arc::new(
        StoreCheckpoints::new(store.clone())
            .with_owner("support-app")
            .with_approval_key(signer()?),
    );
    let shop = Arc::new(Shop::default());
    let runtime = AgentRuntime::<SupportAgent>::builder()
        .model(model)
        .state_arc(shop.clone())
        .secrets(
            MemorySecretStore::new().with("stripe_api_key", "sk_test_demo_only_4242424242424242"),
        )
        .checkpoints_arc(checkpoints.clone())
        .events(bus)
        .build()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    // The application's policy: a support lead of the run's tenant, never
    // the customer herself. It is checked again when the run resumes, so a
    // decision made in the CLI cannot skip it.
    let app_approvals = Approvals::new(&checkpoints, signer()?).with_policy(
        ApprovalPolicy::default()
            .four_eyes()
            .require_role("support-lead"),
    );

    let question = "My blender arrived broken, see ticket tkt_7. Can you help?";
    step(out, paint, &format!("alice asks: {question}"))?;
    let alice = UserIdentity::new("alice").with_tenant("acme");
    let report = runtime
        .start(alice, question)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let run_id = report.run_id;
    for event in events.events() {
        match &event {
            SecurityEvent::InputFlagged { source, rules, .. } => writeln!(
                out,
                "  {} the ticket (from `{source}`) carries an instruction for the assistant: flagged by {}; the model sees it only as marked data",
                paint.yellow("⚑"),
                rules.join(", ")
            )?,
            SecurityEvent::ApprovalRequested { tool, reason, .. } => writeln!(
                out,
                "  {} `{tool}` paused the run: {reason}",
                paint.yellow("⏸")
            )?,
            SecurityEvent::TaintEscalation { tool, .. } => writeln!(
                out,
                "  {} rule of two: `{tool}` comes after untrusted and private data, so it needs a person anyway",
                paint.yellow("⚑")
            )?,
            _ => {}
        }
    }
    if !matches!(report.outcome, RunOutcome::AwaitingApproval { .. }) {
        return Err(CliError::Failed(format!(
            "the refund did not pause the run: {:?}",
            report.outcome
        )));
    }

    let cli_approvals = approvals::service(&store, signer()?).await;
    step(
        out,
        paint,
        &format!("$ agentsec --sqlite {db} approvals list"),
    )?;
    approvals::list(&cli_approvals, None, None, false, out).await?;
    let pending = cli_approvals
        .pending(None, None)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let Some(first) = pending.first() else {
        return Err(CliError::Failed("no approval is pending".into()));
    };
    step(
        out,
        paint,
        &format!(
            "$ agentsec --sqlite {db} approvals approve {} --as lead@support --tenant acme --role support-lead",
            first.id
        ),
    )?;
    let lead = UserIdentity::new("lead@support")
        .with_tenant("acme")
        .with_roles(["support-lead"]);
    approvals::approve(&cli_approvals, first.id, &lead, out).await?;

    step(
        out,
        paint,
        "the application resumes the run from its checkpoint",
    )?;
    let done = app_approvals
        .resume(&runtime, run_id)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let RunOutcome::Completed { answer } = &done.outcome else {
        return Err(CliError::Failed(format!(
            "the run did not complete: {:?}",
            done.outcome
        )));
    };
    writeln!(out, "  support: {answer}")?;
    writeln!(
        out,
        "  refunds made: {:?} (bob's ord_2001, named in the ticket, was not touched)",
        shop.refunds()
    )?;
    audit.flush().await;

    step(
        out,
        paint,
        &format!("$ agentsec --sqlite {db} trace {run_id}"),
    )?;
    let record = store.get_run(run_id).await?;
    let state: RunState = serde_json::from_value(record.state)
        .map_err(|e| CliError::Failed(format!("unreadable state: {e}")))?;
    let steps = store.list_steps(run_id).await?;
    let screening = screening_marks(&store, &state, &steps).await?;
    let elapsed = match (steps.first(), steps.last()) {
        (Some(first), Some(last)) => Some(last.at.0 - first.at.0),
        _ => None,
    };
    render(&state, &screening, elapsed, paint, out)?;
    timeline(&steps, paint, out)?;

    step(
        out,
        paint,
        &format!("$ agentsec --sqlite {db} audit verify"),
    )?;
    crate::commands::audit::verify(&store, out).await?;
    if shop.refunds() != vec![("ord_1002".to_owned(), 12_500)] {
        return Err(CliError::Failed(
            "the refunds are not what was approved".into(),
        ));
    }
    writeln!(
        out,
        "\nThe run is in {db}; try `agentsec --sqlite {db} runs list`."
    )?;
    Ok(())
}
