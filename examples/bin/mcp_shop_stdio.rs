//! The shop's tools served over MCP on stdin/stdout, as the user `$USER`:
//! what an MCP client starts as a subprocess. The Python SDK's stdio client
//! test (`tests/mcp_python_stdio.rs`) starts this binary.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    examples::mcp_server::serve_stdio().await
}
