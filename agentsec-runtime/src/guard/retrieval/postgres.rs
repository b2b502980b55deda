use std::sync::Arc;

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use super::{
    Document, Embedder, NewDocument, RetrievalError, RetrievalQuery, RetrievalScope,
    ScopedRetriever, ScoredDocument, Visibility, cosine, keywords,
};
use crate::BoxFuture;

/// Rows read for embedding scoring at most (cosine is computed in Rust;
/// with pgvector this would move into SQL).
const MAX_EMBEDDING_CANDIDATES: i64 = 10_000;

/// The scope predicate every read uses: `$1` is the user, `$2` the tenant
/// (NULL when the user has none, which matches no row).
const SCOPE_SQL: &str = "(owner_id = $1 OR (tenant_id = $2 AND visibility = 'tenant'))";

/// A PostgreSQL [`ScopedRetriever`]: the scope is a `WHERE` clause of every
/// query, so rows outside it never leave the database.
///
/// Keyword queries use PostgreSQL full-text search (`simple` configuration,
/// any query word matches, ranked by `ts_rank`); embedding queries read the
/// in-scope rows that have an embedding and rank them by cosine similarity.
///
/// The table (created by [`PgRetriever::ensure_schema`]):
///
/// ```sql
/// CREATE TABLE documents (
///     id uuid PRIMARY KEY, owner_id text NOT NULL, tenant_id text,
///     visibility text NOT NULL CHECK (visibility IN ('private', 'tenant')),
///     body text NOT NULL, embedding real[], metadata jsonb NOT NULL DEFAULT 'null',
///     created_at timestamptz NOT NULL DEFAULT now());
/// ```
#[derive(Clone)]
pub struct PgRetriever {
    pool: PgPool,
    table: String,
    embedder: Option<Arc<dyn Embedder>>,
}

impl std::fmt::Debug for PgRetriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRetriever")
            .field("table", &self.table)
            .field("embedder", &self.embedder.is_some())
            .finish_non_exhaustive()
    }
}

/// Whether `name` is `ident` or `schema.ident` with plain identifiers, so it
/// can be spliced into SQL text.
fn valid_table(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 63
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && !p.as_bytes().first().is_some_and(u8::is_ascii_digit)
        })
}

fn backend(e: sqlx::Error) -> RetrievalError {
    RetrievalError::Backend(e.to_string())
}

impl PgRetriever {
    /// A retriever over `table` (lowercase letters, digits and `_`,
    /// optionally `schema.table`).
    pub fn new(pool: PgPool, table: &str) -> Result<Self, RetrievalError> {
        if !valid_table(table) {
            return Err(RetrievalError::InvalidTable(table.to_owned()));
        }
        Ok(Self {
            pool,
            table: table.to_owned(),
            embedder: None,
        })
    }

    /// Embeds documents stored without an embedding (at store time, as the
    /// storing user) and queries given without one.
    pub fn with_embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table and its indexes if they do not exist.
    pub async fn ensure_schema(&self) -> Result<(), RetrievalError> {
        let t = &self.table;
        let index = t.replace('.', "_");
        let statements = [
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (
                    id uuid PRIMARY KEY,
                    owner_id text NOT NULL,
                    tenant_id text,
                    visibility text NOT NULL CHECK (visibility IN ('private', 'tenant')),
                    body text NOT NULL,
                    embedding real[],
                    metadata jsonb NOT NULL DEFAULT 'null',
                    created_at timestamptz NOT NULL DEFAULT now())"
            ),
            format!("CREATE INDEX IF NOT EXISTS {index}_owner ON {t} (owner_id)"),
            format!(
                "CREATE INDEX IF NOT EXISTS {index}_tenant ON {t} (tenant_id) WHERE visibility = 'tenant'"
            ),
        ];
        for sql in statements {
            // The table name was validated in `new`; values are bound.
            sqlx::query(AssertSqlSafe(sql))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn insert(
        &self,
        scope: &RetrievalScope,
        doc: NewDocument,
    ) -> Result<Uuid, RetrievalError> {
        let embedding = match (doc.embedding, &self.embedder) {
            (Some(e), _) => Some(e),
            (None, Some(embedder)) => Some(embedder.embed(&doc.text).await?),
            (None, None) => None,
        };
        let id = Uuid::now_v7();
        let sql = format!(
            "INSERT INTO {} (id, owner_id, tenant_id, visibility, body, embedding, metadata) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.table
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.user_id())
            .bind(scope.tenant_id())
            .bind(doc.visibility.as_str())
            .bind(&doc.text)
            .bind(embedding)
            .bind(&doc.metadata)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(id)
    }

    async fn search(
        &self,
        scope: &RetrievalScope,
        query: &RetrievalQuery,
    ) -> Result<Vec<ScoredDocument>, RetrievalError> {
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let query_embedding = match (&query.embedding, &self.embedder) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(embedder)) => Some(embedder.embed(&query.text).await?),
            (None, None) => None,
        };
        if let Some(q) = query_embedding {
            let sql = format!(
                "SELECT id, owner_id, tenant_id, visibility, body, metadata, embedding FROM {} \
                 WHERE {SCOPE_SQL} AND embedding IS NOT NULL LIMIT $3",
                self.table
            );
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(scope.user_id())
                .bind(scope.tenant_id())
                .bind(MAX_EMBEDDING_CANDIDATES)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            let mut scored = Vec::with_capacity(rows.len());
            for row in &rows {
                let embedding: Vec<f32> = row
                    .try_get("embedding")
                    .map_err(|e| RetrievalError::Malformed(e.to_string()))?;
                let score = cosine(&q, &embedding);
                if score > 0.0 {
                    scored.push(ScoredDocument {
                        document: document(row)?,
                        score,
                    });
                }
            }
            scored.sort_by(|a, b| b.score.total_cmp(&a.score));
            scored.truncate(query.limit);
            return Ok(scored);
        }
        // Any query word may match: `w1 | w2 | ...`. Words are alphanumeric
        // only, so they cannot carry tsquery operators.
        let words: Vec<String> = keywords(&query.text)
            .into_iter()
            .map(|w| {
                w.chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect::<String>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let tsquery = words.join(" | ");
        let sql = format!(
            "SELECT id, owner_id, tenant_id, visibility, body, metadata, \
                    ts_rank(to_tsvector('simple', body), to_tsquery('simple', $3)) AS score \
             FROM {} \
             WHERE {SCOPE_SQL} AND to_tsvector('simple', body) @@ to_tsquery('simple', $3) \
             ORDER BY score DESC, id LIMIT $4",
            self.table
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(scope.user_id())
            .bind(scope.tenant_id())
            .bind(tsquery)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let score: f32 = row
                    .try_get("score")
                    .map_err(|e| RetrievalError::Malformed(e.to_string()))?;
                Ok(ScoredDocument {
                    document: document(row)?,
                    score,
                })
            })
            .collect()
    }
}

fn document(row: &PgRow) -> Result<Document, RetrievalError> {
    let malformed = |e: sqlx::Error| RetrievalError::Malformed(e.to_string());
    let visibility: String = row.try_get("visibility").map_err(malformed)?;
    Ok(Document {
        id: row.try_get("id").map_err(malformed)?,
        owner_id: row.try_get("owner_id").map_err(malformed)?,
        tenant_id: row.try_get("tenant_id").map_err(malformed)?,
        visibility: Visibility::parse(&visibility).ok_or_else(|| {
            RetrievalError::Malformed(format!("unknown visibility `{visibility}`"))
        })?,
        text: row.try_get("body").map_err(malformed)?,
        metadata: row.try_get("metadata").map_err(malformed)?,
    })
}

impl ScopedRetriever for PgRetriever {
    fn store<'a>(
        &'a self,
        scope: &'a RetrievalScope,
        doc: NewDocument,
    ) -> BoxFuture<'a, Result<Uuid, RetrievalError>> {
        Box::pin(self.insert(scope, doc))
    }

    fn retrieve<'a>(
        &'a self,
        scope: &'a RetrievalScope,
        query: &'a RetrievalQuery,
    ) -> BoxFuture<'a, Result<Vec<ScoredDocument>, RetrievalError>> {
        Box::pin(self.search(scope, query))
    }
}
