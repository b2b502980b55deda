//! A single argument struct may be taken instead of plain parameters: its
//! fields are the tool's arguments.
use agentsec::prelude::*;

/// What to search for.
#[derive(Deserialize, JsonSchema)]
pub struct SearchQuery {
    /// Words to look for.
    pub text: String,
    /// At most this many results.
    pub limit: Option<u32>,
}

/// Search the user's notes.
#[tool(read = "notes", scope = "user")]
async fn search_notes(ctx: &ToolCtx, query: SearchQuery) -> Result<Vec<String>, ToolError> {
    let _ = ctx;
    Ok(vec![query.text; query.limit.unwrap_or(1) as usize])
}

/// The same with the struct marked explicitly.
#[tool(read = "notes", scope = "user")]
async fn count_notes(ctx: &ToolCtx, #[args] query: SearchQuery) -> Result<usize, ToolError> {
    let _ = (ctx, query);
    Ok(0)
}

fn main() {
    let schema = <SearchNotes as Tool>::schema();
    let props = &schema.parameters["properties"];
    assert_eq!(props["text"]["description"], "Words to look for.");
    assert!(props.get("query").is_none());
    let _: fn() -> &'static agentsec::ToolSchema = <CountNotes as Tool>::schema;
}
