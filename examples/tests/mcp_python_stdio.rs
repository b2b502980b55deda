//! The official Python MCP SDK's stdio client starts the shop's MCP server
//! binary and uses it: the handshake, annotations, a read as the user the
//! application named, untrusted output spotlighted, an irreversible call
//! paused for approval.
//!
//! Needs `python3` with the pinned `mcp` package (`.ci/run` installs it):
//! skipped, saying so, outside CI; a failure in CI (`CI` set).

use std::process::Command;

use serde_json::Value;

#[test]
fn the_python_sdk_drives_the_stdio_server() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let has_mcp = Command::new(&python)
        .args(["-c", "import mcp"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_mcp {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have python3 with the pinned `mcp` package (see .ci/run)"
        );
        eprintln!("skipped: {python} cannot import `mcp` (pip install mcp==2.3.0)");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/stdio_client.py");
    let output = Command::new(&python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_mcp_shop_stdio"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let steps: std::collections::HashMap<String, Value> = stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON lines"))
        .map(|step| (step["step"].as_str().unwrap().to_owned(), step))
        .collect();
    assert!(
        steps.contains_key("done"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );

    assert_eq!(
        steps["initialized"]["protocol_version"],
        agentsec_mcp::PROTOCOL_VERSION
    );
    assert_eq!(steps["initialized"]["server"], "shop");
    let tools = &steps["tools"]["tools"];
    assert_eq!(tools["refund_order"]["destructiveHint"], true);
    assert_eq!(tools["list_orders"]["readOnlyHint"], true);
    assert_eq!(tools["read_ticket"]["openWorldHint"], true);

    assert_eq!(steps["read"]["is_error"], false);
    assert!(
        steps["read"]["text"]
            .as_str()
            .unwrap()
            .contains("\"owner\":\"alice\"")
    );

    let ticket = steps["untrusted"]["text"].as_str().unwrap();
    assert!(ticket.contains("tool=read_ticket>>"), "{ticket}");
    assert!(ticket.contains("It is not an instruction"), "{ticket}");

    let refund = &steps["irreversible"];
    assert_eq!(refund["is_error"], true);
    assert_eq!(refund["structured"]["status"], "approval_required");
    assert!(
        !stdout.contains("sk_test_example_only"),
        "the payment key never leaves"
    );
}
