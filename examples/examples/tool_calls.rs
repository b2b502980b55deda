//! Dispatches a model's tool calls through the guarded path and prints what
//! happened to each: a well-formed call, malformed arguments, an unknown
//! tool, an irreversible call without and with an approval.
//!
//! Run it with `cargo run -p examples --example tool_calls`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    examples::tool_calls::run(&mut std::io::stdout()).await?;
    Ok(())
}
