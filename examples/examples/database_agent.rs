//! The database agent: PostgreSQL row-level security holds a tool's SQL to
//! the grant of the call that runs it.
//!
//! The `list_orders` tool selects from `orders` without a `WHERE` clause;
//! inside `RlsSession::begin` with the call's verified grant claims, Alice's
//! run still sees only Alice's orders and Bob's only Bob's. The example
//! creates a schema and a tool role of its own and drops both at the end.
//!
//! Run it with
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run -p examples --example database_agent`
//! (without `DATABASE_URL` it prints that it skipped and exits 0).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    examples::database_agent::run(&mut std::io::stdout()).await?;
    Ok(())
}
