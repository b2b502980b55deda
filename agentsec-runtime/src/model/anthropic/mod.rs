//! The Anthropic Messages client.

mod request;
mod response;

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::http::{AuthHeader, HttpEndpoint, HttpSettings, ProviderDefaults, http_builder_methods};
use super::{ModelError, ModelProvider, ModelRequest, ModelResponse};
use crate::BoxFuture;
use request::request_body;
use response::parse_response;

/// The `anthropic-version` sent unless the builder sets another.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A Messages API client (`POST {base_url}/v1/messages`).
///
/// The system prompt goes in the top-level `system` field (with any
/// [`Message::System`](super::Message::System) appended to it), tool calls are `tool_use` blocks and
/// tool results `tool_result` blocks of a user message, consecutive results
/// merged into one message.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_runtime::model::{AnthropicClient, ModelProvider};
/// use agentsec_runtime::secrets::MemorySecretStore;
///
/// let secrets = Arc::new(MemorySecretStore::new().with("anthropic_api_key", "sk-ant-..."));
/// let client = AnthropicClient::builder()
///     .model("claude-sonnet-4-5")
///     .api_key_secret("anthropic_api_key", secrets)
///     .default_max_tokens(2048)
///     .build()
///     .unwrap();
/// assert_eq!(client.name(), "anthropic");
/// ```
#[derive(Debug)]
pub struct AnthropicClient {
    http: HttpEndpoint,
    version: HeaderValue,
    default_max_tokens: u32,
}

/// Builds an [`AnthropicClient`].
pub struct AnthropicClientBuilder {
    http: HttpSettings,
    version: String,
    default_max_tokens: u32,
}

impl AnthropicClient {
    /// A builder with the defaults: Anthropic's URL, `x-api-key` auth,
    /// version [`ANTHROPIC_VERSION`], 4096 max tokens, 120 s timeout.
    pub fn builder() -> AnthropicClientBuilder {
        AnthropicClientBuilder {
            http: HttpSettings::default(),
            version: ANTHROPIC_VERSION.to_owned(),
            default_max_tokens: 4096,
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
        Ok(request_body(&model, request, self.default_max_tokens))
    }

    /// Decodes a Messages API response body as [`ModelProvider::complete`]
    /// does: text blocks joined, `tool_use` blocks as tool calls (their input
    /// serialized as the arguments text), usage (cached prompt tokens
    /// included) and stop reason; the configured model names the response
    /// when the body does not. A body that is not a message is
    /// [`ModelError::Malformed`]: the body is untrusted, and no body makes
    /// this panic (it is a fuzz target).
    ///
    /// ```
    /// use agentsec_runtime::model::{AnthropicClient, ModelError, StopReason};
    /// let client = AnthropicClient::builder()
    ///     .base_url("http://127.0.0.1:8000")
    ///     .model("claude-test")
    ///     .build()
    ///     .unwrap();
    /// let body = br#"{"content": [{"type": "text", "text": "Adding."},
    ///     {"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 1}}],
    ///     "stop_reason": "tool_use", "usage": {"input_tokens": 9, "output_tokens": 4}}"#;
    /// let response = client.parse_response(body).unwrap();
    /// assert_eq!(response.stop, StopReason::ToolUse);
    /// assert_eq!(response.content.as_deref(), Some("Adding."));
    /// assert_eq!(response.tool_calls[0].arguments, r#"{"a":1}"#);
    /// assert!(matches!(client.parse_response(b"[]"), Err(ModelError::Malformed { .. })));
    /// ```
    pub fn parse_response(&self, body: &[u8]) -> Result<ModelResponse, ModelError> {
        self.http.decode(body, parse_response)
    }
}

impl AnthropicClientBuilder {
    http_builder_methods!();

    /// The `anthropic-version` header.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// `max_tokens` when the request sets none (the API requires one).
    pub fn default_max_tokens(mut self, max_tokens: u32) -> Self {
        self.default_max_tokens = max_tokens;
        self
    }

    /// Builds the client. Fails on an invalid URL or header, never because
    /// the key is missing (it is read per request).
    pub fn build(self) -> Result<AnthropicClient, ModelError> {
        let version = HeaderValue::from_str(&self.version).map_err(|_| {
            ModelError::Config(format!("invalid anthropic-version `{}`", self.version))
        })?;
        let http = self.http.build(ProviderDefaults {
            name: "anthropic",
            base_url: "https://api.anthropic.com",
            auth: AuthHeader::Header("x-api-key".to_owned()),
        })?;
        Ok(AnthropicClient {
            http,
            version,
            default_max_tokens: self.default_max_tokens,
        })
    }
}

impl ModelProvider for AnthropicClient {
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
            let body = request_body(&model, request, self.default_max_tokens);
            let headers = [(
                HeaderName::from_static("anthropic-version"),
                self.version.clone(),
            )];
            self.http
                .post_json("/v1/messages", &body, &headers, |bytes| {
                    parse_response(bytes, &model)
                })
                .await
        })
    }
}
