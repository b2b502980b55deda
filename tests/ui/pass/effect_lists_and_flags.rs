//! Effects as lists, `untrusted`, `name = ...`, tenant and global scopes.
use agentsec::prelude::*;
use agentsec::{EffectKind, Scope};

/// Look up orders together with the customers who placed them.
#[tool(read = ["orders", "customers"], scope = "tenant", name = "lookup-orders")]
async fn orders_with_customers(ctx: &ToolCtx) -> Result<Vec<String>, ToolError> {
    let _ = ctx;
    Ok(vec![])
}

/// Fetch a web page. The page is external content.
#[tool(read = "web", scope = "global", untrusted)]
async fn fetch_page(url: String) -> Result<String, ToolError> {
    Ok(url)
}

/// A global tool may name a user explicitly: the policy grants it to admins only.
#[tool(read = "users", scope = "global")]
async fn find_user(user_id: String) -> Result<String, ToolError> {
    Ok(user_id)
}

fn main() {
    let spec = OrdersWithCustomers::SPEC;
    assert_eq!(spec.name, "lookup-orders");
    assert_eq!(spec.effects.len(), 2);
    assert!(spec.effects.iter().all(|e| e.kind == EffectKind::Read));
    assert_eq!(spec.scope, Some(Scope::Tenant));
    assert!(FetchPage::SPEC.untrusted);
    assert_eq!(FindUser::SPEC.scope, Some(Scope::Global));
}
