//! MCP tool definitions from agentsec tool specs: the generated input
//! schema, and annotations derived from the declared effects.
//!
//! | annotation        | derived from                                          |
//! |-------------------|-------------------------------------------------------|
//! | `readOnlyHint`    | no `write`, `delete` or `egress` effect               |
//! | `destructiveHint` | a `delete` effect, or `#[irreversible]`               |
//! | `idempotentHint`  | read-only, or declared `idempotent`                   |
//! | `openWorldHint`   | `untrusted` output, or an `egress` effect             |
//!
//! Annotations are hints for the client; agentsec enforces the declaration
//! itself on every call, whatever a client makes of them.

use std::sync::Arc;

use agentsec_runtime::tool::{EffectKind, ToolSchema, ToolSpec};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};

/// The annotations `spec` declares.
///
/// ```
/// use agentsec_mcp::annotations::annotations;
/// use agentsec_runtime::tool::{Effect, EffectKind, Irreversibility, Scope, ToolSpec};
///
/// const REFUND: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Write, "payments")],
///     pure: false,
///     scope: Some(Scope::User),
///     irreversible: Some(Irreversibility { reason: Some("moves money") }),
///     ..ToolSpec::new("refund", "Refund an order.")
/// };
/// let hints = annotations(&REFUND);
/// assert_eq!(hints.read_only_hint, Some(false));
/// assert_eq!(hints.destructive_hint, Some(true));
/// assert_eq!(hints.idempotent_hint, Some(false));
/// assert_eq!(hints.open_world_hint, Some(false));
///
/// let add = ToolSpec::new("add", "Add two integers.");
/// assert_eq!(annotations(&add).read_only_hint, Some(true));
/// ```
pub fn annotations(spec: &ToolSpec) -> ToolAnnotations {
    let read_only = !spec.changes_state();
    ToolAnnotations::new()
        .read_only(read_only)
        .destructive(!read_only && (spec.has_effect(EffectKind::Delete) || spec.is_irreversible()))
        .idempotent(read_only || spec.idempotent)
        .open_world(spec.untrusted || spec.has_effect(EffectKind::Egress))
}

/// The MCP definition of a tool: its name, description (the doc comment),
/// the strict JSON schema of its arguments and its [`annotations`].
///
/// ```
/// use agentsec_mcp::annotations::mcp_tool;
/// use agentsec_runtime::tool::{ToolSchema, ToolSpec};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Args { a: i64, b: i64 }
/// let spec = ToolSpec::new("add", "Add two integers.");
/// let tool = mcp_tool(&spec, &ToolSchema::for_spec::<Args>(&spec));
/// assert_eq!(tool.name, "add");
/// assert_eq!(tool.input_schema["type"], "object");
/// assert_eq!(tool.input_schema["additionalProperties"], false);
/// ```
pub fn mcp_tool(spec: &ToolSpec, schema: &ToolSchema) -> Tool {
    let input_schema: JsonObject = match &schema.parameters {
        serde_json::Value::Object(object) => object.clone(),
        // The dispatcher refuses tools whose arguments are not an object.
        _ => JsonObject::new(),
    };
    let mut tool = Tool::new(spec.name, spec.description, Arc::new(input_schema));
    tool.annotations = Some(annotations(spec));
    tool
}
