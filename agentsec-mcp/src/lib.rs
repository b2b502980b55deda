//! Serve agentsec tools over the [Model Context Protocol], revision
//! **2025-11-25** ([`PROTOCOL_VERSION`]), on stdio and Streamable HTTP, with
//! the guarantees of an agent's own calls intact.
//!
//! Built on [`rmcp`], the official Rust MCP SDK. An [`McpServer`] serves the
//! tools of a [`Dispatcher`](agentsec_runtime::tool::Dispatcher) or of an
//! agent's runtime ([`ToolSource`]):
//!
//! - **One path.** Every `tools/call` runs through
//!   [`Dispatcher::dispatch`](agentsec_runtime::tool::Dispatcher::dispatch):
//!   strict decoding, the policy, a grant minted for exactly that call, a
//!   caught panic, redaction of secrets and spotlighting of untrusted output.
//!   There is no second way to run a tool.
//! - **Who calls.** Over HTTP the caller is the subject of an OAuth 2.1
//!   bearer token verified like a session token (pinned algorithm, issuer,
//!   audience = this server's resource URL, expiry): see [`HttpAuth`]. A
//!   request without a valid token gets `401` with a `WWW-Authenticate:
//!   Bearer` challenge naming the RFC 9728 protected-resource metadata,
//!   which the server publishes at `/.well-known/oauth-protected-resource`.
//!   On stdio the application names the caller when it starts serving.
//! - **What the tools are.** Each MCP tool carries the input schema agentsec
//!   generated for the model and annotations derived from the declared
//!   effects ([`annotations`]).
//! - **Irreversible tools wait for a person.** `tools/call` of an
//!   `#[irreversible]` tool (or of any call the pipeline says needs
//!   approval) does not run: it returns an error result naming a pending
//!   approval id, stored like an agent run's, which people decide with
//!   [`Approvals`](agentsec_runtime::hitl::Approvals) or `agentsec approve`.
//!   Called again with the approval id in the request's `_meta`
//!   ([`APPROVAL_META_KEY`]), the approved call runs exactly once.
//!
//! ```no_run
//! use std::sync::Arc;
//! use agentsec_mcp::{HttpAuth, McpServer};
//! use agentsec_runtime::identity::{JwtAlgorithm, JwtAuthenticator};
//! use agentsec_runtime::tool::Dispatcher;
//!
//! # async fn run(dispatcher: Dispatcher) -> Result<(), Box<dyn std::error::Error>> {
//! let server = McpServer::builder(Arc::new(dispatcher)).name("shop").build();
//! let auth = HttpAuth::new(
//!     "https://mcp.example.com/mcp",
//!     JwtAuthenticator::builder(JwtAlgorithm::Rs256)
//!         .issuer("https://auth.example.com")
//!         .jwks_json(&std::fs::read_to_string("jwks.json")?),
//! )?
//! .authorization_server("https://auth.example.com");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, server.http_router(auth)).await?;
//! # Ok(()) }
//! ```
//!
//! [Model Context Protocol]: https://modelcontextprotocol.io/specification/2025-11-25

pub mod annotations;
mod approval;
mod auth;
mod error;
mod handler;
mod http;
mod server;
mod source;
mod stdio;

pub use approval::ApprovalDesk;
pub use auth::{Caller, HttpAuth};
pub use error::{McpServe, McpServeError};
pub use http::DEFAULT_MAX_BODY_BYTES;
pub use server::{McpServer, McpServerBuilder};
pub use source::ToolSource;

/// The rmcp crate this one is built on, for its configuration types
/// ([`rmcp::transport::StreamableHttpServerConfig`]) and for clients.
pub use rmcp;

/// The MCP protocol revision this server implements.
///
/// Clients asking for an older revision rmcp knows get that one; clients
/// asking for a newer one are answered with this one.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// The key of a `tools/call` request's `_meta` object that carries the id of
/// an approved pending call: `{"_meta": {"io.agentsec/approval": "<id>"}}`.
pub const APPROVAL_META_KEY: &str = "io.agentsec/approval";
