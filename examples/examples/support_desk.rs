//! The support desk: the agent of the guide, driven by a scripted model.
//!
//! Alice asks about a damaged order. The agent looks her orders up (a
//! user-scoped read), proposes a refund (irreversible: the run pauses), a
//! support lead approves it, the run resumes from its checkpoint and
//! completes. The security events are printed at the end.
//!
//! Run it with `cargo run -p examples --example support_desk`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    examples::support_desk::run(&mut std::io::stdout()).await?;
    Ok(())
}
