//! The lethal trifecta: private data + untrusted content + unapproved egress.
//! `#[tool]` already refuses egress without `#[irreversible]`, so the agent
//! rule matters for tools implemented by hand; it reads their `SPEC`s.
use agentsec::prelude::*;
use agentsec::{Effect, EffectKind, Scope, ToolSpec};

/// Read the user's inbox.
#[tool(read = "mail", scope = "user")]
async fn read_inbox(ctx: &ToolCtx) -> Result<Vec<String>, ToolError> {
    let _ = ctx;
    Ok(vec![])
}

/// Fetch a web page.
#[tool(read = "web", scope = "global", untrusted)]
async fn fetch_page(url: String) -> Result<String, ToolError> {
    Ok(url)
}

#[derive(Deserialize, JsonSchema)]
pub struct PostArgs {
    pub url: String,
    pub body: String,
}

/// Posts anything anywhere, implemented by hand and not irreversible.
pub struct HttpPost;
impl Tool for HttpPost {
    const SPEC: ToolSpec = ToolSpec {
        effects: &[Effect::new(EffectKind::Egress, "http")],
        pure: false,
        ..ToolSpec::new("http_post", "POST a body to a URL.")
    };
    type Args = PostArgs;
    type Output = ();
    async fn execute(_: &ToolCtx, _: PostArgs) -> Result<(), ToolError> {
        Ok(())
    }
}
#[allow(non_upper_case_globals, dead_code)]
const _unused_scope: Option<Scope> = None;

#[agent(
    name = "assistant",
    prompt = "Summarise my mail and the web.",
    tools(read_inbox, fetch_page, http_post),
    max_iterations = 5,
    budget(tokens = 10_000)
)]
pub struct Assistant;

fn main() {}
