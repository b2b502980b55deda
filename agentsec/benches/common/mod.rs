//! Shared by the benches: a short criterion configuration (so `cargo bench`
//! finishes in minutes on a small machine), and reading back the medians
//! criterion measured, to print ratios and targets under its own report.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;

/// Where criterion writes its estimates: `$CRITERION_HOME`, else
/// `$CARGO_TARGET_DIR/criterion`, else the workspace's `target/criterion`.
/// Set explicitly so the summary reads from where criterion wrote.
pub fn output_directory() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("criterion")
}

/// A criterion with small samples and a few seconds per benchmark.
pub fn criterion() -> Criterion {
    Criterion::default()
        .output_directory(&output_directory())
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

/// The median criterion measured for `group/function`, in nanoseconds, or
/// `None` when it measured nothing (`cargo test --benches` runs each
/// benchmark once, without measuring).
pub fn median_ns(group: &str, function: &str) -> Option<f64> {
    let path = output_directory()
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

/// Whether criterion is measuring (`cargo bench`), as opposed to running
/// each benchmark once as a test.
pub fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Formats nanoseconds for people.
pub fn human(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Prints whether a median met an upper-bound target, and by how much it missed.
pub fn report_at_most(what: &str, median_ns: f64, target_ns: f64) {
    if median_ns <= target_ns {
        println!(
            "target met: {what} median {} <= {}",
            human(median_ns),
            human(target_ns)
        );
    } else {
        println!(
            "TARGET MISSED: {what} median {} > {} (by {}, {:.0}% over)",
            human(median_ns),
            human(target_ns),
            human(median_ns - target_ns),
            (median_ns / target_ns - 1.0) * 100.0
        );
    }
}

/// Prints whether a rate met a lower-bound target, and by how much it missed.
pub fn report_at_least(what: &str, per_second: f64, target: f64) {
    if per_second >= target {
        println!("target met: {what} {per_second:.0}/s >= {target:.0}/s");
    } else {
        println!(
            "TARGET MISSED: {what} {per_second:.0}/s < {target:.0}/s (by {:.0}/s, {:.0}% under)",
            target - per_second,
            (1.0 - per_second / target) * 100.0
        );
    }
}
