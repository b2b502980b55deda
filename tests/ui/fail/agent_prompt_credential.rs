use agentsec::prelude::*;

#[agent(
    name = "leaky",
    prompt = "You are helpful.\nUse the key sk-proj-Abc123Def456Ghi789Jkl012 when calling the API.",
    tools(),
    max_iterations = 5,
    budget(tokens = 1_000)
)]
pub struct Leaky;

fn main() {}
