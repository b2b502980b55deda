//! The backend of the web agent: an axum server that authenticates the
//! browser's session JWT, invokes the support agent server-side with its own
//! agent key, and lets support leads list and approve paused calls.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use agentsec::engine::{AgentRuntime, RunOutcome, RunReport, StoreCheckpoints};
use agentsec::hitl::{ApprovalPolicy, Approvals, DecisionSigner, HitlError, PendingApproval};
use agentsec::identity::keys::KeyOptions;
use agentsec::identity::{AgentKeys, Environment, JwtAlgorithm, JwtAuthenticator, MemoryKeyStore};
use agentsec::model::ScriptedModel;
use agentsec::prelude::*;
use agentsec::secrets::MemorySecretStore;
use agentsec::store::{MemoryStore, RunStore};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::shop::{Shop, SupportAgent};

/// Who issues the browser's session tokens (the application's auth layer).
pub const SESSION_ISSUER: &str = "https://auth.shop.example";
/// The audience of session tokens meant for this backend.
pub const SESSION_AUDIENCE: &str = "shop-web";
/// The HS256 secret of the session tokens. An example value: a real
/// deployment loads it from its secret store.
pub const SESSION_SECRET: &[u8] = b"example-only-session-secret-not-for-production!";
/// The role that may approve paused calls.
pub const LEAD_ROLE: &str = "support-lead";

/// What the browser sends to `/api/chat`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The user's message.
    pub message: String,
}

/// A call waiting for approval, as the browser sees it.
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingView {
    /// The approval id (`POST /api/approvals/{id}/approve`).
    pub id: String,
    /// The tool.
    pub tool: String,
    /// The arguments it would run with.
    pub arguments: String,
    /// Why it needs approval.
    pub reason: String,
}

/// The answer of `/api/chat` and of an approval: where the run is.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChatReply {
    /// The run.
    pub run_id: String,
    /// `completed`, `awaiting_approval` or `stopped`.
    pub status: String,
    /// The agent's answer, when completed.
    pub answer: Option<String>,
    /// The calls waiting for approval.
    pub pending: Vec<PendingView>,
}

impl ChatReply {
    fn of(report: &RunReport) -> Self {
        let (status, answer, pending) = match &report.outcome {
            RunOutcome::Completed { answer } => ("completed", Some(answer.clone()), vec![]),
            RunOutcome::AwaitingApproval { pending } => (
                "awaiting_approval",
                None,
                pending
                    .iter()
                    .map(|call| PendingView {
                        id: call.call_id.as_uuid().to_string(),
                        tool: call.tool.clone(),
                        arguments: call.arguments.clone(),
                        reason: match &call.status {
                            agentsec::engine::CallStatus::AwaitingApproval { reason } => {
                                reason.clone()
                            }
                            _ => String::new(),
                        },
                    })
                    .collect(),
            ),
            _ => ("stopped", None, vec![]),
        };
        Self {
            run_id: report.run_id.to_string(),
            status: status.into(),
            answer,
            pending,
        }
    }
}

/// An error answer: a status and a JSON body `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<HitlError> for ApiError {
    fn from(error: HitlError) -> Self {
        let status = match &error {
            HitlError::NotAllowed { .. } => StatusCode::FORBIDDEN,
            HitlError::UnknownApproval(_) | HitlError::UnknownRun(_) => StatusCode::NOT_FOUND,
            HitlError::AlreadyDecided { .. } | HitlError::Busy { .. } => StatusCode::CONFLICT,
            HitlError::Expired { .. } | HitlError::Stale { .. } | HitlError::Finished { .. } => {
                StatusCode::GONE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, error.to_string())
    }
}

/// Everything the backend holds. The agent key lives here and nowhere else.
pub struct Backend {
    runtime: AgentRuntime<SupportAgent>,
    approvals: Approvals,
    sessions: JwtAuthenticator,
    keys: AgentKeys,
    agent_key: SecretString,
    shop: Arc<Shop>,
}

impl Backend {
    // ANCHOR: backend
    /// A backend whose support agent is driven by `model`.
    pub async fn new(model: ScriptedModel) -> Result<Self, Box<dyn std::error::Error>> {
        let store: Arc<dyn RunStore> = Arc::new(MemoryStore::new());
        // Decisions are signed with this key, and verified with it again
        // before an approved call runs.
        let key = random_bytes();
        let checkpoints =
            StoreCheckpoints::new(store).with_approval_key(DecisionSigner::new(key.clone())?);
        let shop = Arc::new(Shop::default());
        let runtime = AgentRuntime::<SupportAgent>::builder()
            .model(model)
            .state_arc(shop.clone())
            .secrets(
                MemorySecretStore::new().with("stripe_api_key", "sk_test_example_only_4242424242"),
            )
            .checkpoints(checkpoints.clone())
            .build()
            .await?;
        let approvals = Approvals::new(&checkpoints, DecisionSigner::new(key)?).with_policy(
            ApprovalPolicy::default()
                .four_eyes()
                .require_role(LEAD_ROLE),
        );
        let sessions = JwtAuthenticator::builder(JwtAlgorithm::Hs256)
            .issuer(SESSION_ISSUER)
            .audience(SESSION_AUDIENCE)
            .tenant_claim("org")
            .hmac_secret(SESSION_SECRET)
            .build()?;
        let keys = AgentKeys::new(
            Arc::new(MemoryKeyStore::new()),
            &random_bytes(),
            Environment::Production,
        )?;
        let issued = keys
            .issue(
                SupportAgent::SPEC.name,
                KeyOptions::new(),
                SystemTime::now(),
            )
            .await?;
        Ok(Self {
            runtime,
            approvals,
            sessions,
            keys,
            agent_key: issued.key,
            shop,
        })
    }
    // ANCHOR_END: backend

    // ANCHOR: session
    /// The user a request's `Authorization: Bearer` session token names.
    fn user(&self, headers: &HeaderMap) -> Result<UserIdentity, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError(
                    StatusCode::UNAUTHORIZED,
                    "a bearer session token is required".into(),
                )
            })?;
        self.sessions
            .authenticate(token)
            .map_err(|e| ApiError(StatusCode::UNAUTHORIZED, format!("invalid session: {e}")))
    }
    // ANCHOR_END: session

    /// The backend proves it may invoke the support agent with its own key.
    async fn invoke_as_agent(&self) -> Result<(), ApiError> {
        let principal = self
            .keys
            .authenticate(self.agent_key.expose_secret(), None, SystemTime::now())
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("agent key: {e}")))?;
        if principal.agent != SupportAgent::SPEC.name {
            return Err(ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the agent key belongs to another agent".into(),
            ));
        }
        Ok(())
    }
}

fn random_bytes() -> Vec<u8> {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

// ANCHOR: chat
async fn chat(
    State(backend): State<Arc<Backend>>,
    headers: HeaderMap,
    Json(request): Json<ChatRequest>,
) -> Result<Json<ChatReply>, ApiError> {
    let user = backend.user(&headers)?;
    backend.invoke_as_agent().await?;
    let report = backend
        .runtime
        .start(user, request.message)
        .await
        .map_err(internal)?;
    Ok(Json(ChatReply::of(&report)))
}
// ANCHOR_END: chat

// ANCHOR: list
async fn list_approvals(
    State(backend): State<Arc<Backend>>,
    headers: HeaderMap,
) -> Result<Json<Vec<PendingApproval>>, ApiError> {
    let user = backend.user(&headers)?;
    let pending = if user.has_role(LEAD_ROLE) {
        // A lead sees every pending call of their tenant.
        backend
            .approvals
            .pending(Some(SupportAgent::SPEC.name), None)
            .await?
            .into_iter()
            .filter(|p| p.tenant == user.tenant)
            .collect()
    } else {
        // Anyone else sees their own runs' calls.
        backend.approvals.pending(None, Some(&user.id)).await?
    };
    Ok(Json(pending))
}
// ANCHOR_END: list

// ANCHOR: approve
async fn approve(
    State(backend): State<Arc<Backend>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ChatReply>, ApiError> {
    let user = backend.user(&headers)?;
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| ApiError(StatusCode::BAD_REQUEST, "not an approval id".into()))?;
    // The backend checks its own key first, so an approval is never
    // recorded for a run it could not then continue.
    backend.invoke_as_agent().await?;
    let record = backend.approvals.approve(id, &user).await?;
    let report = backend
        .approvals
        .resume(&backend.runtime, record.run_id)
        .await?;
    Ok(Json(ChatReply::of(&report)))
}
// ANCHOR_END: approve

/// A running backend.
pub struct WebServer {
    /// The base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    backend: Arc<Backend>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl WebServer {
    /// Starts the backend on 127.0.0.1 on a free port.
    pub async fn start(model: ScriptedModel) -> Result<Self, Box<dyn std::error::Error>> {
        let backend = Arc::new(Backend::new(model).await?);
        // ANCHOR: router
        let router = Router::new()
            .route("/api/chat", post(chat))
            .route("/api/approvals", get(list_approvals))
            .route("/api/approvals/{id}/approve", post(approve))
            .with_state(backend.clone());
        // ANCHOR_END: router
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await
        });
        Ok(Self {
            url,
            backend,
            shutdown,
            task,
        })
    }

    /// The backend's agent key. Server side only: tests use it to check it
    /// never appears in a response.
    pub fn agent_key(&self) -> &SecretString {
        &self.backend.agent_key
    }

    /// The shop, to inspect the refunds.
    pub fn shop(&self) -> &Shop {
        &self.backend.shop
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) -> Result<(), Box<dyn std::error::Error>> {
        let _ = self.shutdown.send(());
        self.task.await??;
        Ok(())
    }
}
