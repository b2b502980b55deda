//! The agentsec runtime.
//!
//! Agents declared with the `agentsec` macros run here. This crate holds the
//! pieces the generated code calls into:
//!
//! - [`tool`]: the [`Tool`](tool::Tool) trait the `#[tool]` macro implements,
//!   the [`ToolSpec`](tool::ToolSpec) every tool carries as a `const`, the
//!   strict JSON schema the model sees, argument decoding and the
//!   [`Dispatcher`](tool::Dispatcher) that runs a model's tool call through the
//!   guarded path.
//! - [`call`]: the one pipeline every tool call goes through, whoever starts
//!   it: decode once, decide, approve, grant, execute sealed, protect the
//!   output, record.
//! - [`policy`]: the rules that decide each call.
//! - [`permission`]: the short-lived scoped grant minted for every tool call
//!   and verified at the point of execution.
//! - [`identity`]: users, run ids and call ids.
//! - [`secrets`]: the secret stores tools receive `#[secret]` values from,
//!   the per-run redactor, sealed inputs and output checks.
//! - [`model`]: the model providers (OpenAI-compatible, Anthropic) and a
//!   scripted model for tests.
//! - [`engine`]: runs agents as durable state machines; [`hitl`]: people
//!   approve, edit, reject and reconcile, and paused runs resume anywhere.
//! - [`store`]: durable runs, steps, approvals, intents, usage, agent keys
//!   and the hash-chained audit log (memory, SQLite, PostgreSQL).
//! - [`engine`], [`budget`], [`trace`]: running agents as durable state
//!   machines, their caps, and the security events they publish.
//! - [`guard`]: input screening, spotlighting of untrusted output, taint
//!   tracking (rule of two), URL allowlists and scoped retrieval.
//!
//! Most applications use the `agentsec` facade crate instead of this one.
#![warn(missing_docs)]

pub mod budget;
pub mod call;
pub mod engine;
pub mod escape;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod hitl;
pub mod identity;
pub mod model;
pub mod permission;
pub mod policy;
pub mod secrets;
pub mod store;
pub mod tool;
pub mod trace;

#[cfg(feature = "tls")]
mod tls;

pub use secrecy::{ExposeSecret, SecretBox, SecretString};

/// The rules every tool and agent spec is held to, from `agentsec-core`
/// ([`ToolSpec::check`](tool::ToolSpec::check),
/// [`AgentSpec::check`](engine::AgentSpec::check)).
pub use agentsec_core::rules;

/// The boxed, `Send` future every async trait of the runtime returns
/// ([`ModelProvider`](model::ModelProvider),
/// [`RunStore`](store::RunStore), [`SecretStore`](secrets::SecretStore),
/// [`KeyStore`](identity::keys::KeyStore), [`Embedder`](guard::Embedder), …),
/// so the traits stay object-safe.
///
/// ```
/// use agentsec_runtime::BoxFuture;
/// fn answer<'a>(question: &'a str) -> BoxFuture<'a, usize> {
///     Box::pin(async move { question.len() })
/// }
/// # let _ = answer("why?");
/// ```
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
