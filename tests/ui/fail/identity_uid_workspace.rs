//! `uid` names a user and `workspace_id` a tenant: both identity, on user-
//! and tenant-scoped tools alike. (`customer_id` on a tenant-scoped tool is
//! one of the tenant's records, and is accepted.)
use agentsec::prelude::*;

/// Show a user's profile.
#[tool(read = "profiles", scope = "user")]
async fn show_profile(ctx: &ToolCtx, uid: String) -> Result<(), ToolError> {
    let _ = (ctx, uid);
    Ok(())
}

/// List a workspace's documents.
#[tool(read = "documents", scope = "tenant")]
async fn list_documents(ctx: &ToolCtx, workspace_id: String, customer_id: u64) -> Result<(), ToolError> {
    let _ = (ctx, workspace_id, customer_id);
    Ok(())
}

/// List the signed-in user's documents in a workspace.
#[tool(read = "documents", scope = "user")]
async fn my_documents(ctx: &ToolCtx, workspace_id: String) -> Result<(), ToolError> {
    let _ = (ctx, workspace_id);
    Ok(())
}

fn main() {}
