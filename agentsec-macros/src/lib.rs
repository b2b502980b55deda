//! The agentsec attribute macros. Use them through the `agentsec` crate.
//!
//! Each macro follows the same shape: parse the attribute and the item into
//! a model, check every rule over the model (collecting all errors, each on
//! the exact tokens at fault, with a `help:` line), then expand. On error the
//! item is still emitted, together with a placeholder of every type users
//! refer to, so the user sees the precise errors instead of a cascade.

mod agent;
mod credentials;
mod diag;
mod irreversible;
mod tool;

use proc_macro::TokenStream;

/// Declares an async function as a tool an agent can call.
///
/// Generates, next to the function, a unit struct named after it in
/// UpperCamelCase (`list_orders` → `ListOrders`) that implements `Tool`:
/// its `SPEC`, its JSON schema and the call of the function.
///
/// Keys (runnable examples are on `agentsec::tool`, this crate cannot use
/// its own macros in doctests):
///
/// - effects: `read = "orders"`, `write = "payments"`, `delete = "orders"`,
///   `egress = "email"` (each also takes a list: `read = ["orders", "customers"]`),
///   or `pure` for a tool that touches nothing outside itself;
/// - `scope = "user" | "tenant" | "global"`: whose rows it touches (required
///   with `read`, `write` or `delete`);
/// - `untrusted`: returns external content (spotlighted, taints the run);
/// - `idempotent`: retrying with the same idempotency key is safe;
/// - `name = "..."`: the tool's name (default: the function's).
///
/// Parameters: `ctx: &ToolCtx`; `#[state] shop: &Shop`; `#[secret("name")]
/// key: SecretString`; `#[args] query: Query` (a struct whose fields are the
/// arguments); anything else is one model-visible argument named after the
/// parameter. The doc comment is the description the model reads.
///
/// ```ignore
/// /// Refund an order to the customer's card.
/// #[tool(write = "payments", scope = "user", idempotent, name = "refund")]
/// #[irreversible(reason = "moves money")]
/// async fn refund_order(
///     ctx: &ToolCtx,
///     #[state] shop: &Shop,
///     #[secret("stripe_api_key")] key: SecretString,
///     /// The order to refund.
///     order_id: String,
/// ) -> Result<Refund, ToolError> { ... }
/// ```
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    tool::expand(args.into(), item.into()).into()
}

/// Declares an agent: its prompt, tools, limits and budget, checked at
/// compile time.
///
/// Keys: `name = "..."` (default: the struct's name in snake case);
/// `prompt_file = "prompts/x.md"` (relative to `Cargo.toml`, read and hashed
/// at compile time) or `prompt = "..."`; `tools(a, b)`; `max_iterations = N`
/// (1..=25, required); `budget(tokens = N, tool_calls = N, usd = F)` (at
/// least one, required); `model = "..."`; `untrusted_input`.
///
/// Implements `Agent` for the struct, and asserts in `const` items, spanned
/// on each tool in `tools(...)`, that every tool keeps the tool rules and
/// that the agent has no duplicate tool names and no lethal trifecta.
///
/// ```ignore
/// #[agent(
///     name = "support",
///     prompt_file = "prompts/support.md",
///     tools(list_orders, refund_order),
///     max_iterations = 5,
///     budget(tokens = 20_000, tool_calls = 10, usd = 0.5),
///     model = "gpt-4o-mini",
///     untrusted_input,
/// )]
/// pub struct SupportAgent;
/// ```
#[proc_macro_attribute]
pub fn agent(args: TokenStream, item: TokenStream) -> TokenStream {
    agent::expand(args.into(), item.into()).into()
}

/// Marks a tool whose effect cannot be undone: every call waits for a human
/// approval. Goes with `#[tool]`, above or below it.
///
/// Key: `reason = "..."` (optional), shown to the approver.
///
/// ```ignore
/// /// Delete one of the user's saved addresses.
/// #[tool(delete = "addresses", scope = "user")]
/// #[irreversible(reason = "the address is gone for good")]
/// async fn delete_address(ctx: &ToolCtx, address_id: String) -> Result<(), ToolError> { ... }
/// ```
#[proc_macro_attribute]
pub fn irreversible(args: TokenStream, item: TokenStream) -> TokenStream {
    irreversible::expand(args.into(), item.into()).into()
}
