//! Shared code of the agentsec examples.
