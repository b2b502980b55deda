//! rmcp's own client against the server over a byte stream: the handshake,
//! the tool list with annotations, a read, and the approval round trip.

mod support;

use agentsec::identity::UserIdentity;
use agentsec_mcp::APPROVAL_META_KEY;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, MetaObject, RequestMetaObject};
use serde_json::json;
use support::fixture;

fn params(tool: &'static str, arguments: serde_json::Value) -> CallToolRequestParams {
    CallToolRequestParams::new(tool).with_arguments(arguments.as_object().cloned().unwrap())
}

#[tokio::test]
async fn the_rmcp_client_lists_calls_and_waits_for_approval() {
    let fx = fixture().await;
    let (client_io, server_io) = tokio::io::duplex(1024 * 1024);
    let (server_read, server_write) = tokio::io::split(server_io);
    let server = fx.server.clone();
    tokio::spawn(async move {
        server
            .serve_io(UserIdentity::new("erin"), server_read, server_write)
            .await
    });
    let client = ().serve(client_io).await.expect("the handshake succeeds");
    let info = client.peer_info().expect("the server introduced itself");
    assert_eq!(
        info.protocol_version.as_str(),
        agentsec_mcp::PROTOCOL_VERSION
    );
    assert_eq!(info.server_info.as_ref().unwrap().name, "shop");

    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 3);
    let refund = tools.iter().find(|t| t.name == "refund").unwrap();
    assert_eq!(
        refund.annotations.as_ref().unwrap().destructive_hint,
        Some(true)
    );

    let read = client
        .call_tool(params("lookup_order", json!({"order_id": "o-4"})))
        .await
        .unwrap();
    assert_eq!(read.structured_content.unwrap()["owner"], "erin");

    let refund = json!({"order_id": "o-4", "amount_cents": 40});
    let first = client
        .call_tool(params("refund", refund.clone()))
        .await
        .unwrap();
    assert_eq!(first.is_error, Some(true));
    let id = first.structured_content.unwrap()["approval_id"].clone();
    fx.approvals
        .approve(
            uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap(),
            &UserIdentity::new("bob"),
        )
        .await
        .unwrap();
    let mut approved = params("refund", refund);
    let mut meta = MetaObject::default();
    meta.insert(APPROVAL_META_KEY.to_owned(), id);
    approved.meta = Some(RequestMetaObject(meta));
    let second = client.call_tool(approved.clone()).await.unwrap();
    assert_eq!(second.is_error, Some(false), "{second:?}");
    let third = client.call_tool(approved).await.unwrap();
    assert_eq!(third.is_error, Some(true));
    assert_eq!(fx.bank.refunds(), 1);
    client.cancel().await.unwrap();
}
