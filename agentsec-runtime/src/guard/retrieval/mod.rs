//! Scoped retrieval for RAG and agent memory.
//!
//! Retrieval that fetches broadly and lets the model (or a post-filter) sort
//! out what the user may see has already leaked: the other users' documents
//! went to the embedding model, the reranker and possibly the LLM provider.
//! Here the user's scope is a *required argument* of every query, built only
//! from the authenticated identity of the run — never from a string the
//! model produced — and every implementation filters in the query itself.

mod memory;
mod postgres;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::BoxFuture;
use crate::identity::UserIdentity;
use crate::tool::ToolCtx;

pub use memory::MemoryRetriever;
pub use postgres::PgRetriever;

/// Whose documents a query may return: the run's user (and tenant).
///
/// There is deliberately no way to build one from a plain string or to
/// deserialize one: it comes from the [`UserIdentity`] the run acts for,
/// which comes from the session, not from the model.
///
/// ```
/// use agentsec_runtime::guard::RetrievalScope;
/// use agentsec_runtime::identity::UserIdentity;
/// let scope = RetrievalScope::for_user(&UserIdentity::new("alice").with_tenant("acme"));
/// assert_eq!(scope.user_id(), "alice");
/// assert_eq!(scope.tenant_id(), Some("acme"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrievalScope {
    user_id: String,
    tenant_id: Option<String>,
}

impl RetrievalScope {
    /// The scope of `user`: their own documents, and documents shared with
    /// their tenant.
    pub fn for_user(user: &UserIdentity) -> Self {
        Self {
            user_id: user.id.clone(),
            tenant_id: user.tenant.clone(),
        }
    }

    /// The scope of the user a tool call acts for.
    pub fn from_ctx(ctx: &ToolCtx) -> Self {
        Self::for_user(ctx.user())
    }

    /// The user's id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The user's tenant, if any.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// Whether a document with this owner, tenant and visibility is in scope.
    pub fn can_read(
        &self,
        owner_id: &str,
        tenant_id: Option<&str>,
        visibility: Visibility,
    ) -> bool {
        owner_id == self.user_id
            || (visibility == Visibility::Tenant
                && tenant_id.is_some()
                && tenant_id == self.tenant_id.as_deref())
    }
}

/// Who besides the owner may retrieve a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Only the owner.
    Private,
    /// Every user of the owner's tenant.
    Tenant,
}

impl Visibility {
    /// The keyword stored in databases.
    pub const fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Tenant => "tenant",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "private" => Some(Visibility::Private),
            "tenant" => Some(Visibility::Tenant),
            _ => None,
        }
    }
}

/// A document to store; its owner and tenant come from the scope it is
/// stored under.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDocument {
    /// The text.
    pub text: String,
    /// Who else may retrieve it.
    pub visibility: Visibility,
    /// A precomputed embedding, if any.
    pub embedding: Option<Vec<f32>>,
    /// Application metadata.
    pub metadata: serde_json::Value,
}

impl NewDocument {
    /// A private document with no embedding or metadata.
    pub fn private(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            visibility: Visibility::Private,
            embedding: None,
            metadata: serde_json::Value::Null,
        }
    }

    /// A document shared with the owner's tenant.
    pub fn tenant(text: impl Into<String>) -> Self {
        Self {
            visibility: Visibility::Tenant,
            ..Self::private(text)
        }
    }

    /// Sets the embedding.
    pub fn with_embedding(mut self, embedding: Vec<f32>) -> Self {
        self.embedding = Some(embedding);
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }
}

/// A stored document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Document {
    /// Its id.
    pub id: Uuid,
    /// The user who stored it.
    pub owner_id: String,
    /// The owner's tenant when it was stored.
    pub tenant_id: Option<String>,
    /// Who else may retrieve it.
    pub visibility: Visibility,
    /// The text.
    pub text: String,
    /// Application metadata.
    pub metadata: serde_json::Value,
}

/// A retrieved document and its relevance (higher is better).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScoredDocument {
    /// The document.
    pub document: Document,
    /// Cosine similarity, or keyword relevance when there are no embeddings.
    pub score: f32,
}

/// What to look for.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrievalQuery {
    /// The query text (may come from the model: it selects *within* the
    /// scope, it never widens it).
    pub text: String,
    /// A precomputed query embedding; otherwise the retriever's embedder is
    /// used, or keyword scoring.
    pub embedding: Option<Vec<f32>>,
    /// At most this many results.
    pub limit: usize,
}

impl RetrievalQuery {
    /// A text query returning at most 5 documents.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            embedding: None,
            limit: 5,
        }
    }

    /// Sets the result limit.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Sets the query embedding.
    pub fn with_embedding(mut self, embedding: Vec<f32>) -> Self {
        self.embedding = Some(embedding);
        self
    }
}

/// Why retrieval failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetrievalError {
    /// The backing store failed.
    #[error("retrieval backend failed: {0}")]
    Backend(String),
    /// The embedding function failed.
    #[error("embedding failed: {0}")]
    Embedding(String),
    /// A table name that is not a plain SQL identifier.
    #[error(
        "invalid table name `{0}`: use letters, digits and underscores, optionally schema-qualified"
    )]
    InvalidTable(String),
    /// A stored row that does not decode.
    #[error("stored document is malformed: {0}")]
    Malformed(String),
}

/// Turns text into a vector. Called with the query and with documents
/// *in the caller's scope* only.
pub trait Embedder: Send + Sync {
    /// The embedding of `text`.
    fn embed<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<Vec<f32>, RetrievalError>>;
}

/// A document store for RAG and memory whose every read and write takes
/// the run's [`RetrievalScope`].
///
/// ```
/// use agentsec_runtime::guard::{MemoryRetriever, NewDocument, RetrievalQuery, RetrievalScope, ScopedRetriever};
/// use agentsec_runtime::identity::UserIdentity;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryRetriever::new();
/// let alice = RetrievalScope::for_user(&UserIdentity::new("alice"));
/// let bob = RetrievalScope::for_user(&UserIdentity::new("bob"));
/// store.store(&bob, NewDocument::private("bob's salary is 90k")).await.unwrap();
/// store.store(&alice, NewDocument::private("alice's salary is 80k")).await.unwrap();
/// let hits = store.retrieve(&alice, &RetrievalQuery::new("salary of bob")).await.unwrap();
/// assert_eq!(hits.len(), 1);
/// assert_eq!(hits[0].document.owner_id, "alice");
/// # });
/// ```
pub trait ScopedRetriever: Send + Sync {
    /// Stores `doc` as owned by the scope's user (in the scope's tenant).
    fn store<'a>(
        &'a self,
        scope: &'a RetrievalScope,
        doc: NewDocument,
    ) -> BoxFuture<'a, Result<Uuid, RetrievalError>>;

    /// The documents in `scope` most relevant to `query`, best first.
    fn retrieve<'a>(
        &'a self,
        scope: &'a RetrievalScope,
        query: &'a RetrievalQuery,
    ) -> BoxFuture<'a, Result<Vec<ScoredDocument>, RetrievalError>>;
}

/// Cosine similarity; 0 for empty or mismatched vectors.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Lowercased words of at least two characters, for keyword scoring.
pub(crate) fn keywords(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect();
    words.sort();
    words.dedup();
    words
}
