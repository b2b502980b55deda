use std::time::Duration;

use crate::secrets::SecretError;

/// Why a model call failed.
///
/// No variant ever carries the API key: messages that come back from a
/// provider have the key scrubbed out before they are stored here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The provider answered with an error status that is not retried (or
    /// that stayed after every retry).
    #[error("{provider} answered HTTP {status}: {message}")]
    Status {
        /// Which provider.
        provider: String,
        /// The HTTP status code.
        status: u16,
        /// The provider's error message (or the start of its body).
        message: String,
    },
    /// The provider kept answering 429 until the retries ran out.
    #[error("{provider} rate-limited the request {attempts} times: {message}")]
    RateLimited {
        /// Which provider.
        provider: String,
        /// How many requests were sent.
        attempts: u32,
        /// The last `Retry-After` the provider sent.
        retry_after: Option<Duration>,
        /// The provider's last error message.
        message: String,
    },
    /// No answer within the request timeout, on every attempt.
    #[error("{provider} did not answer within {timeout:?} ({attempts} attempts)")]
    Timeout {
        /// Which provider.
        provider: String,
        /// The per-request timeout.
        timeout: Duration,
        /// How many requests were sent.
        attempts: u32,
    },
    /// The connection failed (refused, reset, DNS, TLS).
    #[error("{provider} could not be reached: {message}")]
    Transport {
        /// Which provider.
        provider: String,
        /// What failed.
        message: String,
    },
    /// The body was not in the provider's wire format.
    #[error("{provider} sent a malformed response: {message}")]
    Malformed {
        /// Which provider.
        provider: String,
        /// What was wrong with it.
        message: String,
    },
    /// The API key's secret is not in the secret store.
    #[error("{provider}: the API key secret `{secret}` is not in the secret store")]
    MissingKey {
        /// Which provider.
        provider: String,
        /// The secret's name (never its value).
        secret: String,
    },
    /// The secret store failed while reading the API key.
    #[error("{provider}: reading the API key failed: {source}")]
    Secret {
        /// Which provider.
        provider: String,
        /// The store's error.
        #[source]
        source: SecretError,
    },
    /// The client or the request is misconfigured.
    #[error("model configuration error: {0}")]
    Config(String),
    /// A [`ScriptedModel`](super::ScriptedModel) was asked for more replies
    /// than it was given.
    #[error("the scripted model has no reply left (it played {played})")]
    ScriptExhausted {
        /// How many replies were played.
        played: usize,
    },
}

impl ModelError {
    /// Whether trying again later may succeed (rate limits, timeouts,
    /// connection failures, server errors), as opposed to a request or a
    /// configuration that will fail again.
    ///
    /// ```
    /// use agentsec_runtime::model::ModelError;
    /// assert!(!ModelError::Config("no model".into()).is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            ModelError::RateLimited { .. }
            | ModelError::Timeout { .. }
            | ModelError::Transport { .. } => true,
            ModelError::Status { status, .. } => super::retry::is_retryable_status(*status),
            _ => false,
        }
    }
}
