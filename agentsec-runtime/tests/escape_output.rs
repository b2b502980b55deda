//! Output safe for terminals and logs (issue 12, point 4): values that came
//! from a model, a tool, a token or a user are escaped and cut when an error
//! echoes them.

use agentsec_runtime::escape::{MAX_ECHO_BYTES, echo};
use agentsec_runtime::permission::rls::{RlsError, RlsKey, RlsSession};
use agentsec_runtime::tool::{ArgLimits, ToolError, ToolSchema, decode_args};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Args {
    limit: u8,
}

fn assert_safe(message: &str) {
    assert!(
        !message.chars().any(char::is_control),
        "a control character reached the message: {message:?}"
    );
}

#[test]
fn an_invalid_argument_value_is_escaped_and_cut_in_the_error() {
    let schema = ToolSchema::for_args::<Args>("list_orders", "List orders.");
    // Ten megabytes of a value the model sent, with terminal controls in it.
    let value = format!("five\r\u{1b}[2J{}", "x".repeat(10 * 1024 * 1024));
    let raw = serde_json::json!({ "limit": value }).to_string();
    let limits = ArgLimits {
        max_bytes: 64 * 1024 * 1024,
        ..ArgLimits::default()
    };
    let err = decode_args::<Args>(&schema, &raw, limits).unwrap_err();
    let message = err.to_string();
    assert!(
        message.len() < 2 * MAX_ECHO_BYTES,
        "{} bytes",
        message.len()
    );
    assert_safe(&message);
    assert!(message.contains("field `limit`"), "{message}");
    assert!(message.contains(r"five\r\u{1b}[2J"), "{message}");
    assert_eq!(err.model_message(), message);
}

#[test]
fn unknown_tool_names_and_role_names_are_escaped() {
    let unknown = ToolError::UnknownTool {
        name: "refund\r\u{1b}[32mOK".into(),
        suggestion: None,
    };
    assert_safe(&unknown.to_string());
    match RlsSession::new("tool\nrole", RlsKey::random()) {
        Err(e @ RlsError::InvalidRole(_)) => assert_safe(&e.to_string()),
        other => panic!("{other:?}"),
    }
    assert_eq!(echo("a\u{1b}b"), r"a\u{1b}b");
}
