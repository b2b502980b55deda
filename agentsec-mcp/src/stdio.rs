//! stdio: one MCP session on a pair of byte streams, the caller named by
//! the application.

use agentsec_runtime::identity::UserIdentity;
use rmcp::ServiceExt;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::handler::{Identity, Session};
use crate::{DEFAULT_MAX_BODY_BYTES, McpServe, McpServeError, McpServer};

impl McpServer {
    /// Serves one MCP session on the process's stdin and stdout until the
    /// client closes it; every call is `caller`'s (the application has
    /// authenticated them: stdio has no tokens).
    ///
    /// ```no_run
    /// # async fn run(server: agentsec_mcp::McpServer) -> Result<(), agentsec_mcp::McpServeError> {
    /// use agentsec_runtime::identity::UserIdentity;
    /// server.serve_stdio(UserIdentity::new("alice")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn serve_stdio(&self, caller: UserIdentity) -> Result<McpServe, McpServeError> {
        self.serve_io(caller, tokio::io::stdin(), tokio::io::stdout())
            .await
    }

    /// Serves one MCP session (newline-delimited JSON-RPC) on `reader` and
    /// `writer` until the client closes it. A line longer than
    /// [`DEFAULT_MAX_BODY_BYTES`] is dropped unread, a line that is not
    /// JSON-RPC is not served, an unknown method gets a JSON-RPC error; none
    /// of them ends the session.
    pub async fn serve_io<R, W>(
        &self,
        caller: UserIdentity,
        reader: R,
        writer: W,
    ) -> Result<McpServe, McpServeError>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let session = Session {
            server: self.clone(),
            identity: Identity::Fixed(caller),
        };
        let transport = AsyncRwTransport::new_server(reader, writer)
            .with_max_line_length(DEFAULT_MAX_BODY_BYTES);
        let running = session
            .serve(transport)
            .await
            .map_err(|e| McpServeError::Initialize(e.to_string()))?;
        let reason = running
            .waiting()
            .await
            .map_err(|e| McpServeError::Session(e.to_string()))?;
        Ok(McpServe {
            reason: format!("{reason:?}"),
        })
    }
}
