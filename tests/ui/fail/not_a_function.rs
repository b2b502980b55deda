use agentsec::prelude::*;

/// A struct is not a tool.
#[tool(pure)]
struct NotATool;

/// Neither is it irreversible.
#[irreversible]
struct NotIrreversible;

fn main() {}
