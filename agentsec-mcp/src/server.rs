//! The server: which tools, under which name, and how one call is handled
//! whatever the transport.

use std::sync::Arc;

use agentsec_runtime::call::CallScope;
use agentsec_runtime::identity::{RunId, UserIdentity};
use agentsec_runtime::tool::{CallContext, Dispatcher, ToolError};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::annotations::mcp_tool;
use crate::{APPROVAL_META_KEY, ApprovalDesk, ToolSource};

/// Builds an [`McpServer`].
pub struct McpServerBuilder {
    source: Arc<dyn ToolSource>,
    name: Option<String>,
    version: String,
    instructions: Option<String>,
    approvals: Option<ApprovalDesk>,
}

impl McpServerBuilder {
    /// The server's name, sent to clients in `initialize` and recorded as
    /// the agent of every call (default: the agent's name when serving an
    /// agent, otherwise `mcp`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The server's version, sent in `initialize` (default: this crate's).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Instructions sent to clients in `initialize`.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Where calls that need a person's approval wait. Without it such calls
    /// are refused: an irreversible tool never runs on `tools/call` alone.
    pub fn approvals(mut self, desk: ApprovalDesk) -> Self {
        self.approvals = Some(desk);
        self
    }

    /// The server.
    pub fn build(self) -> McpServer {
        let dispatcher = self.source.tool_dispatcher();
        let tools = dispatcher
            .schemas()
            .into_iter()
            .filter_map(|schema| {
                dispatcher
                    .spec(schema.name)
                    .map(|spec| mcp_tool(spec, schema))
            })
            .collect();
        let name = self
            .name
            .or_else(|| self.source.agent_name().map(str::to_owned))
            .unwrap_or_else(|| "mcp".to_owned());
        McpServer {
            inner: Arc::new(Inner {
                source: self.source,
                name,
                version: self.version,
                instructions: self.instructions,
                approvals: self.approvals,
                tools,
            }),
        }
    }
}

struct Inner {
    source: Arc<dyn ToolSource>,
    name: String,
    version: String,
    instructions: Option<String>,
    approvals: Option<ApprovalDesk>,
    tools: Vec<Tool>,
}

/// agentsec tools served over MCP: cheap to clone, one per application.
///
/// Serve it on stdio with [`serve_stdio`](Self::serve_stdio) (the caller
/// named by the application) or over Streamable HTTP with
/// [`http_router`](Self::http_router) (the caller from a bearer token).
/// [`call`](Self::call) is the one way a `tools/call` is handled, whatever
/// the transport.
///
/// ```
/// use std::sync::Arc;
/// use agentsec_mcp::McpServer;
/// use agentsec_runtime::identity::UserIdentity;
/// use agentsec_runtime::tool::{Dispatcher, Tool, ToolCtx, ToolError, ToolSpec};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct AddArgs { a: i64, b: i64 }
/// struct Add;
/// impl Tool for Add {
///     const SPEC: ToolSpec = ToolSpec::new("add", "Add two integers.");
///     type Args = AddArgs;
///     type Output = i64;
///     async fn execute(_: &ToolCtx, args: AddArgs) -> Result<i64, ToolError> { Ok(args.a + args.b) }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dispatcher = Dispatcher::builder().tool::<Add>().build().await.unwrap();
/// let server = McpServer::builder(Arc::new(dispatcher)).name("calculator").build();
/// assert_eq!(server.tools()[0].name, "add");
/// let args = serde_json::json!({"a": 2, "b": 3});
/// let result = server.call(&UserIdentity::new("alice"), "add", args.as_object().cloned(), None).await;
/// assert_eq!(result.is_error, Some(false));
/// assert_eq!(result.content[0].as_text().unwrap().text, "5");
/// # });
/// ```
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

impl McpServer {
    /// Starts building a server for the tools of `source` (a
    /// [`Dispatcher`], or an agent's
    /// [`AgentRuntime`](agentsec_runtime::engine::AgentRuntime)).
    pub fn builder<S: ToolSource>(source: Arc<S>) -> McpServerBuilder {
        McpServerBuilder {
            source,
            name: None,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            instructions: None,
            approvals: None,
        }
    }

    /// The server's name (also the agent recorded for its calls).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The server's version.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// The instructions sent in `initialize`.
    pub fn instructions(&self) -> Option<&str> {
        self.inner.instructions.as_deref()
    }

    /// The tools as `tools/list` shows them, sorted by name.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools
    }

    /// The dispatcher every call goes through.
    pub fn dispatcher(&self) -> &Dispatcher {
        self.inner.source.tool_dispatcher()
    }

    /// Where calls waiting for approval are kept, if anywhere.
    pub fn approvals(&self) -> Option<&ApprovalDesk> {
        self.inner.approvals.as_ref()
    }

    /// Handles one `tools/call` of `tool` with `arguments` by `caller`.
    ///
    /// Without `approval`: the call is decided by the pipeline; one that
    /// may run runs through [`Dispatcher::dispatch`]; one that needs a
    /// person is stored as a pending approval and answered with an error
    /// result naming its id (`structuredContent.approval_id`). With
    /// `approval` (the value of [`APPROVAL_META_KEY`] in the request's
    /// `_meta`): the approved call runs, once.
    ///
    /// Refusals and tool errors are error results (`isError: true`) the
    /// client's model can read; nothing here panics on a client's input.
    pub async fn call(
        &self,
        caller: &UserIdentity,
        tool: &str,
        arguments: Option<JsonObject>,
        approval: Option<&Value>,
    ) -> CallToolResult {
        let raw = Value::Object(arguments.unwrap_or_default()).to_string();
        let dispatcher = self.dispatcher();
        if let Some(approval) = approval {
            let Some(desk) = &self.inner.approvals else {
                return refusal("this server keeps no approvals", None);
            };
            let Some(id) = approval.as_str().and_then(|s| Uuid::parse_str(s).ok()) else {
                return refusal(
                    &format!("`{APPROVAL_META_KEY}` must be an approval id (a UUID)"),
                    None,
                );
            };
            return match desk.run_approved(dispatcher, caller, tool, &raw, id).await {
                Ok(result) => tool_result(result),
                Err(reason) => refusal(&reason, Some(json!({ "approval_id": id }))),
            };
        }

        let call = CallContext::new(RunId::new(), 1, self.name(), caller.clone());
        // Decoding and deciding only look; a call that may run goes through
        // `dispatch`, the whole pipeline (which decides again).
        let validated = match dispatcher.decode(tool, &raw) {
            Ok(validated) => validated,
            // `dispatch` refuses it the same way and publishes the refusal.
            Err(_) => return tool_result(dispatcher.dispatch(&call, tool, &raw).await),
        };
        let decision = dispatcher.decide(&CallScope::new(&call), &validated).await;
        if let Some(error) = decision.refusal(tool) {
            return tool_result(Err(error));
        }
        if !decision.needs_approval() && !validated.spec().is_irreversible() {
            return tool_result(dispatcher.dispatch(&call, tool, &raw).await);
        }
        let Some(desk) = &self.inner.approvals else {
            return tool_result(Err(ToolError::ApprovalRequired {
                tool: tool.to_owned(),
                reason: "this server keeps no approvals, so the call cannot be approved".into(),
            }));
        };
        match desk
            .request(&call, tool, validated.canonical(), &decision)
            .await
        {
            Ok(pending) => refusal(
                &format!(
                    "approval required: {}. Pending approval id: {}. The call did not run; once a person approves it, call `{tool}` again with the same arguments and `_meta` {{\"{APPROVAL_META_KEY}\": \"{}\"}}.",
                    pending.reason, pending.approval_id, pending.approval_id
                ),
                Some(json!({
                    "status": "approval_required",
                    "approval_id": pending.approval_id,
                    "reason": pending.reason,
                })),
            ),
            Err(reason) => refusal(&reason, None),
        }
    }
}

/// A tool's result (already protected by the pipeline) as MCP content.
fn tool_result(result: Result<Value, ToolError>) -> CallToolResult {
    match result {
        Ok(Value::String(text)) => CallToolResult::success(vec![ContentBlock::text(text)]),
        Ok(value) => {
            let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
            if value.is_object() {
                result.structured_content = Some(value);
            }
            result
        }
        Err(error) => CallToolResult::error(vec![ContentBlock::text(error.model_message())]),
    }
}

/// An error result with `text`, and `structured` as its structured content.
fn refusal(text: &str, structured: Option<Value>) -> CallToolResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = structured;
    result
}
