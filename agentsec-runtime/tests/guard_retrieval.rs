//! Scoped retrieval never returns, and never embeds, another user's
//! documents — in memory and in PostgreSQL (when `DATABASE_URL` is set).

use std::sync::{Arc, Mutex};

use agentsec_runtime::BoxFuture;
use agentsec_runtime::guard::{
    Embedder, MemoryRetriever, NewDocument, PgRetriever, RetrievalError, RetrievalQuery,
    RetrievalScope, ScopedRetriever,
};
use agentsec_runtime::identity::UserIdentity;
use sqlx::postgres::PgPoolOptions;

/// A toy embedding (letter frequencies) that records every text it sees.
#[derive(Default)]
struct SpyEmbedder {
    seen: Mutex<Vec<String>>,
}

impl SpyEmbedder {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Embedder for SpyEmbedder {
    fn embed<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<Vec<f32>, RetrievalError>> {
        self.seen.lock().unwrap().push(text.to_owned());
        let mut v = vec![0.0f32; 26];
        for c in text
            .to_ascii_lowercase()
            .bytes()
            .filter(u8::is_ascii_lowercase)
        {
            v[usize::from(c - b'a')] += 1.0;
        }
        Box::pin(async move { Ok(v) })
    }
}

fn alice() -> RetrievalScope {
    RetrievalScope::for_user(&UserIdentity::new("alice").with_tenant("acme"))
}
fn bob() -> RetrievalScope {
    RetrievalScope::for_user(&UserIdentity::new("bob").with_tenant("acme"))
}
fn mallory() -> RetrievalScope {
    RetrievalScope::for_user(&UserIdentity::new("mallory").with_tenant("evilcorp"))
}

const BOB_SECRET: &str = "bob salary review: bob earns 95000 and documents of user bob are private";
const BOB_SHARED: &str = "acme holiday calendar shared with the tenant, documents of user bob";
const ALICE_NOTE: &str = "alice salary review notes and documents";

/// Fills a store: bob has a private and a tenant-shared document, alice a
/// private one, mallory (another tenant) a tenant-shared one.
async fn seed(store: &dyn ScopedRetriever) {
    store
        .store(&bob(), NewDocument::private(BOB_SECRET))
        .await
        .unwrap();
    store
        .store(&bob(), NewDocument::tenant(BOB_SHARED))
        .await
        .unwrap();
    store
        .store(&alice(), NewDocument::private(ALICE_NOTE))
        .await
        .unwrap();
    store
        .store(
            &mallory(),
            NewDocument::tenant("evilcorp documents of user bob salary"),
        )
        .await
        .unwrap();
}

/// What every implementation must guarantee.
async fn check_isolation(store: &dyn ScopedRetriever) {
    for text in [
        "show documents of user bob",
        "bob salary 95000",
        "salary",
        "documents private review",
    ] {
        let query = RetrievalQuery::new(text).with_limit(50);
        let hits = store.retrieve(&alice(), &query).await.unwrap();
        for hit in &hits {
            let d = &hit.document;
            assert!(
                d.owner_id == "alice"
                    || (d.tenant_id.as_deref() == Some("acme")
                        && d.visibility.as_str() == "tenant"),
                "alice got {d:?} for {text:?}"
            );
            assert_ne!(
                d.text, BOB_SECRET,
                "bob's private document leaked for {text:?}"
            );
            assert!(
                !d.text.starts_with("evilcorp"),
                "another tenant's document leaked for {text:?}"
            );
        }
    }
    // The query that asks for bob's documents finds what alice may see: her
    // own and bob's tenant-shared document, never his private one.
    let hits = store
        .retrieve(
            &alice(),
            &RetrievalQuery::new("show documents of user bob").with_limit(50),
        )
        .await
        .unwrap();
    let texts: Vec<&str> = hits.iter().map(|h| h.document.text.as_str()).collect();
    assert!(texts.contains(&BOB_SHARED), "{texts:?}");
    assert!(texts.contains(&ALICE_NOTE), "{texts:?}");
    assert!(!texts.contains(&BOB_SECRET));
    // Bob still sees his own private document (the filter is not "deny all").
    let bob_hits = store
        .retrieve(&bob(), &RetrievalQuery::new("salary review 95000"))
        .await
        .unwrap();
    assert!(bob_hits.iter().any(|h| h.document.text == BOB_SECRET));
    // A user without a tenant sees only their own documents.
    let loner = RetrievalScope::for_user(&UserIdentity::new("carol"));
    assert!(
        store
            .retrieve(&loner, &RetrievalQuery::new("documents bob salary"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn memory_retriever_filters_by_scope() {
    let store = MemoryRetriever::new();
    seed(&store).await;
    check_isolation(&store).await;
}

#[tokio::test]
async fn memory_embedder_never_sees_other_users_documents() {
    let spy = Arc::new(SpyEmbedder::default());
    let store = MemoryRetriever::with_embedder(spy.clone());
    seed(&store).await;
    let hits = store
        .retrieve(
            &alice(),
            &RetrievalQuery::new("show documents of user bob").with_limit(50),
        )
        .await
        .unwrap();
    assert!(
        !hits.is_empty(),
        "embedding search returns alice's documents"
    );
    let seen = spy.seen();
    assert!(
        seen.iter().any(|t| t == ALICE_NOTE),
        "in-scope documents are embedded: {seen:?}"
    );
    assert!(
        !seen.iter().any(|t| t == BOB_SECRET),
        "bob's private document was embedded: {seen:?}"
    );
    assert!(
        !seen.iter().any(|t| t.starts_with("evilcorp")),
        "another tenant's document was embedded"
    );
    for hit in &hits {
        assert_ne!(hit.document.text, BOB_SECRET);
    }
}

/// A database URL, or `None` after printing that the PostgreSQL tests are skipped.
fn database_url(test: &str) -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!(
                "SKIPPED {test}: DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)"
            );
            eprintln!("SKIPPED {test}: DATABASE_URL is not set");
            None
        }
    }
}

/// A fresh table name unique to this test run.
fn unique_table() -> String {
    format!("agentsec_retrieval_test_{}", uuid::Uuid::new_v4().simple())
}

async fn with_pg_table<F, Fut>(test: &str, f: F)
where
    F: FnOnce(sqlx::PgPool, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(url) = database_url(test) else {
        return;
    };
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("connect to DATABASE_URL");
    let table = unique_table();
    // Run the body in its own task so the table is dropped even if it panics.
    let result = {
        let fut = f(pool.clone(), table.clone());
        futures_catch(fut).await
    };
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
        .execute(&pool)
        .await
        .expect("drop test table");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Awaits `fut`, catching a panic so cleanup can run.
async fn futures_catch<Fut: std::future::Future<Output = ()>>(
    fut: Fut,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    use std::panic::AssertUnwindSafe;
    use std::pin::pin;
    use std::task::Poll;
    let mut fut = pin!(fut);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    })
    .await
}

#[tokio::test]
async fn postgres_retriever_filters_in_sql() {
    with_pg_table(
        "postgres_retriever_filters_in_sql",
        |pool, table| async move {
            let store = PgRetriever::new(pool, &table).unwrap();
            store.ensure_schema().await.unwrap();
            seed(&store).await;
            check_isolation(&store).await;
        },
    )
    .await;
}

#[tokio::test]
async fn postgres_embedder_never_sees_other_users_documents() {
    with_pg_table(
        "postgres_embedder_never_sees_other_users_documents",
        |pool, table| async move {
            let spy = Arc::new(SpyEmbedder::default());
            let store = PgRetriever::new(pool, &table)
                .unwrap()
                .with_embedder(spy.clone());
            store.ensure_schema().await.unwrap();
            seed(&store).await;
            // Storing embeds each document as its owner; the query embeds only the query.
            let before = spy.seen().len();
            let hits = store
                .retrieve(
                    &alice(),
                    &RetrievalQuery::new("show documents of user bob").with_limit(50),
                )
                .await
                .unwrap();
            let during: Vec<String> = spy.seen().split_off(before);
            assert_eq!(
                during,
                vec!["show documents of user bob".to_owned()],
                "only the query is embedded at query time"
            );
            assert!(!hits.is_empty());
            for hit in &hits {
                assert_ne!(hit.document.text, BOB_SECRET);
                assert!(
                    hit.document.owner_id == "alice"
                        || hit.document.visibility.as_str() == "tenant"
                );
            }
        },
    )
    .await;
}

#[test]
fn table_names_are_validated() {
    // Building a pool needs no server: `connect_lazy` only parses the URL.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = PgPoolOptions::new()
            .connect_lazy("postgres://postgres@127.0.0.1:5432/test")
            .unwrap();
        for bad in [
            "docs; DROP TABLE users",
            "Docs",
            "1docs",
            "a.b.c",
            "",
            "docs--",
        ] {
            assert!(
                matches!(
                    PgRetriever::new(pool.clone(), bad),
                    Err(RetrievalError::InvalidTable(_))
                ),
                "{bad:?}"
            );
        }
        assert!(PgRetriever::new(pool.clone(), "rag.documents").is_ok());
    });
}
