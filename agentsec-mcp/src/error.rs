//! Why serving stopped.

/// Why an MCP server could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpServeError {
    /// The client's `initialize` exchange failed (a closed stream, a
    /// malformed first message, an unsupported protocol revision).
    #[error("the MCP session did not start: {0}")]
    Initialize(String),
    /// The session's task ended abnormally.
    #[error("the MCP session ended abnormally: {0}")]
    Session(String),
    /// Reading or writing the transport failed.
    #[error("MCP transport: {0}")]
    Io(#[from] std::io::Error),
}

/// How a served session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpServe {
    /// Why it ended (the client closed the stream, the session was
    /// cancelled), in rmcp's words.
    pub reason: String,
}
