//! A tool implemented by hand is held to the same rules as a `#[tool]`: an
//! agent listing one that deletes without `irreversible` does not compile.
use agentsec::prelude::*;
use agentsec::{Effect, EffectKind, Scope, ToolSpec};

#[derive(Deserialize, JsonSchema)]
pub struct PurgeArgs {
    pub order: String,
}

/// Deletes an order; nobody approves it.
pub struct PurgeOrder;
impl Tool for PurgeOrder {
    const SPEC: ToolSpec = ToolSpec {
        effects: &[Effect::new(EffectKind::Delete, "orders")],
        scope: Some(Scope::User),
        pure: false,
        ..ToolSpec::new("purge_order", "Delete an order.")
    };
    type Args = PurgeArgs;
    type Output = ();
    async fn execute(_: &ToolCtx, _: PurgeArgs) -> Result<(), ToolError> {
        Ok(())
    }
}

#[agent(
    name = "janitor",
    prompt = "Tidy the orders.",
    tools(purge_order),
    max_iterations = 5,
    budget(tokens = 10_000)
)]
pub struct Janitor;

fn main() {}
