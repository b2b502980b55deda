//! One module per command.

pub mod audit;
pub mod runs;
pub mod trace;
