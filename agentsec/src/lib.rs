//! # agentsec
//!
//! Declare AI agents whose security properties are properties of the code.
//! Annotate async functions with [`tool`] (and [`irreversible`]) and get, at
//! compile time, the JSON schema the model sees, the permission checks, the
//! human-approval pause points and the trace spans; unsafe definitions do
//! not compile.
//!
//! ```
//! use agentsec::prelude::*;
//!
//! /// Add two integers.
//! #[tool(pure)]
//! async fn add(a: i64, b: i64) -> Result<i64, ToolError> {
//!     Ok(a + b)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let dispatcher = Dispatcher::builder().tool::<Add>().build().await.unwrap();
//! let call = CallContext::new(RunId::new(), 1, "calculator", UserIdentity::new("alice"));
//! let sum = dispatcher.dispatch(&call, "add", r#"{"a": 2, "b": 40}"#).await.unwrap();
//! assert_eq!(sum, 42);
//! # }
//! ```
//!
//! The guide (`book/`) tells the whole story; the crates underneath are
//! [`agentsec_runtime`] and `agentsec-macros`.
#![warn(missing_docs)]

/// Every key of `#[tool]`:
///
/// ```
/// use agentsec::prelude::*;
///
/// pub struct Shop;
///
/// #[derive(Deserialize, JsonSchema)]
/// pub struct Search {
///     /// Words to look for.
///     pub text: String,
/// }
///
/// /// Search the catalogue (a `global` read: no user's rows).
/// #[tool(read = ["products", "prices"], scope = "global", idempotent, name = "search")]
/// async fn search_products(#[state] shop: &Shop, #[args] query: Search) -> Result<Vec<String>, ToolError> {
///     let _ = shop;
///     Ok(vec![query.text])
/// }
///
/// /// Fetch a page from the web; its text is untrusted.
/// #[tool(read = "web", scope = "global", untrusted)]
/// async fn fetch_page(url: String) -> Result<String, ToolError> {
///     Ok(url)
/// }
///
/// /// Email the signed-in user a receipt.
/// #[tool(egress = "email")]
/// #[irreversible(reason = "an email cannot be unsent")]
/// async fn email_receipt(
///     ctx: &ToolCtx,
///     #[secret("smtp_password")] smtp: SecretString,
///     /// The order whose receipt to send.
///     order_id: String,
/// ) -> Result<(), ToolError> {
///     let _ = (ctx, smtp, order_id);
///     Ok(())
/// }
///
/// /// Delete one of the user's saved addresses.
/// #[tool(delete = "addresses", write = "audit", scope = "user")]
/// #[irreversible]
/// async fn delete_address(ctx: &ToolCtx, address_id: String) -> Result<(), ToolError> {
///     let _ = (ctx, address_id);
///     Ok(())
/// }
///
/// /// Add two integers.
/// #[tool(pure)]
/// async fn add(a: i64, b: i64) -> Result<i64, ToolError> {
///     Ok(a + b)
/// }
///
/// assert_eq!(<SearchProducts as Tool>::SPEC.name, "search");
/// assert!(<SearchProducts as Tool>::SPEC.idempotent);
/// assert!(<FetchPage as Tool>::SPEC.untrusted);
/// assert_eq!(<EmailReceipt as Tool>::SPEC.secrets, ["smtp_password"]);
/// assert!(<DeleteAddress as Tool>::SPEC.is_irreversible());
/// assert!(<Add as Tool>::SPEC.pure);
/// ```
pub use agentsec_macros::tool;

/// Every key of `#[agent]`:
///
/// ```
/// use agentsec::prelude::*;
///
/// /// Look an order up.
/// #[tool(read = "orders", scope = "user")]
/// async fn show_order(ctx: &ToolCtx, order_id: String) -> Result<String, ToolError> {
///     let _ = ctx;
///     Ok(order_id)
/// }
///
/// #[agent(
///     name = "support",
///     prompt = "You help the signed-in user with their orders.",
///     tools(show_order),
///     max_iterations = 5,
///     budget(tokens = 20_000, tool_calls = 10, usd = 0.5),
///     model = "gpt-4o-mini",
///     untrusted_input,
/// )]
/// pub struct SupportAgent;
///
/// let spec = SupportAgent::SPEC;
/// assert_eq!((spec.name, spec.max_iterations, spec.model), ("support", 5, Some("gpt-4o-mini")));
/// assert_eq!(spec.budget.tool_calls, Some(10));
/// assert!(spec.untrusted_input);
/// assert!(spec.check().is_ok());
/// ```
///
/// `prompt_file = "prompts/support.md"` reads the prompt from a file relative
/// to the crate's `Cargo.toml` instead (see the guide).
pub use agentsec_macros::agent;

/// `#[irreversible]` and its key:
///
/// ```
/// use agentsec::prelude::*;
///
/// /// Refund an order to the customer's card.
/// #[irreversible(reason = "moves money")]
/// #[tool(write = "payments", scope = "user")]
/// async fn refund_order(ctx: &ToolCtx, order_id: String) -> Result<(), ToolError> {
///     let _ = (ctx, order_id);
///     Ok(())
/// }
///
/// let spec = <RefundOrder as Tool>::SPEC;
/// assert_eq!(spec.irreversible.unwrap().reason, Some("moves money"));
/// ```
pub use agentsec_macros::irreversible;
pub use agentsec_runtime::{BoxFuture, ExposeSecret, SecretBox, SecretString};
pub use agentsec_runtime::{
    budget, call, engine, escape, guard, hitl, identity, model, permission, policy, secrets, store,
    trace,
};

/// The rules every tool and agent spec is held to (by the macros at compile
/// time, by the dispatcher builder for hand-written tools).
pub use agentsec_core::{AgentRule, ToolRule};
pub use agentsec_runtime::tool::{
    ApprovalProof, ArgLimits, CallContext, Dispatcher, DynTool, Effect, EffectKind, Scope,
    SinkPolicy, Sinks, StateMap, Tool, ToolCtx, ToolError, ToolSchema, ToolSpec,
};

/// Everything an agent definition needs in scope.
pub mod prelude {
    pub use crate::engine::Agent;
    pub use crate::identity::{CallId, RunId, UserIdentity};
    pub use crate::{
        CallContext, Dispatcher, ExposeSecret, SecretString, Tool, ToolCtx, ToolError, agent,
        irreversible, tool,
    };
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

/// Tool-layer types: specs, schemas, the dispatcher.
pub mod tool_api {
    pub use agentsec_runtime::tool::*;
}

/// Paths the generated code uses. Not a public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use agentsec_runtime;
    pub use schemars;
    pub use serde;
    pub use serde_json;
    pub use tracing;

    /// The paths the macros of this version generate: versioned, so code
    /// expanded by one version of the macros fails loudly (not subtly)
    /// against a facade that no longer provides what it expects.
    pub mod v1 {
        pub use agentsec_core as core;
        pub use agentsec_runtime as runtime;
        pub use agentsec_runtime::SecretString;
        pub use agentsec_runtime::budget::BudgetSpec;
        pub use agentsec_runtime::engine::{Agent, AgentSpec};
        pub use agentsec_runtime::tool::{
            DispatcherBuilder, Effect, EffectKind, Irreversibility, Scope, SinkPolicy, Sinks,
            SourceLocation, StateRequirement, Tool, ToolCtx, ToolError, ToolSchema, ToolSpec,
        };
        pub use schemars;
        pub use serde;
        pub use serde_json;
        pub use tracing;
    }
}
