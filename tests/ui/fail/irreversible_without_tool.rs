use agentsec::prelude::*;

/// Refund an order.
#[irreversible(reason = "moves money")]
async fn refund(order_id: String) -> Result<(), ToolError> {
    let _ = order_id;
    Ok(())
}

fn main() {}
