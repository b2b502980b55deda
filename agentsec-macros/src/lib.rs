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
/// See the `agentsec` crate and the guide for the keys and the rules.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    tool::expand(args.into(), item.into()).into()
}

/// Declares an agent: its prompt, tools, limits and budget, checked at
/// compile time.
///
/// See the `agentsec` crate and the guide for the keys and the rules.
#[proc_macro_attribute]
pub fn agent(args: TokenStream, item: TokenStream) -> TokenStream {
    agent::expand(args.into(), item.into()).into()
}

/// Marks a tool whose effect cannot be undone: every call waits for a human
/// approval. Goes with `#[tool]`, above or below it.
#[proc_macro_attribute]
pub fn irreversible(args: TokenStream, item: TokenStream) -> TokenStream {
    irreversible::expand(args.into(), item.into()).into()
}
