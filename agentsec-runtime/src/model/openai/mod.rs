//! The OpenAI-compatible chat-completions client (OpenAI, vLLM, Ollama,
//! llama.cpp server, Azure-style gateways).

mod request;
mod response;

use serde_json::Value;

use super::http::{AuthHeader, HttpEndpoint, HttpSettings, ProviderDefaults, http_builder_methods};
use super::{ModelError, ModelProvider, ModelRequest, ModelResponse};
use crate::BoxFuture;
use request::request_body;
use response::parse_response;

/// A chat-completions client (`POST {base_url}/chat/completions`).
///
/// The base URL defaults to `https://api.openai.com/v1`; point it at any
/// compatible server. Tools are sent in strict mode with parallel calls on.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_runtime::model::{ModelProvider, OpenAiClient, RetryPolicy};
/// use agentsec_runtime::secrets::MemorySecretStore;
///
/// let secrets = Arc::new(MemorySecretStore::new().with("openai_api_key", "sk-..."));
/// let client = OpenAiClient::builder()
///     .model("gpt-4o-mini")
///     .api_key_secret("openai_api_key", secrets)
///     .retry(RetryPolicy::default())
///     .build()
///     .unwrap();
/// assert_eq!(client.name(), "openai");
///
/// // A local vLLM or Ollama server: no key.
/// let local = OpenAiClient::builder()
///     .name("ollama")
///     .base_url("http://127.0.0.1:11434/v1")
///     .model("llama3.2")
///     .build()
///     .unwrap();
/// assert_eq!(local.name(), "ollama");
/// ```
#[derive(Debug)]
pub struct OpenAiClient {
    http: HttpEndpoint,
    max_tokens_field: String,
}

/// Builds an [`OpenAiClient`].
pub struct OpenAiClientBuilder {
    http: HttpSettings,
    max_tokens_field: String,
}

impl OpenAiClient {
    /// A builder with the defaults: OpenAI's URL, bearer auth, 120 s
    /// timeout, [`RetryPolicy::default`](super::RetryPolicy::default).
    pub fn builder() -> OpenAiClientBuilder {
        OpenAiClientBuilder {
            http: HttpSettings::default(),
            max_tokens_field: "max_tokens".to_owned(),
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.http.base_url
    }

    /// The configured model, if any.
    pub fn model(&self) -> Option<&str> {
        self.http.model.as_deref()
    }

    /// The JSON body sent for `request`.
    pub fn request_body(&self, request: &ModelRequest) -> Result<Value, ModelError> {
        let model = self.http.model_for(request.model.as_deref())?;
        Ok(request_body(&model, request, &self.max_tokens_field))
    }

    /// Decodes a chat-completions response body as [`ModelProvider::complete`]
    /// does: text (or refusal), tool calls with their arguments kept as the
    /// raw text the model wrote, usage and stop reason; the configured model
    /// names the response when the body does not. A body that is not a chat
    /// completion is [`ModelError::Malformed`]: the body is untrusted, and no
    /// body makes this panic (it is a fuzz target).
    ///
    /// ```
    /// use agentsec_runtime::model::{ModelError, OpenAiClient, StopReason};
    /// let client = OpenAiClient::builder()
    ///     .base_url("http://127.0.0.1:8000/v1")
    ///     .model("local")
    ///     .build()
    ///     .unwrap();
    /// let body = br#"{"choices": [{"message": {"content": null, "tool_calls": [
    ///     {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{\"a\":1}"}}]},
    ///     "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}"#;
    /// let response = client.parse_response(body).unwrap();
    /// assert_eq!(response.stop, StopReason::ToolUse);
    /// assert_eq!(response.tool_calls[0].arguments, r#"{"a":1}"#);
    /// assert_eq!(response.model, "local");
    /// assert!(matches!(client.parse_response(b"{}"), Err(ModelError::Malformed { .. })));
    /// ```
    pub fn parse_response(&self, body: &[u8]) -> Result<ModelResponse, ModelError> {
        self.http.decode(body, parse_response)
    }
}

impl OpenAiClientBuilder {
    http_builder_methods!();

    /// The body field carrying [`ModelRequest::max_tokens`]: `max_tokens`
    /// (default, understood by compatible servers) or
    /// `max_completion_tokens` (required by OpenAI's reasoning models).
    pub fn max_tokens_field(mut self, field: impl Into<String>) -> Self {
        self.max_tokens_field = field.into();
        self
    }

    /// Builds the client. Fails on an invalid URL or header, never because
    /// the key is missing (it is read per request).
    pub fn build(self) -> Result<OpenAiClient, ModelError> {
        let http = self.http.build(ProviderDefaults {
            name: "openai",
            base_url: "https://api.openai.com/v1",
            auth: AuthHeader::Bearer,
        })?;
        Ok(OpenAiClient {
            http,
            max_tokens_field: self.max_tokens_field,
        })
    }
}

impl ModelProvider for OpenAiClient {
    fn name(&self) -> &str {
        &self.http.name
    }

    fn check_config(&self) -> BoxFuture<'_, Result<(), ModelError>> {
        Box::pin(self.http.check_key())
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        Box::pin(async move {
            let model = self.http.model_for(request.model.as_deref())?;
            let body = request_body(&model, request, &self.max_tokens_field);
            self.http
                .post_json("/chat/completions", &body, &[], |bytes| {
                    parse_response(bytes, &model)
                })
                .await
        })
    }
}
