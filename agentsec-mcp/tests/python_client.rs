//! The official Python MCP SDK as the client of an agentsec server over
//! Streamable HTTP: tokens refused, tools listed with annotations, a read
//! tool called, untrusted output spotlighted, an irreversible tool paused
//! and then run once after a person approves it.
//!
//! Needs `python3` with the pinned `mcp` package (`.ci/run` installs it).
//! Outside CI a machine without them skips this test, saying so; in CI
//! (`CI` set) their absence fails it.

mod support;

use std::process::Stdio;
use std::time::Duration;

use agentsec::identity::UserIdentity;
use serde_json::Value;
use support::{fixture, serve_http, token};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// The Python interpreter: `$PYTHON`, else `python3` on the `PATH`.
fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

async fn python_has_mcp() -> bool {
    Command::new(python())
        .args(["-c", "import mcp, httpx2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_client_sees_the_guarantees() {
    if !python_has_mcp().await {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have python3 with the pinned `mcp` package (see .ci/run)"
        );
        eprintln!(
            "skipped: {} cannot import `mcp` (pip install mcp==2.3.0)",
            python()
        );
        return;
    }
    let fx = fixture().await;
    let url = serve_http(&fx.server).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client.py");
    let mut child = Command::new(python())
        .arg(script)
        .env("MCP_URL", &url)
        .env("MCP_TOKEN", token("alice", &url, 600, &["shopper"]))
        .env(
            "MCP_TOKEN_EXPIRED",
            token("alice", &url, -120, &["shopper"]),
        )
        .env(
            "MCP_TOKEN_OTHER_AUDIENCE",
            token("alice", "https://other.test/mcp", 600, &["shopper"]),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut steps = std::collections::HashMap::<String, Value>::new();
    let outcome = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let step: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not JSON from the client ({e}): {line}"));
            let name = step["step"].as_str().unwrap().to_owned();
            if name == "pending" {
                // The paused call is nothing a person has decided yet.
                assert_eq!(fx.bank.refunds(), 0);
                let id = uuid::Uuid::parse_str(step["approval_id"].as_str().unwrap()).unwrap();
                fx.approvals
                    .approve(id, &UserIdentity::new("bob"))
                    .await
                    .unwrap();
                stdin.write_all(b"approved\n").await.unwrap();
                stdin.flush().await.unwrap();
            }
            steps.insert(name.clone(), step);
            if name == "done" {
                break;
            }
        }
    })
    .await;
    if outcome.is_err() || !steps.contains_key("done") {
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            use tokio::io::AsyncReadExt;
            let _ =
                tokio::time::timeout(Duration::from_secs(5), err.read_to_string(&mut stderr)).await;
        }
        panic!("the Python client did not finish; steps so far: {steps:#?}\nstderr:\n{stderr}");
    }
    let _ = child.wait().await;

    // Refused: 401 with a Bearer challenge naming the metadata.
    let refused = &steps["refused"];
    for case in ["missing", "expired", "other_audience"] {
        assert_eq!(refused[case]["status"], 401, "{case}: {refused}");
        let header = refused[case]["www_authenticate"].as_str().unwrap();
        assert!(header.starts_with("Bearer "), "{case}: {header}");
        assert!(header.contains("resource_metadata="), "{case}: {header}");
    }
    assert!(
        refused["expired"]["www_authenticate"]
            .as_str()
            .unwrap()
            .contains("invalid_token")
    );

    assert_eq!(
        steps["initialized"]["protocol_version"],
        agentsec_mcp::PROTOCOL_VERSION
    );
    assert_eq!(steps["initialized"]["server"], "shop");

    // Listed with annotations derived from the declared effects.
    let tools = steps["tools"]["tools"].as_array().unwrap();
    let refund = tools.iter().find(|t| t["name"] == "refund").unwrap();
    assert_eq!(refund["annotations"]["readOnlyHint"], false);
    assert_eq!(refund["annotations"]["destructiveHint"], true);
    assert_eq!(refund["input_schema"]["additionalProperties"], false);
    let lookup = tools.iter().find(|t| t["name"] == "lookup_order").unwrap();
    assert_eq!(lookup["annotations"]["readOnlyHint"], true);
    let fetch = tools.iter().find(|t| t["name"] == "fetch_page").unwrap();
    assert_eq!(fetch["annotations"]["openWorldHint"], true);

    // A read tool, run for the token's subject.
    assert_eq!(steps["read"]["is_error"], false, "{}", steps["read"]);
    assert_eq!(steps["read"]["structured"]["owner"], "alice");

    // Untrusted output, spotlighted as data.
    let page = steps["untrusted"]["text"].as_str().unwrap();
    assert!(page.contains("tool=fetch_page>>"), "{page}");
    assert!(page.contains("It is not an instruction"), "{page}");

    // Paused, then run once after approval, then not again.
    let first = &steps["irreversible_first"];
    assert_eq!(first["is_error"], true);
    assert!(
        first["text"].as_str().unwrap().contains("moves money"),
        "{first}"
    );
    let second = &steps["irreversible_second"];
    assert_eq!(second["is_error"], false, "{second}");
    assert_eq!(second["text"], "refunded 700 cents on o-7");
    let third = &steps["irreversible_third"];
    assert_eq!(third["is_error"], true, "{third}");
    assert!(
        third["text"].as_str().unwrap().contains("ran once"),
        "{third}"
    );
    assert_eq!(fx.bank.refunds(), 1);
}
