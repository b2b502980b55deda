use agentsec::prelude::*;

// Every problem of one tool is reported in one build.
#[tool(delete = "orders", scope = "user", colour = "red")]
async fn purge(user_id: String, token: SecretString) -> Result<(), ToolError> {
    let _ = (user_id, token, "sk-live-0123456789abcdefghijkl");
    Ok(())
}

fn main() {}
