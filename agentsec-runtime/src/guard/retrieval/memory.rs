use std::sync::{Arc, RwLock};

use uuid::Uuid;

use super::{
    Document, Embedder, NewDocument, RetrievalError, RetrievalQuery, RetrievalScope,
    ScopedRetriever, ScoredDocument, cosine, keywords,
};
use crate::BoxFuture;

struct Stored {
    doc: Document,
    embedding: Option<Vec<f32>>,
}

/// An in-memory [`ScopedRetriever`]: for tests, examples and small
/// single-process deployments.
///
/// Scores by cosine similarity when the query has an embedding (given, or
/// computed by the [`Embedder`] passed to [`MemoryRetriever::with_embedder`]),
/// otherwise by the share of query keywords a document contains. Documents
/// are filtered by scope *before* anything else touches them: the embedder
/// only ever sees the query and in-scope documents.
#[derive(Default)]
pub struct MemoryRetriever {
    docs: RwLock<Vec<Stored>>,
    embedder: Option<Arc<dyn Embedder>>,
}

impl std::fmt::Debug for MemoryRetriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.docs.read().map(|d| d.len()).unwrap_or(0);
        f.debug_struct("MemoryRetriever")
            .field("documents", &len)
            .field("embedder", &self.embedder.is_some())
            .finish()
    }
}

impl MemoryRetriever {
    /// An empty store with keyword scoring.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that embeds queries and documents lacking an
    /// embedding with `embedder` (documents lazily, at query time, and only
    /// those in the querying user's scope).
    pub fn with_embedder(embedder: Arc<dyn Embedder>) -> Self {
        Self {
            docs: RwLock::new(Vec::new()),
            embedder: Some(embedder),
        }
    }

    fn in_scope(&self, scope: &RetrievalScope) -> Vec<(Document, Option<Vec<f32>>)> {
        self.docs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|s| {
                scope.can_read(
                    &s.doc.owner_id,
                    s.doc.tenant_id.as_deref(),
                    s.doc.visibility,
                )
            })
            .map(|s| (s.doc.clone(), s.embedding.clone()))
            .collect()
    }

    fn cache_embedding(&self, id: Uuid, embedding: &[f32]) {
        let mut docs = self.docs.write().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = docs.iter_mut().find(|s| s.doc.id == id) {
            s.embedding = Some(embedding.to_vec());
        }
    }

    async fn retrieve_scoped(
        &self,
        scope: &RetrievalScope,
        query: &RetrievalQuery,
    ) -> Result<Vec<ScoredDocument>, RetrievalError> {
        // The scope filter comes first: nothing below sees other users' rows.
        let candidates = self.in_scope(scope);
        let query_embedding = match (&query.embedding, &self.embedder) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(embedder)) => Some(embedder.embed(&query.text).await?),
            (None, None) => None,
        };
        let query_words = keywords(&query.text);
        let mut scored = Vec::with_capacity(candidates.len());
        for (doc, stored) in candidates {
            let score = match &query_embedding {
                Some(q) => {
                    let embedding = match (stored, &self.embedder) {
                        (Some(e), _) => Some(e),
                        (None, Some(embedder)) => {
                            let e = embedder.embed(&doc.text).await?;
                            self.cache_embedding(doc.id, &e);
                            Some(e)
                        }
                        (None, None) => None,
                    };
                    embedding.map(|e| cosine(q, &e)).unwrap_or(0.0)
                }
                None => keyword_score(&query_words, &doc.text),
            };
            if score > 0.0 {
                scored.push(ScoredDocument {
                    document: doc,
                    score,
                });
            }
        }
        scored.sort_by(|a, b| b.score.total_cmp(&a.score));
        scored.truncate(query.limit);
        Ok(scored)
    }
}

fn keyword_score(query_words: &[String], text: &str) -> f32 {
    if query_words.is_empty() {
        return 0.0;
    }
    let doc_words = keywords(text);
    let matched = query_words
        .iter()
        .filter(|w| doc_words.binary_search(w).is_ok())
        .count();
    matched as f32 / query_words.len() as f32
}

impl ScopedRetriever for MemoryRetriever {
    fn store<'a>(
        &'a self,
        scope: &'a RetrievalScope,
        doc: NewDocument,
    ) -> BoxFuture<'a, Result<Uuid, RetrievalError>> {
        Box::pin(async move {
            let id = Uuid::now_v7();
            let stored = Stored {
                doc: Document {
                    id,
                    owner_id: scope.user_id().to_owned(),
                    tenant_id: scope.tenant_id().map(str::to_owned),
                    visibility: doc.visibility,
                    text: doc.text,
                    metadata: doc.metadata,
                },
                embedding: doc.embedding,
            };
            self.docs
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .push(stored);
            Ok(id)
        })
    }

    fn retrieve<'a>(
        &'a self,
        scope: &'a RetrievalScope,
        query: &'a RetrievalQuery,
    ) -> BoxFuture<'a, Result<Vec<ScoredDocument>, RetrievalError>> {
        Box::pin(self.retrieve_scoped(scope, query))
    }
}
