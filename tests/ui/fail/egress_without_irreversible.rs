use agentsec::prelude::*;

/// Send an email.
#[tool(egress = "email")]
async fn send_email(to: String, body: String) -> Result<(), ToolError> {
    let _ = (to, body);
    Ok(())
}

fn main() {}
