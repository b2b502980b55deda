use agentsec::prelude::*;

/// Call several APIs with keys written into the code.
#[tool(pure)]
async fn call_apis() -> Result<Vec<String>, ToolError> {
    let openai = "sk-proj-Abc123Def456Ghi789Jkl012";
    let aws = "AKIAIOSFODNN7EXAMPLE";
    let github = format!("token {}", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
    let slack = "xoxb-1234567890-abcdefghijkl";
    let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----";
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    Ok(vec![openai.into(), aws.into(), github, slack.into(), pem.into(), jwt.into()])
}

fn main() {}
