//! The shop's tools served over MCP (Streamable HTTP), shared by
//! `examples/mcp_server.rs` and its test: the example plays the MCP client
//! itself with plain HTTP requests — a request without a token, the tool
//! list, a read, and a refund that waits for a person and then runs once.

use std::io::Write;
use std::sync::Arc;

use agentsec::engine::StoreCheckpoints;
use agentsec::hitl::{Approvals, DecisionSigner};
use agentsec::identity::{JwtAlgorithm, JwtAuthenticator};
use agentsec::prelude::*;
use agentsec::secrets::MemorySecretStore;
use agentsec::store::{MemoryStore, RunStore};
use agentsec_mcp::{APPROVAL_META_KEY, ApprovalDesk, HttpAuth, McpServer};
use serde_json::{Value, json};

use crate::shop::{ListOrders, ReadTicket, RefundOrder, Shop};

/// The demo's token signing key (an authorization server's, in production).
const SIGNING_KEY: &[u8] = b"demo-authorization-server-hs256-key!!";
/// The demo's authorization server.
const ISSUER: &str = "https://auth.shop.example";

/// What the demo did.
pub struct Report {
    /// The shop, with the refunds made.
    pub shop: Arc<Shop>,
    /// The HTTP status of the request without a token.
    pub unauthenticated: u16,
}

/// The shop's MCP server: its tools, approvals kept in `store`.
pub async fn server(
    shop: Arc<Shop>,
    store: Arc<dyn RunStore>,
    signing_key: Vec<u8>,
) -> Result<McpServer, Box<dyn std::error::Error>> {
    let dispatcher = Dispatcher::builder()
        .tool::<ListOrders>()
        .tool::<ReadTicket>()
        .tool::<RefundOrder>()
        .state_arc(shop)
        .secrets(MemorySecretStore::new().with("stripe_api_key", "sk_test_example_only_0000000000"))
        .build()
        .await?;
    let desk = ApprovalDesk::new(
        StoreCheckpoints::new(store),
        DecisionSigner::new(signing_key)?,
    );
    Ok(McpServer::builder(Arc::new(dispatcher))
        .name("shop")
        .approvals(desk)
        .build())
}

/// Serves the shop on stdin/stdout as the user `$USER` (default `alice`),
/// refunds waiting in an in-memory store, until the client closes the
/// stream.
pub async fn serve_stdio() -> Result<(), Box<dyn std::error::Error>> {
    let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
    let server = server(Arc::new(Shop::default()), store, vec![9u8; 32]).await?;
    let user = std::env::var("USER").unwrap_or_else(|_| "alice".into());
    server.serve_stdio(UserIdentity::new(user)).await?;
    Ok(())
}

/// Serves the shop over HTTP on a loopback port and calls it; narrates to `out`.
pub async fn run(out: &mut dyn Write) -> Result<Report, Box<dyn std::error::Error>> {
    let shop = Arc::new(Shop::default());
    let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
    let decision_key = vec![9u8; 32];
    let server = server(shop.clone(), store.clone(), decision_key.clone()).await?;
    let approvals = Approvals::new(
        &StoreCheckpoints::new(store),
        DecisionSigner::new(decision_key)?,
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/mcp", listener.local_addr()?);
    let auth = HttpAuth::new(
        url.as_str(),
        JwtAuthenticator::builder(JwtAlgorithm::Hs256)
            .issuer(ISSUER)
            .hmac_secret(SIGNING_KEY),
    )?
    .authorization_server(ISSUER);
    let router = server.http_router(auth);
    let serving = tokio::spawn(async move { axum::serve(listener, router).await });
    writeln!(
        out,
        "MCP server `shop` at {url} (protocol {})",
        agentsec_mcp::PROTOCOL_VERSION
    )?;

    let client = Client::new(&url);
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let (status, challenge, _) = client.post(None, &list).await?;
    writeln!(
        out,
        "without a token: {status}, WWW-Authenticate: {challenge}"
    )?;

    let token = alice_token(&url)?;
    let (_, _, tools) = client.post(Some(&token), &list).await?;
    for tool in tools["result"]["tools"].as_array().into_iter().flatten() {
        writeln!(out, "tool {}: {}", tool["name"], tool["annotations"])?;
    }

    let orders = call(&client, &token, 2, "list_orders", json!({"limit": 2}), None).await?;
    writeln!(out, "list_orders → {}", orders["content"][0]["text"])?;

    let refund = json!({"order_id": "ord_1002", "amount_cents": 12_500});
    let first = call(&client, &token, 3, "refund_order", refund.clone(), None).await?;
    writeln!(out, "refund_order → {}", first["content"][0]["text"])?;
    let approval_id = first["structuredContent"]["approval_id"].clone();

    for pending in approvals.pending(Some("shop"), None).await? {
        writeln!(
            out,
            "lead@shop approves {} of {} ({})",
            pending.tool, pending.user_id, pending.id
        )?;
        approvals
            .approve(pending.id, &UserIdentity::new("lead@shop"))
            .await?;
    }
    let second = call(
        &client,
        &token,
        4,
        "refund_order",
        refund.clone(),
        Some(&approval_id),
    )
    .await?;
    writeln!(
        out,
        "refund_order with the approval → {}",
        second["content"][0]["text"]
    )?;
    let third = call(
        &client,
        &token,
        5,
        "refund_order",
        refund,
        Some(&approval_id),
    )
    .await?;
    writeln!(out, "and once more → {}", third["content"][0]["text"])?;

    serving.abort();
    Ok(Report {
        shop,
        unauthenticated: status,
    })
}

/// A token for `alice` from the demo's authorization server, for the
/// server at `audience`.
fn alice_token(audience: &str) -> Result<String, jsonwebtoken::errors::Error> {
    let now = jsonwebtoken::get_current_timestamp();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"iss": ISSUER, "aud": audience, "sub": "alice", "exp": now + 600}),
        &jsonwebtoken::EncodingKey::from_secret(SIGNING_KEY),
    )
}

async fn call(
    client: &Client,
    token: &str,
    id: u32,
    tool: &str,
    arguments: Value,
    approval: Option<&Value>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut params = json!({"name": tool, "arguments": arguments});
    if let Some(approval) = approval {
        params["_meta"] = json!({ APPROVAL_META_KEY: approval });
    }
    let request = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
    let (_, _, response) = client.post(Some(token), &request).await?;
    Ok(response["result"].clone())
}

/// A bare-bones MCP client over HTTP: JSON-RPC requests, JSON responses.
struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    fn new(url: &str) -> Self {
        // reqwest is built without a TLS provider of its own.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
        }
    }

    async fn post(
        &self,
        token: Option<&str>,
        body: &Value,
    ) -> Result<(u16, String, Value), Box<dyn std::error::Error>> {
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", agentsec_mcp::PROTOCOL_VERSION)
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await?;
        Ok((
            status,
            challenge,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        ))
    }
}
