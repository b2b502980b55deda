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

pub use agentsec_macros::{agent, irreversible, tool};
pub use agentsec_runtime::{ExposeSecret, SecretBox, SecretString};
pub use agentsec_runtime::{
    budget, engine, escape, guard, hitl, identity, model, permission, secrets, store, trace,
};

pub use agentsec_runtime::tool::{
    ApprovalProof, ArgLimits, CallContext, Dispatcher, DynTool, Effect, EffectKind, Scope,
    StateMap, Tool, ToolCtx, ToolError, ToolSchema, ToolSpec,
};

/// Everything an agent definition needs in scope.
pub mod prelude {
    pub use crate::engine::{Agent, AgentCall};
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
}
