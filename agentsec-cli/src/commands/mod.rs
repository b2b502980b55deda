//! One module per command.

pub mod approvals;
pub mod audit;
pub mod demo;
pub mod keys;
pub mod runs;
pub mod trace;
