//! Streamable HTTP: the rmcp service behind the bearer-token check, and the
//! protected-resource metadata beside it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::StreamableHttpServerConfig;
use rmcp::transport::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;

use crate::auth::METADATA_PATH;
use crate::handler::{Identity, Session};
use crate::{HttpAuth, McpServer};

/// The largest request body the HTTP transport accepts by default (1 MiB);
/// a larger one is refused with `413` before it is parsed. On stdio, a
/// longer line is dropped.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

impl McpServer {
    /// The server's Streamable HTTP endpoint at `auth`'s resource path, every
    /// request authenticated by `auth`, and the protected-resource metadata
    /// at `/.well-known/oauth-protected-resource` (and, for a resource with a
    /// path, at that path appended to it, per RFC 9728), unauthenticated.
    ///
    /// Requests are served statelessly (no MCP session is kept between
    /// them: each carries its own token) with JSON responses; bodies over
    /// [`DEFAULT_MAX_BODY_BYTES`] are refused. Only loopback `Host`s are
    /// accepted: a public deployment lists its own with
    /// [`http_router_with`](Self::http_router_with).
    pub fn http_router(&self, auth: HttpAuth) -> Router {
        self.http_router_with(auth, Self::http_config())
    }

    /// The configuration [`http_router`](Self::http_router) uses: stateless,
    /// JSON responses, [`DEFAULT_MAX_BODY_BYTES`]. Start from it to change
    /// the allowed hosts.
    pub fn http_config() -> StreamableHttpServerConfig {
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_max_request_body_bytes(DEFAULT_MAX_BODY_BYTES)
    }

    /// [`http_router`](Self::http_router) with rmcp's transport
    /// configuration (allowed hosts and origins, body limit, sessions).
    pub fn http_router_with(&self, auth: HttpAuth, config: StreamableHttpServerConfig) -> Router {
        let server = self.clone();
        let service = StreamableHttpService::new(
            move || {
                Ok(Session {
                    server: server.clone(),
                    identity: Identity::PerRequest,
                })
            },
            Arc::new(NeverSessionManager::default()),
            config,
        );
        let auth = Arc::new(auth);
        let path = auth.path().to_owned();
        let metadata = {
            let auth = auth.clone();
            move || {
                let document = auth.metadata();
                async move { axum::Json(document) }
            }
        };
        let mut router = Router::new()
            .route_service(&path, service)
            .route_layer(middleware::from_fn_with_state(auth.clone(), authenticate))
            .route(METADATA_PATH, get(metadata.clone()));
        if path != "/" {
            router = router.route(&format!("{METADATA_PATH}{path}"), get(metadata));
        }
        router
    }
}

/// Lets a request through with its verified [`Caller`](crate::Caller), or
/// answers it with the challenge.
async fn authenticate(
    State(auth): State<Arc<HttpAuth>>,
    mut request: Request,
    next: Next,
) -> Response {
    match auth.authenticate(request.headers()) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(challenge) => challenge.into_response(),
    }
}
