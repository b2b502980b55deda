//! An argument struct marked `#[args]` is taken instead of plain
//! parameters: its fields are the tool's arguments. Without `#[args]`, a
//! single parameter is one argument named after it, whatever its type.
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
async fn search_notes(ctx: &ToolCtx, #[args] query: SearchQuery) -> Result<Vec<String>, ToolError> {
    let _ = ctx;
    Ok(vec![query.text; query.limit.unwrap_or(1) as usize])
}

/// An order's id.
#[derive(Deserialize, JsonSchema)]
pub struct OrderId(pub String);

/// Show one of the user's orders.
#[tool(read = "orders", scope = "user")]
async fn show_order(ctx: &ToolCtx, order_id: OrderId) -> Result<String, ToolError> {
    let _ = ctx;
    Ok(order_id.0)
}

fn main() {
    let schema = <SearchNotes as Tool>::schema();
    let props = &schema.parameters["properties"];
    assert_eq!(props["text"]["description"], "Words to look for.");
    assert!(props.get("query").is_none());

    let schema = <ShowOrder as Tool>::schema();
    let props = &schema.parameters["properties"];
    assert!(props.get("order_id").is_some(), "{props}");
    assert_eq!(schema.parameters["required"], serde_json::json!(["order_id"]));
}
