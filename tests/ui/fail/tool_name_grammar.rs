//! Tool names are what model providers accept: `^[a-zA-Z0-9_-]{1,64}$`.
use agentsec::prelude::*;

/// Looks up a product.
#[tool(pure, name = "lookup product")]
async fn lookup_product(sku: String) -> Result<String, ToolError> {
    Ok(sku)
}

/// A hand-written spec is held to the same grammar inside an agent.
pub struct Dotted;
impl Tool for Dotted {
    const SPEC: agentsec::ToolSpec = agentsec::ToolSpec::new("shop.search", "Search the shop.");
    type Args = agentsec::__private::serde_json::Value;
    type Output = ();
    async fn execute(_: &ToolCtx, _: Self::Args) -> Result<(), ToolError> {
        Ok(())
    }
}

#[agent(
    name = "shop",
    prompt = "Help with the shop.",
    tools(dotted),
    max_iterations = 5,
    budget(tokens = 10_000)
)]
pub struct Shop;

fn main() {}
