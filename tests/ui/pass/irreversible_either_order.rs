//! `#[irreversible]` may be written above or below `#[tool]`, with or
//! without a reason; both mark the spec.
use agentsec::prelude::*;

/// Delete a saved address.
#[irreversible]
#[tool(delete = "addresses", scope = "user")]
async fn delete_address(ctx: &ToolCtx, address_id: String) -> Result<(), ToolError> {
    let _ = (ctx, address_id);
    Ok(())
}

/// Send a message to the user's Slack channel.
#[tool(egress = "slack", idempotent)]
#[irreversible(reason = "a sent message cannot be recalled")]
async fn post_message(text: String) -> Result<(), ToolError> {
    let _ = text;
    Ok(())
}

fn main() {
    assert!(DeleteAddress::SPEC.is_irreversible());
    assert_eq!(DeleteAddress::SPEC.irreversible.unwrap().reason, None);
    assert_eq!(
        PostMessage::SPEC.irreversible.unwrap().reason,
        Some("a sent message cannot be recalled")
    );
    assert!(PostMessage::SPEC.idempotent);
    assert!(PostMessage::SPEC.has_egress());
}
