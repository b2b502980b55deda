//! The transaction handed to a tool, and the reset of its connection.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, Postgres};

use super::RlsError;

/// A transaction opened by [`RlsSession::begin`](super::RlsSession::begin):
/// use `&mut *tx` as the executor of the tool's queries, then
/// [`commit`](Self::commit) or [`rollback`](Self::rollback).
///
/// Either way the connection is reset with `DISCARD ALL` before it goes
/// back to the pool, so nothing a statement left behind — a temporary table
/// shadowing a real one, a session-level `set_config`, `SET SESSION ROLE`, a
/// prepared statement — reaches the next call on that connection. Dropped
/// without either (an early return, a panic), the connection is closed
/// instead of being returned.
#[derive(Debug)]
pub struct ScopedTransaction {
    conn: Option<PoolConnection<Postgres>>,
}

impl ScopedTransaction {
    pub(super) fn new(conn: PoolConnection<Postgres>) -> Self {
        Self { conn: Some(conn) }
    }

    /// Commits the transaction, then resets the connection.
    pub async fn commit(mut self) -> Result<(), RlsError> {
        self.finish("COMMIT").await
    }

    /// Rolls the transaction back, then resets the connection.
    pub async fn rollback(mut self) -> Result<(), RlsError> {
        self.finish("ROLLBACK").await
    }

    async fn finish(&mut self, end: &'static str) -> Result<(), RlsError> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        let ended = sqlx::raw_sql(end).execute(&mut *conn).await;
        let reset = match ended {
            Ok(_) => reset(&mut conn).await,
            Err(_) => Ok(()),
        };
        match (ended, reset) {
            (Ok(_), Ok(())) => Ok(()),
            (Err(e), _) | (_, Err(e)) => {
                // Whatever state it is in, it does not go back to the pool.
                conn.close_on_drop();
                Err(e.into())
            }
        }
    }
}

/// Resets every session-level state PostgreSQL keeps for a connection, and
/// forgets sqlx's cache of prepared statements, which `DISCARD ALL` drops on
/// the server (closing a statement that no longer exists is not an error).
pub(super) async fn reset(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("DISCARD ALL").execute(&mut *conn).await?;
    conn.clear_cached_statements().await
}

impl Deref for ScopedTransaction {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.conn.as_deref().unwrap_or_else(|| {
            unreachable!("the connection is taken only when the transaction ends")
        })
    }
}

impl DerefMut for ScopedTransaction {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_deref_mut().unwrap_or_else(|| {
            unreachable!("the connection is taken only when the transaction ends")
        })
    }
}

impl Drop for ScopedTransaction {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            conn.close_on_drop();
        }
    }
}
