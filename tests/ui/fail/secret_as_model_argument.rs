use agentsec::prelude::*;
use agentsec::SecretBox;

/// Call the payment API.
#[tool(read = "payments", scope = "user")]
async fn charge(ctx: &ToolCtx, api_key: SecretString) -> Result<(), ToolError> {
    let _ = (ctx, api_key);
    Ok(())
}

/// Call the payment API with several keys.
#[tool(read = "payments", scope = "user")]
async fn charge_many(ctx: &ToolCtx, keys: Vec<SecretBox<str>>) -> Result<(), ToolError> {
    let _ = (ctx, keys);
    Ok(())
}

fn main() {}
