//! The shop's tools over MCP.
//!
//! `cargo run -p examples --example mcp_server` serves them over Streamable
//! HTTP on a loopback port and plays the client: a request without a token
//! is refused, the tools are listed with their annotations, a refund waits
//! for a person and then runs once.
//!
//! `cargo run -p examples --example mcp_server -- --stdio` (or the
//! `mcp_shop_stdio` binary) serves them on stdin/stdout for an MCP client
//! that starts this program, as the user `$USER`; refunds then wait in an
//! in-memory store.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--stdio") {
        return examples::mcp_server::serve_stdio().await;
    }
    examples::mcp_server::run(&mut std::io::stdout()).await?;
    Ok(())
}
