//! The dispatcher builder holds hand-written tools to the same rules the
//! `#[tool]` macro enforces at compile time, with the same message.

use agentsec_runtime::rules::ToolRule;
use agentsec_runtime::tool::{
    BuildError, Dispatcher, Effect, EffectKind, Irreversibility, Scope, Tool, ToolCtx, ToolError,
    ToolSpec,
};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct PurgeArgs {
    order: String,
}

/// Deletes an order, written by hand, without `irreversible`.
struct PurgeOrder;
impl Tool for PurgeOrder {
    const SPEC: ToolSpec = ToolSpec {
        effects: &[Effect::new(EffectKind::Delete, "orders")],
        scope: Some(Scope::User),
        pure: false,
        ..ToolSpec::new("purge_order", "Delete an order.")
    };
    type Args = PurgeArgs;
    type Output = ();
    async fn execute(_: &ToolCtx, args: PurgeArgs) -> Result<(), ToolError> {
        drop(args.order);
        Ok(())
    }
}

/// The same tool, declared irreversible.
struct ApprovedPurge;
impl Tool for ApprovedPurge {
    const SPEC: ToolSpec = ToolSpec {
        irreversible: Some(Irreversibility {
            reason: Some("the order is gone"),
        }),
        ..PurgeOrder::SPEC
    };
    type Args = PurgeArgs;
    type Output = ();
    async fn execute(_: &ToolCtx, args: PurgeArgs) -> Result<(), ToolError> {
        drop(args.order);
        Ok(())
    }
}

#[tokio::test]
async fn a_delete_tool_without_irreversible_is_refused_when_building() {
    let err = Dispatcher::builder()
        .tool::<PurgeOrder>()
        .build()
        .await
        .err()
        .expect("the builder refuses the spec");
    match &err {
        BuildError::InvalidSpec { tool, rule } => {
            assert_eq!(tool, "purge_order");
            assert_eq!(*rule, ToolRule::DeleteNotIrreversible);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "tool `purge_order` {}\n= help: {}",
            ToolRule::DeleteNotIrreversible.message(),
            ToolRule::DeleteNotIrreversible.help()
        )
    );
    assert!(err.to_string().contains("#[irreversible"));
}

#[tokio::test]
async fn the_same_tool_declared_irreversible_builds() {
    Dispatcher::builder()
        .tool::<ApprovedPurge>()
        .build()
        .await
        .expect("an irreversible delete tool is accepted");
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct ChargeArgs {
    amount_cents: u64,
    api_key: String,
}

/// Charges a card with a key the model supplies.
struct Charge;
impl Tool for Charge {
    const SPEC: ToolSpec = ToolSpec {
        effects: &[Effect::new(EffectKind::Egress, "payments")],
        irreversible: Some(Irreversibility {
            reason: Some("moves money"),
        }),
        pure: false,
        ..ToolSpec::new("charge", "Charge a card.")
    };
    type Args = ChargeArgs;
    type Output = ();
    async fn execute(_: &ToolCtx, args: ChargeArgs) -> Result<(), ToolError> {
        drop((args.amount_cents, args.api_key));
        Ok(())
    }
}

#[tokio::test]
async fn a_credential_named_argument_is_refused_when_building() {
    let err = Dispatcher::builder()
        .tool::<Charge>()
        .build()
        .await
        .err()
        .expect("the builder refuses `api_key`");
    match &err {
        BuildError::CredentialArgument { tool, argument } => {
            assert_eq!((tool.as_str(), argument.as_str()), ("charge", "api_key"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("#[secret("), "{err}");
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct WorkspaceArgs {
    #[serde(rename = "workspaceId")]
    workspace: String,
}

/// Lists a workspace's documents, the workspace chosen by the model.
struct ListDocuments;
impl Tool for ListDocuments {
    const SPEC: ToolSpec = ToolSpec {
        effects: &[Effect::new(EffectKind::Read, "documents")],
        scope: Some(Scope::Tenant),
        pure: false,
        ..ToolSpec::new("list_documents", "List documents.")
    };
    type Args = WorkspaceArgs;
    type Output = ();
    async fn execute(_: &ToolCtx, args: WorkspaceArgs) -> Result<(), ToolError> {
        drop(args.workspace);
        Ok(())
    }
}

#[tokio::test]
async fn a_tenant_named_by_the_model_is_refused_whatever_its_spelling() {
    match Dispatcher::builder().tool::<ListDocuments>().build().await {
        Err(BuildError::IdentityArgument { tool, argument }) => {
            assert_eq!(
                (tool.as_str(), argument.as_str()),
                ("list_documents", "workspaceId")
            );
        }
        other => panic!("{:?}", other.err()),
    }
}
