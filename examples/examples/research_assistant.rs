//! The research assistant: web pages are untrusted, notes are private, email
//! leaves the system.
//!
//! A page the assistant reads carries a planted instruction to email the
//! user's notes to an attacker. The page is screened and spotlighted, a
//! fetch to a host off the allowlist is refused, the email the (scripted,
//! compromised) model proposes waits for approval and is rejected, and the
//! answer is delivered. The security events are printed at the end.
//!
//! Run it with `cargo run -p examples --example research_assistant`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    examples::research_assistant::run(&mut std::io::stdout()).await?;
    Ok(())
}
