use agentsec::prelude::*;

/// Look up a contact.
#[tool(read = "contacts", scope = "user")]
async fn find_contact(ctx: &ToolCtx, #[sink] email: String) -> Result<String, ToolError> {
    let _ = ctx;
    Ok(email)
}

/// Send a payment.
#[tool(egress = "payments", untrusted_sink = "maybe")]
#[irreversible(reason = "moves money")]
async fn pay(#[sink] #[state] shop: &String, #[sink(strict)] iban: String) -> Result<(), ToolError> {
    let _ = (shop, iban);
    Ok(())
}

fn main() {}
