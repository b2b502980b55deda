//! The shop's tools over MCP.
//!
//! `cargo run -p examples --example mcp_server` serves them over Streamable
//! HTTP on a loopback port and plays the client: a request without a token
//! is refused, the tools are listed with their annotations, a refund waits
//! for a person and then runs once.
//!
//! `cargo run -p examples --example mcp_server -- --stdio` serves them on
//! stdin/stdout for an MCP client that starts this program, as the user
//! `$USER`; refunds then wait in an in-memory store.

use std::sync::Arc;

use agentsec::prelude::*;
use agentsec::store::{MemoryStore, RunStore};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--stdio") {
        let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
        let shop = Arc::new(examples::shop::Shop::default());
        let server = examples::mcp_server::server(shop, store, vec![9u8; 32]).await?;
        let user = std::env::var("USER").unwrap_or_else(|_| "alice".into());
        server.serve_stdio(UserIdentity::new(user)).await?;
        return Ok(());
    }
    examples::mcp_server::run(&mut std::io::stdout()).await?;
    Ok(())
}
