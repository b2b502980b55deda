use agentsec::prelude::*;

#[agent(name = "spendthrift", prompt = "Help.", tools(), max_iterations = 5)]
pub struct NoBudget;

#[agent(name = "empty", prompt = "Help.", tools(), max_iterations = 5, budget())]
pub struct EmptyBudget;

#[agent(name = "typo", prompt = "Help.", tools(), max_iterations = 5, budget(tokns = 10, usd = -1))]
pub struct TypoBudget;

#[agent(name = "zero", prompt = "Help.", tools(), max_iterations = 5, budget(tokens = 0))]
pub struct ZeroBudget;

fn main() {}
