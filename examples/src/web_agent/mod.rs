//! The web agent, shared by `examples/web_agent.rs` and its test: a browser
//! talks to an axum backend with its session JWT; the backend invokes the
//! support agent server-side with an agent key the browser never sees, and
//! support leads approve paused calls over the same API.

mod backend;

use std::io::Write;

use agentsec::model::{ScriptedModel, ScriptedReply};
use serde_json::{Value, json};

pub use backend::{
    ApiError, Backend, ChatReply, ChatRequest, LEAD_ROLE, PendingView, SESSION_AUDIENCE,
    SESSION_ISSUER, SESSION_SECRET, WebServer,
};

/// A session token as the application's auth layer would issue it to a
/// signed-in browser: HS256, valid for ten minutes, tenant `acme`.
pub fn session_token(user: &str, roles: &[&str], audience: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": SESSION_ISSUER, "aud": audience, "sub": user, "org": "acme",
        "roles": roles, "nbf": now, "iat": now, "exp": now + 600,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SESSION_SECRET),
    )
    // Encoding a JSON object with an HMAC key does not fail; an empty token
    // is refused by the backend like any bad one.
    .unwrap_or_default()
}

/// One HTTP answer: status and body text.
#[derive(Debug)]
pub struct HttpReply {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: String,
}

impl HttpReply {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// The browser's HTTP client. The session is plain http on 127.0.0.1;
/// reqwest is built without a TLS provider of its own in this workspace,
/// so one (ring, the runtime's) is installed before the client is built.
pub fn browser() -> reqwest::Client {
    // Already installed (by an earlier call) is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// What a browser does: a request with its session token, if it has one.
pub async fn request(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<HttpReply, Box<dyn std::error::Error>> {
    let mut builder = client.request(method, url);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        builder = builder
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body)?);
    }
    let response = builder.send().await?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    Ok(HttpReply { status, body })
}

/// The support desk script: look the orders up, propose a refund, answer.
pub fn support_model() -> ScriptedModel {
    ScriptedModel::new([
        ScriptedReply::tool_call("list_orders", json!({"limit": 5})),
        ScriptedReply::tool_call(
            "refund_order",
            json!({"order_id": "ord_1002", "amount_cents": 12_500}),
        ),
        ScriptedReply::text("I've refunded order ord_1002 (125.00) to your card."),
    ])
}

/// What the scripted session saw.
pub struct WebReport {
    /// Every HTTP answer, in order: chat, approvals list, approval.
    pub replies: Vec<HttpReply>,
    /// The refunds made: (order, cents).
    pub refunds: Vec<(String, u64)>,
}

/// Starts the backend, drives a short browser session against it and stops
/// it: Alice asks for a refund (the run pauses), a lead lists the pending
/// approvals and approves, the resumed run answers. Narrates to `out`.
pub async fn run(out: &mut dyn Write) -> Result<WebReport, Box<dyn std::error::Error>> {
    let server = WebServer::start(support_model()).await?;
    writeln!(out, "backend listening on {}", server.url)?;
    let result = session(out, &server).await;
    let refunds = server.shop().refunds();
    server.stop().await?;
    Ok(WebReport {
        replies: result?,
        refunds,
    })
}

async fn session(
    out: &mut dyn Write,
    server: &WebServer,
) -> Result<Vec<HttpReply>, Box<dyn std::error::Error>> {
    let client = browser();
    let alice = session_token("alice", &[], SESSION_AUDIENCE);
    let lead = session_token("lead@support", &[LEAD_ROLE], SESSION_AUDIENCE);
    let mut replies = Vec::new();

    let message = json!({"message": "My order ord_1002 arrived damaged, can I get a refund?"});
    writeln!(out, "alice → POST /api/chat {message}")?;
    let chat = request(
        &client,
        reqwest::Method::POST,
        &format!("{}/api/chat", server.url),
        Some(&alice),
        Some(&message),
    )
    .await?;
    writeln!(out, "  ← {} {}", chat.status, chat.body)?;
    let reply: ChatReply = serde_json::from_str(&chat.body)?;
    replies.push(chat);
    if reply.status != "awaiting_approval" {
        return Err(format!("expected a pause for approval, got {}", reply.status).into());
    }

    writeln!(out, "lead@support → GET /api/approvals")?;
    let listed = request(
        &client,
        reqwest::Method::GET,
        &format!("{}/api/approvals", server.url),
        Some(&lead),
        None,
    )
    .await?;
    writeln!(out, "  ← {} {}", listed.status, listed.body)?;
    let ids: Vec<String> = listed
        .json()
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|p| p["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    replies.push(listed);
    let Some(id) = ids.first() else {
        return Err("the lead sees no pending approval".into());
    };

    writeln!(out, "lead@support → POST /api/approvals/{id}/approve")?;
    let approved = request(
        &client,
        reqwest::Method::POST,
        &format!("{}/api/approvals/{id}/approve", server.url),
        Some(&lead),
        None,
    )
    .await?;
    writeln!(out, "  ← {} {}", approved.status, approved.body)?;
    replies.push(approved);
    writeln!(out, "refunds made: {:?}", server.shop().refunds())?;
    Ok(replies)
}
