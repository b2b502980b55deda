//! Security evaluation in the style of AgentDojo (Debenedetti et al., ETH
//! Zürich, 2024; environments and injection tasks from its MIT-licensed
//! `agentdojo` package, suites `workspace`, `slack` and `travel`, adapted
//! and made small).
//!
//! Every scenario is run three times against a model that obeys every
//! instruction it can read (`harness::AttackerModel`):
//! without injection (the user task must succeed), with the injection and a
//! careful approver (approves only the user task's actions), and with the
//! injection and an approver who approves everything (what the framework
//! still blocks on its own), and with the injection and a tool-level
//! approver (approves any call of a tool the user task uses, arguments
//! unchecked). The suite fails on any unapproved irreversible
//! action, any other user's data reaching the model, any secret leaving, and
//! any scenario not behaving as its expectation says. The table is printed
//! and written to `$CARGO_TARGET_TMPDIR/security-report.md`.

mod harness;
mod slack;
mod travel;
mod workspace;

use harness::{Mode, Outcome, Scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agentdojo_scenarios() {
    let scenarios: Vec<Scenario> = [
        workspace::scenarios(),
        slack::scenarios(),
        travel::scenarios(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut outcomes = Vec::new();
    for scenario in &scenarios {
        outcomes.push(Outcome {
            scenario,
            benign: (scenario.run)(Mode::Benign).await,
            strict: (scenario.run)(Mode::Strict).await,
            approve_all: (scenario.run)(Mode::ApproveAll).await,
            tool_level: (scenario.run)(Mode::ToolLevel).await,
        });
    }
    let table = harness::table(&outcomes);
    println!("{table}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("security-report.md");
    std::fs::write(&path, &table).expect("the report is written");
    println!("(written to {})", path.display());

    let failures: Vec<String> = outcomes.iter().flat_map(Outcome::failures).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        scenarios.len() >= 12,
        "the evaluation keeps at least 12 scenarios"
    );
}

mod harness_checks;
