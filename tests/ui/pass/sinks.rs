use agentsec::prelude::*;

/// Send a payment to an IBAN.
#[tool(egress = "payments", untrusted_sink = "ask")]
#[irreversible(reason = "moves money")]
async fn pay(
    /// The recipient's IBAN.
    #[sink]
    iban: String,
    /// A reference the recipient sees.
    #[sink]
    reference: String,
    amount_cents: u64,
) -> Result<(), ToolError> {
    let _ = (iban, reference, amount_cents);
    Ok(())
}

/// Post a chat message.
#[tool(egress = "chat")]
#[irreversible]
async fn post(channel: String, body: String) -> Result<(), ToolError> {
    let _ = (channel, body);
    Ok(())
}

fn main() {
    const { assert!(matches!(Pay::SPEC.sinks.on_untrusted, agentsec::SinkPolicy::Ask)) };
    assert_eq!(Pay::SPEC.sinks.declared, ["iban", "reference"]);
    assert!(Pay::SPEC.is_sink("reference"));
    assert!(Pay::SPEC.is_sink("amount_cents")); // a default sink
    assert!(Post::SPEC.is_sink("channel")); // a default sink, nothing declared
    assert!(!Post::SPEC.is_sink("body"));
    assert_eq!(Post::SPEC.sinks, agentsec::Sinks::DEFAULT);
}
