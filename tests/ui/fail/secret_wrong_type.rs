use agentsec::prelude::*;

/// Call the payment API.
#[tool(read = "payments", scope = "user")]
async fn charge(ctx: &ToolCtx, #[secret("stripe_api_key")] key: String) -> Result<(), ToolError> {
    let _ = (ctx, key);
    Ok(())
}

fn main() {}
