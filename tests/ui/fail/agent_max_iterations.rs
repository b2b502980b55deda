use agentsec::prelude::*;

#[agent(name = "unbounded", prompt = "Help.", tools(), budget(tokens = 1_000))]
pub struct Unbounded;

#[agent(name = "zero", prompt = "Help.", tools(), max_iterations = 0, budget(tokens = 1_000))]
pub struct Zero;

#[agent(name = "endless", prompt = "Help.", tools(), max_iterations = 100, budget(tokens = 1_000))]
pub struct Endless;

fn main() {}
