use agentsec::prelude::*;

#[agent(
    name = "support",
    prompt_file = "prompts/does-not-exist.md",
    tools(),
    max_iterations = 5,
    budget(tokens = 1_000)
)]
pub struct Support;

fn main() {}
