//! stdio: newline-delimited JSON-RPC, the caller named by the application;
//! malformed lines, unknown methods and oversized lines get typed errors or
//! are dropped, and the session goes on.

mod support;

use std::time::Duration;

use agentsec::identity::UserIdentity;
use serde_json::{Value, json};
use support::fixture;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

struct Client {
    writer: tokio::io::WriteHalf<DuplexStream>,
    lines: Lines<BufReader<tokio::io::ReadHalf<DuplexStream>>>,
}

impl Client {
    async fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).await.unwrap();
        self.writer.write_all(b"\n").await.unwrap();
        self.writer.flush().await.unwrap();
    }

    async fn request(&mut self, id: u32, method: &str, params: Value) -> Value {
        self.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        )
        .await;
        self.response(id).await
    }

    /// The next message answering `id` (notifications and other ids skipped).
    async fn response(&mut self, id: u32) -> Value {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let line = self
                    .lines
                    .next_line()
                    .await
                    .unwrap()
                    .expect("the server answers");
                let message: Value = serde_json::from_str(&line).unwrap();
                if message["id"] == id {
                    return message;
                }
            }
        })
        .await
        .expect("an answer within 10 s")
    }
}

async fn connect() -> (Client, support::Fixture) {
    let fx = fixture().await;
    let (client, server) = tokio::io::duplex(4 * 1024 * 1024);
    let (server_read, server_write) = tokio::io::split(server);
    let mcp = fx.server.clone();
    tokio::spawn(async move {
        mcp.serve_io(UserIdentity::new("dave"), server_read, server_write)
            .await
    });
    let (client_read, client_write) = tokio::io::split(client);
    let mut client = Client {
        writer: client_write,
        lines: BufReader::new(client_read).lines(),
    };
    let init = client
        .request(
            0,
            "initialize",
            json!({
                "protocolVersion": agentsec_mcp::PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"},
            }),
        )
        .await;
    assert_eq!(
        init["result"]["protocolVersion"],
        agentsec_mcp::PROTOCOL_VERSION,
        "{init}"
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "shop");
    client
        .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string())
        .await;
    (client, fx)
}

#[tokio::test]
async fn calls_over_stdio_are_the_named_callers() {
    let (mut client, _fx) = connect().await;
    let tools = client.request(1, "tools/list", json!({})).await;
    let tools = tools["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 3);
    assert_eq!(tools[2]["annotations"]["destructiveHint"], true);

    let call = client
        .request(
            2,
            "tools/call",
            json!({"name": "lookup_order", "arguments": {"order_id": "o-1"}}),
        )
        .await;
    assert_eq!(
        call["result"]["structuredContent"]["owner"], "dave",
        "{call}"
    );
}

#[tokio::test]
async fn bad_lines_get_typed_errors_and_the_session_goes_on() {
    let (mut client, fx) = connect().await;

    let unknown = client.request(3, "tools/explode", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");

    // Not JSON, and a line longer than the limit: neither is answered as a
    // request (neither has a readable id), neither runs anything, and the
    // session goes on.
    client
        .send("{\"jsonrpc\": \"2.0\", \"id\": 4, \"method\"")
        .await;
    client
        .send(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{{\"name\":\"refund\",\"arguments\":{{\"order_id\":\"{}\",\"amount_cents\":1}}}}}}",
            "x".repeat(agentsec_mcp::DEFAULT_MAX_BODY_BYTES + 1)
        ))
        .await;

    let call = client
        .request(
            6,
            "tools/call",
            json!({"name": "refund", "arguments": {"order_id": "o-1", "amount_cents": 1}}),
        )
        .await;
    assert_eq!(call["result"]["isError"], true, "{call}");
    assert_eq!(
        call["result"]["structuredContent"]["status"],
        "approval_required"
    );
    assert_eq!(fx.bank.refunds(), 0);
}
