//! Listing something that is not a `#[tool]` in `tools(...)`.
use agentsec::prelude::*;

/// Looks a product up, but is not marked `#[tool]`.
async fn lookup_product(sku: String) -> Result<String, ToolError> {
    Ok(sku)
}

/// A type of the name `tools(...)` looks for, that is not a tool.
pub struct ShowBasket;

#[agent(
    prompt = "Help with the shop.",
    tools(lookup_product, show_basket),
    max_iterations = 2,
    budget(tokens = 100)
)]
pub struct ShopAssistant;

fn main() {}
