use agentsec::prelude::*;

/// Delete one of the user's saved addresses.
#[tool(delete = "addresses", scope = "user")]
async fn delete_address(ctx: &ToolCtx, address_id: String) -> Result<(), ToolError> {
    let _ = (ctx, address_id);
    Ok(())
}

fn main() {}
