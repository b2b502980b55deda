//! Why a background sink could not be started.

/// Why a sink with a background task ([`WebhookSink`](super::WebhookSink),
/// [`AuditSink`](super::AuditSink)) could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Not called from inside a tokio runtime, which the delivery task needs.
    #[error("the sink must be started inside a tokio runtime")]
    NoRuntime,
    /// The endpoint is not an `http` or `https` URL.
    #[error("invalid webhook URL: {0}")]
    InvalidUrl(String),
    /// The HTTP client could not be built.
    #[error("building the webhook HTTP client failed: {0}")]
    Client(String),
}
