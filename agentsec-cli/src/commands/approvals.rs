use std::io::Write;
use std::sync::Arc;

use agentsec::engine::StoreCheckpoints;
use agentsec::escape::{echo, escape_control};
use agentsec::hitl::{Approvals, DecisionSigner, HitlError};
use agentsec::identity::UserIdentity;
use agentsec::store::RunStore;
use clap::{Args, Subcommand};

use crate::error::CliError;
use crate::secrets::{self, APPROVAL_KEY};

#[derive(Subcommand)]
pub enum ApprovalsCommand {
    /// List calls waiting for a person.
    List {
        /// Only this agent's.
        #[arg(long)]
        agent: Option<String>,
        /// Only runs for this user.
        #[arg(long)]
        user: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Approve a call (the run resumes when its application picks it up).
    Approve {
        /// The approval id (from `approvals list`).
        id: uuid::Uuid,
        #[command(flatten)]
        approver: Approver,
    },
    /// Reject a call; the model is told the reason.
    Reject {
        /// The approval id (from `approvals list`).
        id: uuid::Uuid,
        /// Why (shown to the model and recorded).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        approver: Approver,
    },
}

/// Who decides. Recorded, signed and audited with the decision.
#[derive(Args, Clone)]
pub struct Approver {
    /// The approver's user id.
    #[arg(long = "as", value_name = "USER")]
    pub user: String,
    /// The approver's tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// A role the approver holds (repeatable).
    #[arg(long = "role")]
    pub roles: Vec<String>,
}

impl Approver {
    pub fn identity(&self) -> UserIdentity {
        let mut user = UserIdentity::new(&self.user).with_roles(self.roles.clone());
        if let Some(tenant) = &self.tenant {
            user = user.with_tenant(tenant);
        }
        user
    }
}

/// The approvals service over `store`, signing with the operator's key.
pub async fn service(store: &Arc<dyn RunStore>, signer: DecisionSigner) -> Approvals {
    Approvals::new(
        &StoreCheckpoints::new(store.clone()).with_owner("agentsec-cli"),
        signer,
    )
}

async fn signer() -> Result<DecisionSigner, CliError> {
    let secrets = secrets::store()?;
    DecisionSigner::from_secret_store(secrets.as_ref(), APPROVAL_KEY)
        .await
        .map_err(|e| {
            CliError::Refused(format!(
                "cannot sign decisions: {e} (set AGENTSEC_SECRET_AGENTSEC_APPROVAL_KEY to the key your runtime uses, at least 32 bytes)"
            ))
        })
}

pub async fn run(
    command: ApprovalsCommand,
    store: &Arc<dyn RunStore>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match command {
        ApprovalsCommand::List { agent, user, json } => {
            // Listing needs no signature; a throwaway key keeps the service uniform.
            let approvals = service(store, DecisionSigner::new(vec![0; 32]).map_err(hitl)?).await;
            list(&approvals, agent.as_deref(), user.as_deref(), json, out).await
        }
        ApprovalsCommand::Approve { id, approver } => {
            let approvals = service(store, signer().await?).await;
            approve(&approvals, id, &approver.identity(), out).await
        }
        ApprovalsCommand::Reject {
            id,
            reason,
            approver,
        } => {
            let approvals = service(store, signer().await?).await;
            let record = approvals
                .reject(id, &approver.identity(), &reason)
                .await
                .map_err(hitl)?;
            writeln!(
                out,
                "rejected {} ({} on run {})",
                record.id,
                echo(&record.tool),
                record.run_id
            )?;
            Ok(())
        }
    }
}

/// Prints the pending approvals.
pub async fn list(
    approvals: &Approvals,
    agent: Option<&str>,
    user: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let pending = approvals.pending(agent, user).await.map_err(hitl)?;
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&pending).unwrap_or_default()
        )?;
        return Ok(());
    }
    if pending.is_empty() {
        writeln!(out, "no pending approvals")?;
    }
    for p in pending {
        // Everything here came from a model, a tool or a user: control
        // characters are shown, not obeyed. The arguments are escaped but
        // never cut: the approver sees every byte that would run.
        let tenant = match &p.tenant {
            Some(tenant) => format!("tenant {}", echo(tenant)),
            None => "no tenant".to_owned(),
        };
        let tenant_flag = p
            .tenant
            .as_deref()
            .map(|t| format!(" --tenant {}", echo(t)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}  {} for {} ({tenant}) wants `{}` {}\n    why: {}\n    run {} · expires {}\n    decide: agentsec approvals approve {} --as <you>{tenant_flag} [--role <role>]",
            p.id,
            echo(&p.agent),
            echo(&p.user_id),
            echo(&p.tool),
            escape_control(&p.arguments),
            echo(&p.reason),
            p.run_id,
            crate::when::when(p.expires_at.0),
            p.id,
        )?;
    }
    Ok(())
}

/// Approves one call.
pub async fn approve(
    approvals: &Approvals,
    id: uuid::Uuid,
    approver: &UserIdentity,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let record = approvals.approve(id, approver).await.map_err(hitl)?;
    writeln!(
        out,
        "approved {} ({} on run {}) as {}; the run resumes when its application picks it up \
         (and checks the decision against its own approval policy then)",
        record.id,
        echo(&record.tool),
        record.run_id,
        echo(&approver.id)
    )?;
    Ok(())
}

fn hitl(error: HitlError) -> CliError {
    match error {
        HitlError::Store(inner) => inner.into(),
        HitlError::UnknownApproval(_) | HitlError::UnknownRun(_) => {
            CliError::NotFound(error.to_string())
        }
        other => CliError::Refused(other.to_string()),
    }
}
