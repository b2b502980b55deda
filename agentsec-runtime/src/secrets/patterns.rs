//! Recognising strings shaped like credentials. The patterns live in
//! `agentsec-core`, shared with the macros (a credential literal in code does
//! not compile) and used here by the redactor and the output checks.

pub use agentsec_core::credentials::*;
