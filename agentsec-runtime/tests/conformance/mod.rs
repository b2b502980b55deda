//! The store conformance suite: one async fn per behaviour, run against every
//! `RunStore` implementation (memory, SQLite, PostgreSQL) by the
//! `store_*.rs` test files.
#![allow(dead_code)]

mod approvals;
mod audit;
mod leases;
mod records;

pub use approvals::*;
pub use audit::*;
pub use leases::*;
pub use records::*;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use agentsec_runtime::store::{NewRun, RunRecord, RunStore};

/// Runs raw SQL against the store's real tables (for tampering tests).
pub type Exec = Arc<dyn Fn(&'static str) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Two handles on the same data, as two worker processes would have (the
/// memory store passes one store twice), plus raw SQL for SQL backends.
#[derive(Clone)]
pub struct Stores {
    pub a: Arc<dyn RunStore>,
    pub b: Arc<dyn RunStore>,
    pub exec: Option<Exec>,
}

pub async fn new_run(store: &dyn RunStore, agent: &str, user: &str) -> RunRecord {
    store
        .create_run(&NewRun::new(
            agent,
            user,
            serde_json::json!({"agent": agent, "user": user}),
        ))
        .await
        .expect("create run")
}

/// Generates one `#[tokio::test]` per conformance fn; `$with` builds the
/// stores and runs the body.
#[macro_export]
macro_rules! conformance_tests {
    ($with:ident; single: [$($single:ident),* $(,)?]; pair: [$($pair:ident),* $(,)?]; sql: [$($sql:ident),* $(,)?] $(;)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $single() {
                $with(|stores: conformance::Stores| async move { conformance::$single(&*stores.a).await }).await;
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $pair() {
                $with(|stores: conformance::Stores| async move { conformance::$pair(stores).await }).await;
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $sql() {
                $with(|stores: conformance::Stores| async move {
                    let exec = stores.exec.clone().expect("SQL tests need raw SQL access");
                    conformance::$sql(&*stores.a, exec).await
                })
                .await;
            }
        )*
    };
}
