//! A fresh PostgreSQL schema per test: tests that need PostgreSQL (through
//! `DATABASE_URL`) run in a schema of their own, dropped afterwards, so
//! parallel runs do not collide.
#![allow(dead_code)] // each test file uses part of it

use std::future::Future;
use std::str::FromStr;

use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgPool};

/// A schema made for one test, and the connect options that select it.
pub struct Schema {
    admin: PgPool,
    name: String,
    /// Connects with `search_path` set to the schema.
    pub options: PgConnectOptions,
}

/// A new schema, or `None` (the test is skipped) without `DATABASE_URL`.
pub async fn fresh_schema() -> Option<Schema> {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        println!("skipped: DATABASE_URL not set");
        return None;
    };
    let admin = PgPool::connect(&url)
        .await
        .expect("connect to DATABASE_URL");
    // A random, fixed-alphabet name: safe to splice into DDL.
    let name = format!("agentsec_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&admin)
        .await
        .expect("create schema");
    let options = PgConnectOptions::from_str(&url)
        .expect("parse DATABASE_URL")
        .options([("search_path", name.as_str())]);
    Some(Schema {
        admin,
        name,
        options,
    })
}

impl Schema {
    /// Drops the schema and everything in it.
    pub async fn drop(self) {
        sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA {} CASCADE", self.name)))
            .execute(&self.admin)
            .await
            .expect("drop schema");
        self.admin.close().await;
    }
}

/// Runs `body` with the options of a fresh schema and drops the schema
/// afterwards, also when `body` panics (the panic is then re-raised).
/// Without `DATABASE_URL` the test is skipped.
pub async fn in_fresh_schema<F, Fut>(body: F)
where
    F: FnOnce(PgConnectOptions) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(schema) = fresh_schema().await else {
        return;
    };
    let outcome = tokio::spawn(body(schema.options.clone())).await;
    schema.drop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}
