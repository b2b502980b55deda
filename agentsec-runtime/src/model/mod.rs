//! Model providers: what the engine asks for the next step of a run.
//!
//! - [`ModelProvider`]: the trait (object-safe; also implemented for
//!   `Arc<P>`), taking a [`ModelRequest`] and answering a [`ModelResponse`]
//!   with text, [`ModelToolCall`]s and [`Usage`].
//! - [`OpenAiClient`]: OpenAI-compatible chat completions, with a
//!   configurable base URL (vLLM, Ollama, llama.cpp server, Azure-style
//!   gateways with an `api-key` header and an `api-version` parameter).
//! - [`AnthropicClient`]: the Anthropic Messages API.
//! - [`ScriptedModel`]: plays a list of [`ScriptedReply`]s and records every
//!   request, for tests, examples and adversarial scenarios.
//!
//! The HTTP clients read their API key from a
//! [`SecretStore`](crate::secrets::SecretStore) for every request (bring your
//! own key), never log it, and scrub it from errors. They time out each
//! attempt, retry 429, 5xx and connection failures with backoff honouring
//! `Retry-After` ([`RetryPolicy`]), cap the response size, and report a body
//! that is not in the wire format as [`ModelError::Malformed`] rather than
//! panicking. Tool-call arguments are passed on as the raw text the model
//! wrote, even when it is not valid JSON: the tool layer rejects those calls
//! one by one. [`PriceTable`] turns usage into dollars.
//!
//! A scripted run: the model asks for a tool, then answers.
//!
//! ```
//! use agentsec_runtime::model::{
//!     Message, ModelProvider, ModelRequest, ScriptedModel, ScriptedReply, StopReason, Usage,
//! };
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let model = ScriptedModel::new([
//!     ScriptedReply::tool_call("list_orders", json!({"limit": 3})).with_usage(Usage::new(120, 15)),
//!     ScriptedReply::text("You have 3 orders.").with_usage(Usage::new(200, 8)),
//! ]);
//! let provider: Box<dyn ModelProvider> = Box::new(model.clone());
//!
//! let mut request = ModelRequest::new("You are a support agent.", vec![Message::user("My orders?")]);
//! let first = provider.complete(&request).await?;
//! assert_eq!(first.stop, StopReason::ToolUse);
//! let call = &first.tool_calls[0];
//! assert_eq!((call.name.as_str(), call.arguments.as_str()), ("list_orders", r#"{"limit":3}"#));
//!
//! request.messages.push(first.to_message());
//! request.messages.push(Message::tool_result(call, r#"["A1","A2","A3"]"#));
//! let second = provider.complete(&request).await?;
//! assert_eq!(second.content.as_deref(), Some("You have 3 orders."));
//! assert_eq!((first.usage + second.usage).tokens(), 343);
//!
//! // The handle saw exactly what reached the model.
//! assert_eq!(model.requests().len(), 2);
//! assert_eq!(model.requests()[1].messages.len(), 3);
//! # Ok::<(), agentsec_runtime::model::ModelError>(())
//! # }).unwrap();
//! ```

mod anthropic;
mod error;
mod http;
mod message;
mod openai;
mod price;
mod reply;
mod retry;
mod scripted;
mod usage;

use std::sync::Arc;

pub use anthropic::{ANTHROPIC_VERSION, AnthropicClient, AnthropicClientBuilder};
pub use error::ModelError;
pub use http::AuthHeader;
pub use message::{Message, ModelRequest, ModelResponse, ModelToolCall, StopReason};
pub use openai::{OpenAiClient, OpenAiClientBuilder};
pub use price::{Price, PriceTable};
pub use retry::{RetryPolicy, is_retryable_status, parse_retry_after};
pub use scripted::{ScriptedArguments, ScriptedModel, ScriptedReply};
pub use usage::Usage;

use crate::BoxFuture;

/// A language model the engine can ask for the next step.
///
/// ```
/// use agentsec_runtime::model::{ModelError, ModelProvider, ModelRequest, ModelResponse, StopReason, Usage};
/// use agentsec_runtime::BoxFuture;
///
/// /// Always answers with the last user message.
/// struct Echo;
/// impl ModelProvider for Echo {
///     fn name(&self) -> &str { "echo" }
///     fn complete<'a>(&'a self, request: &'a ModelRequest) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
///         let text = match request.messages.last() {
///             Some(agentsec_runtime::model::Message::User { content }) => content.clone(),
///             _ => String::new(),
///         };
///         Box::pin(async move {
///             Ok(ModelResponse { content: Some(text), tool_calls: vec![], usage: Usage::default(),
///                 stop: StopReason::EndTurn, model: "echo".into() })
///         })
///     }
/// }
/// let shared: std::sync::Arc<dyn ModelProvider> = std::sync::Arc::new(Echo);
/// assert_eq!(shared.name(), "echo");
/// ```
pub trait ModelProvider: Send + Sync + 'static {
    /// A short name for traces and errors (`openai`, `anthropic`, ...).
    fn name(&self) -> &str;

    /// Asks the model for its next answer.
    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>>;

    /// Checks the provider's configuration without calling the model: the
    /// HTTP clients read their API key from the secret store, so a missing
    /// key fails [`AgentRuntimeBuilder::build`](crate::engine::AgentRuntimeBuilder::build)
    /// instead of a run. The default accepts.
    fn check_config(&self) -> BoxFuture<'_, Result<(), ModelError>> {
        Box::pin(async { Ok(()) })
    }
}

impl<P: ModelProvider + ?Sized> ModelProvider for Arc<P> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        (**self).complete(request)
    }

    fn check_config(&self) -> BoxFuture<'_, Result<(), ModelError>> {
        (**self).check_config()
    }
}

impl<P: ModelProvider + ?Sized> ModelProvider for Box<P> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        (**self).complete(request)
    }

    fn check_config(&self) -> BoxFuture<'_, Result<(), ModelError>> {
        (**self).check_config()
    }
}
