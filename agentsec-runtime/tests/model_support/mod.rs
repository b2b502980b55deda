//! Helpers of the model client tests (the server is `http_support`).

#![allow(dead_code)]

pub mod openai;

use std::time::Duration;

/// Retries with waits of a millisecond or two, so tests stay fast.
pub fn fast_retry(max_retries: u32) -> agentsec_runtime::model::RetryPolicy {
    agentsec_runtime::model::RetryPolicy::new(
        max_retries,
        Duration::from_millis(1),
        Duration::from_millis(2),
    )
}
