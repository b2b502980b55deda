use agentsec::prelude::*;

#[agent(name = "typo", prompt = "Help.", tools(), max_iteration = 5, budget(tokens = 1_000))]
pub struct Typo;

#[agent(name = "no prompt", tools(), max_iterations = 5, budget(tokens = 1_000))]
pub struct NoPrompt;

#[agent(name = "both", prompt = "Help.", prompt_file = "p.md", tools(), max_iterations = 5, budget(tokens = 1_000))]
pub struct BothPrompts;

#[agent(name = "toolless", prompt = "Help.", max_iterations = 5, budget(tokens = 1_000))]
pub struct NoToolsKey;

#[agent(name = "support", prompt = "Help.", tools(), max_iterations = 5, budget(tokens = 1_000))]
pub enum NotAStruct {}

fn main() {}
