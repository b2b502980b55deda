//! The generated code's own bindings do not collide with the user's: a
//! model-visible argument may be called `ctx` or `args`.
use agentsec::prelude::*;

/// Echo the arguments.
#[tool(pure)]
async fn echo(ctx: String, args: Vec<String>) -> Result<String, ToolError> {
    Ok(format!("{ctx}: {}", args.join(" ")))
}

/// Echo with the context too.
#[tool(pure)]
async fn echo_with_context(context: &ToolCtx, ctx: u32, args: u32) -> Result<u32, ToolError> {
    let _ = context;
    Ok(ctx + args)
}

fn main() {
    let schema = <Echo as Tool>::schema();
    let props = &schema.parameters["properties"];
    assert!(props.get("ctx").is_some() && props.get("args").is_some(), "{props}");
    let schema = <EchoWithContext as Tool>::schema();
    assert!(schema.parameters["properties"].get("ctx").is_some());
}
