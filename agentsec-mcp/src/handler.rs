//! The rmcp server handler: `initialize`, `tools/list` and `tools/call`,
//! with the caller fixed (stdio) or taken from the HTTP request.

use std::borrow::Cow;

use agentsec_runtime::identity::UserIdentity;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::{APPROVAL_META_KEY, Caller, McpServer};

/// Who the calls of one MCP session come from.
#[derive(Clone)]
pub(crate) enum Identity {
    /// Named by the application when it started serving (stdio).
    Fixed(UserIdentity),
    /// The [`Caller`] the HTTP layer verified for each request.
    PerRequest,
}

/// One MCP session of an [`McpServer`].
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) server: McpServer,
    pub(crate) identity: Identity,
}

impl Session {
    fn caller(&self, context: &RequestContext<RoleServer>) -> Result<UserIdentity, ErrorData> {
        match &self.identity {
            Identity::Fixed(user) => Ok(user.clone()),
            Identity::PerRequest => context
                .extensions
                .get::<axum::http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Caller>())
                .map(|caller| caller.user().clone())
                // The HTTP layer refuses unauthenticated requests before they
                // get here; a request without a caller is never served.
                .ok_or_else(|| {
                    ErrorData::invalid_request("the request is not authenticated", None)
                }),
        }
    }
}

/// The protocol revisions served: [`crate::PROTOCOL_VERSION`] and the older
/// ones rmcp knows.
fn supported() -> &'static [ProtocolVersion] {
    ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25)
}

impl ServerHandler for Session {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                self.server.name(),
                self.server.version(),
            ))
            .with_protocol_version(ProtocolVersion::V_2025_11_25);
        if let Some(instructions) = self.server.instructions() {
            config = config.with_instructions(instructions);
        }
        config
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(supported())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.caller(&context)?;
        Ok(ListToolsResult::with_all_items(
            self.server.tools().to_vec(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = self.caller(&context)?;
        // rmcp hands the request's `_meta` over in the context (and may
        // leave it in the parameters too).
        let approval = context
            .meta
            .get(APPROVAL_META_KEY)
            .or_else(|| {
                request
                    .meta
                    .as_ref()
                    .and_then(|meta| meta.get(APPROVAL_META_KEY))
            })
            .cloned();
        let result = self
            .server
            .call(&caller, &request.name, request.arguments, approval.as_ref())
            .await;
        Ok(result.into())
    }
}
