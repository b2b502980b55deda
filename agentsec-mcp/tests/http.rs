//! Streamable HTTP: bearer tokens checked like session tokens, RFC 9728
//! metadata, and bad input answered with typed errors.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{fixture, serve_http, token};

const ACCEPT: &str = "application/json, text/event-stream";

/// A plain-HTTP client (the workspace's reqwest is built without a default
/// TLS provider; the tests reach only loopback `http://`).
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn post(url: &str, token: Option<&str>, body: String) -> reqwest::Response {
    let mut request = client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", agentsec_mcp::PROTOCOL_VERSION)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn rpc(id: u32, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// The JSON-RPC message of a response, whether sent as JSON or as SSE.
async fn message(response: reqwest::Response) -> Value {
    let body = response.text().await.unwrap();
    if let Ok(value) = serde_json::from_str(&body) {
        return value;
    }
    let data = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .find(|d| !d.is_empty())
        .unwrap_or_else(|| panic!("no JSON-RPC message in {body:?}"));
    serde_json::from_str(data).unwrap()
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .expect("a WWW-Authenticate challenge")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn protected_resource_metadata_is_served_without_a_token() {
    let fx = fixture().await;
    let url = serve_http(&fx.server).await;
    let origin = url.trim_end_matches("/mcp");
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = client()
            .get(format!("{origin}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let document: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(document["resource"], url);
        assert_eq!(document["authorization_servers"], json!([support::ISSUER]));
        assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    }
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused_with_a_bearer_challenge() {
    let fx = fixture().await;
    let url = serve_http(&fx.server).await;
    let list = rpc(1, "tools/list", json!({}));
    let metadata = format!(
        "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
        url.trim_end_matches("/mcp")
    );

    let missing = post(&url, None, list.clone()).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let header = challenge(&missing);
    assert!(header.starts_with("Bearer "), "{header}");
    assert!(header.contains(&metadata), "{header}");
    assert!(
        !header.contains("error="),
        "no error code without a token: {header}"
    );

    let expired = post(
        &url,
        Some(&token("alice", &url, -120, &["shopper"])),
        list.clone(),
    )
    .await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let header = challenge(&expired);
    assert!(header.contains("error=\"invalid_token\""), "{header}");
    assert!(header.contains("expired"), "{header}");
    assert!(header.contains(&metadata), "{header}");

    let other_server = post(
        &url,
        Some(&token(
            "alice",
            "http://127.0.0.1:1/other",
            600,
            &["shopper"],
        )),
        list.clone(),
    )
    .await;
    assert_eq!(other_server.status(), StatusCode::UNAUTHORIZED);
    let header = challenge(&other_server);
    assert!(header.contains("error=\"invalid_token\""), "{header}");
    assert!(header.contains("audience"), "{header}");

    let forged = format!("{}x", token("alice", &url, 600, &["shopper"]));
    let forged = post(&url, Some(&forged), list.clone()).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    let no_role = post(&url, Some(&token("alice", &url, 600, &[])), list.clone()).await;
    assert_eq!(no_role.status(), StatusCode::FORBIDDEN);
    let header = challenge(&no_role);
    assert!(header.contains("error=\"insufficient_scope\""), "{header}");
    assert!(header.contains("scope=\"shopper\""), "{header}");

    let ok = post(&url, Some(&token("alice", &url, 600, &["shopper"])), list).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let message = message(ok).await;
    assert_eq!(
        message["result"]["tools"].as_array().unwrap().len(),
        3,
        "{message}"
    );
}

#[tokio::test]
async fn the_token_subject_is_the_caller_of_the_tool() {
    let fx = fixture().await;
    let url = serve_http(&fx.server).await;
    let call = rpc(
        2,
        "tools/call",
        json!({"name": "lookup_order", "arguments": {"order_id": "o-9"}}),
    );
    let response = post(&url, Some(&token("carol", &url, 600, &["shopper"])), call).await;
    assert_eq!(response.status(), StatusCode::OK);
    let message = message(response).await;
    assert_eq!(
        message["result"]["structuredContent"]["owner"], "carol",
        "{message}"
    );
}

#[tokio::test]
async fn bad_input_gets_typed_errors_and_the_server_keeps_serving() {
    let fx = fixture().await;
    let url = serve_http(&fx.server).await;
    let alice = token("alice", &url, 600, &["shopper"]);

    let malformed = post(
        &url,
        Some(&alice),
        "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\"".into(),
    )
    .await;
    assert!(
        malformed.status().is_client_error(),
        "{}",
        malformed.status()
    );

    let not_rpc = post(&url, Some(&alice), "[1, 2, 3]".into()).await;
    assert!(not_rpc.status().is_client_error(), "{}", not_rpc.status());

    let oversized = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"lookup_order\",\"arguments\":{{\"order_id\":\"{}\"}}}}}}",
        "x".repeat(agentsec_mcp::DEFAULT_MAX_BODY_BYTES + 1)
    );
    let oversized = post(&url, Some(&alice), oversized).await;
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let unknown = post(&url, Some(&alice), rpc(3, "tools/explode", json!({}))).await;
    let message = message(unknown).await;
    assert_eq!(message["error"]["code"], -32601, "{message}");

    // Still serving.
    let list = post(&url, Some(&alice), rpc(4, "tools/list", json!({}))).await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(fx.bank.refunds(), 0);
}
