//! A model-visible argument named like a credential: the model would supply
//! the secret, and it would pass through the provider and the records.
use agentsec::prelude::*;

/// Charge a card.
#[tool(egress = "payments")]
#[irreversible(reason = "moves money")]
async fn charge(amount_cents: u64, api_key: String) -> Result<(), ToolError> {
    let _ = (amount_cents, api_key);
    Ok(())
}

/// Log in to the legacy portal.
#[tool(read = "portal", scope = "global")]
async fn portal_login(username: String, password: String) -> Result<(), ToolError> {
    let _ = (username, password);
    Ok(())
}

fn main() {}
