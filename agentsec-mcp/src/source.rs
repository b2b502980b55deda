//! What an MCP server serves: a dispatcher's tools, or an agent's.

use agentsec_runtime::engine::{Agent, AgentRuntime};
use agentsec_runtime::tool::Dispatcher;

/// A set of agentsec tools an [`McpServer`](crate::McpServer) can serve:
/// a [`Dispatcher`] built for the purpose, or an agent's runtime (its tools
/// with the agent's permissions).
///
/// ```
/// use agentsec_mcp::ToolSource;
/// use agentsec_runtime::tool::Dispatcher;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dispatcher = Dispatcher::builder().build().await.unwrap();
/// assert!(dispatcher.tool_dispatcher().is_empty());
/// assert_eq!(dispatcher.agent_name(), None);
/// # });
/// ```
pub trait ToolSource: Send + Sync + 'static {
    /// The dispatcher whose pipeline every call goes through.
    fn tool_dispatcher(&self) -> &Dispatcher;

    /// The agent the tools belong to, if any: calls are recorded as that
    /// agent's, and its permissions apply.
    fn agent_name(&self) -> Option<&str> {
        None
    }
}

impl ToolSource for Dispatcher {
    fn tool_dispatcher(&self) -> &Dispatcher {
        self
    }
}

impl<A: Agent> ToolSource for AgentRuntime<A> {
    fn tool_dispatcher(&self) -> &Dispatcher {
        self.dispatcher()
    }

    fn agent_name(&self) -> Option<&str> {
        Some(A::SPEC.name)
    }
}
