//! The web agent: a browser, an axum backend, the support agent behind it.
//!
//! The browser sends its session JWT; the backend verifies it, invokes the
//! agent server-side with an agent key the browser never sees, and a
//! support lead approves the paused refund over the same API. The example
//! starts the backend on 127.0.0.1, drives that session against it with an
//! HTTP client, prints every exchange and exits.
//!
//! Run it with `cargo run -p examples --example web_agent`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    examples::web_agent::run(&mut std::io::stdout()).await?;
    Ok(())
}
