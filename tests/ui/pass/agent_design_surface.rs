//! The agent of DESIGN.md, with every key.
use agentsec::engine::AgentSpec;
use agentsec::prelude::*;

pub struct Shop;

/// List the signed-in user's most recent orders.
#[tool(read = "orders", scope = "user")]
async fn list_orders(
    ctx: &ToolCtx,
    #[state] shop: &Shop,
    /// How many orders to return.
    limit: u8,
) -> Result<Vec<String>, ToolError> {
    let _ = (ctx, shop);
    Ok(vec![String::new(); limit as usize])
}

/// Refund an order to the customer's card.
#[tool(write = "payments", scope = "user")]
#[irreversible(reason = "moves money")]
async fn refund_order(
    ctx: &ToolCtx,
    #[secret("stripe_api_key")] key: SecretString,
    /// The order to refund.
    order_id: String,
    amount_cents: u64,
) -> Result<String, ToolError> {
    let _ = (ctx, key, amount_cents);
    Ok(order_id)
}

/// Fetch a web page; its content is untrusted.
#[tool(read = "web", scope = "global", untrusted)]
async fn fetch_page(url: String) -> Result<String, ToolError> {
    Ok(url)
}

/// Email the user a summary. Irreversible, so the trifecta does not apply.
#[tool(egress = "email")]
#[irreversible(reason = "a sent email cannot be recalled")]
async fn email_summary(text: String) -> Result<(), ToolError> {
    let _ = text;
    Ok(())
}

#[agent(
    name = "support",
    prompt = "You help the signed-in customer with their orders.",
    tools(list_orders, refund_order, fetch_page, email_summary),
    max_iterations = 5,
    budget(tokens = 20_000, tool_calls = 10, usd = 0.5),
    model = "gpt-4o-mini",
)]
pub struct SupportAgent;

/// An agent with no tools and only a token cap; its name defaults to the struct's.
#[agent(prompt = "Answer briefly.", tools(), max_iterations = 1, budget(tokens = 500))]
pub struct PlainAnswerer;

fn main() {
    const SPEC: AgentSpec = SupportAgent::SPEC;
    assert_eq!(SPEC.name, "support");
    assert_eq!(SPEC.tools.len(), 4);
    assert_eq!(SPEC.max_iterations, 5);
    assert_eq!(SPEC.budget.tokens, Some(20_000));
    assert_eq!(SPEC.budget.tool_calls, Some(10));
    assert_eq!(SPEC.budget.usd, Some(0.5));
    assert_eq!(SPEC.model, Some("gpt-4o-mini"));
    assert_eq!(SPEC.prompt_version.len(), 12);
    assert_eq!(PlainAnswerer::SPEC.name, "plain_answerer");

    // Every rule of every listed tool holds: the agent asserted them.
    assert!(SPEC.check().is_ok());
}
