use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sqlx::{AssertSqlSafe, PgPool};

use super::constraints::is_plain_identifier;
use super::key::RlsKey;
use super::login::check_login;
use super::scoped::{ScopedTransaction, reset};
use crate::permission::GrantClaims;

/// The setting the full claims are stored in, as PostgREST does.
pub const CLAIMS_SETTING: &str = "request.jwt.claims";
/// The prefix of the per-claim settings (`request.jwt.claim.sub`, ...).
pub const CLAIM_SETTING_PREFIX: &str = "request.jwt.claim.";
/// The role the example schema creates for tools.
pub const DEFAULT_TOOL_ROLE: &str = "agentsec_tool";
/// The setting holding the tag of `request.jwt.claims` under the
/// [`RlsKey`]; the policies ignore claims without a matching tag.
pub const CLAIMS_TAG_SETTING: &str = "agentsec.claims_tag";

/// Why a scoped transaction was not opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RlsError {
    /// The grant has expired (or expires this second): no transaction is
    /// opened for it.
    #[error("the grant expired at {exp} (now {now}); no transaction was opened")]
    Expired {
        /// The grant's expiry (seconds since the Unix epoch).
        exp: u64,
        /// The time of the check.
        now: u64,
    },
    /// The role name is not a plain lower-case SQL identifier.
    #[error("`{0}` is not an acceptable role name: use [a-z_][a-z0-9_]*, at most 63 bytes")]
    InvalidRole(String),
    /// The pool's login could escape row-level security: SQL in the
    /// transaction could switch back to it (`RESET ROLE`) or to a role it
    /// can become.
    #[error(
        "the database login `{login}` {reason}; row-level security would not hold. \
         Connect the tools' pool as a login that is only a member of the tool role \
         (CREATE ROLE app_tools LOGIN NOINHERIT; GRANT agentsec_tool TO app_tools)"
    )]
    UnsafeLogin {
        /// The login (`session_user`).
        login: String,
        /// What it is or can become.
        reason: String,
    },
    /// The pool's login is not a member of the tool role.
    #[error("the database login `{login}` is not a member of `{role}`: GRANT {role} TO {login}")]
    NotAMember {
        /// The login (`session_user`).
        login: String,
        /// The tool role.
        role: String,
    },
    /// After `SET LOCAL ROLE` the database reports another current user.
    #[error("the transaction runs as `{actual}`, not the restricted role `{expected}`")]
    RoleNotAssumed {
        /// The role asked for.
        expected: String,
        /// The role the database reports.
        actual: String,
    },
    /// The claims could not be encoded.
    #[error("the grant's claims could not be encoded: {0}")]
    Encode(String),
    /// The key is unusable.
    #[error("invalid row-level security key: {0}")]
    Key(String),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Opens transactions in which the database enforces one grant's scope with
/// row-level security: the transaction runs as a restricted role, and the
/// grant's claims, tagged with the [`RlsKey`], are transaction-local
/// settings the policies read.
///
/// The role name is checked once, when the session is made: it must be a
/// plain lower-case identifier (`[a-z_][a-z0-9_]*`), so it can be written
/// into `SET LOCAL ROLE` (which takes no bind parameter) without any way to
/// smuggle SQL in.
///
/// [`begin`](Self::begin), on a connection from the pool:
/// - resets it (`DISCARD ALL`) and checks its login: refused
///   ([`RlsError::UnsafeLogin`]) when the login is, or can become, a
///   superuser, a `BYPASSRLS` or `CREATEROLE` role, or the owner of a table
///   under row-level security (or of its schema); refused
///   ([`RlsError::NotAMember`]) when it is not a member of the tool role.
///   So a statement that leaves the tool role (`RESET ROLE`,
///   `set_config('role', ...)`) lands on a role RLS still holds;
/// - sets `request.jwt.claims` (the claims as JSON, plus the derived
///   `tables` map of [`GrantConstraints`](super::GrantConstraints)) and
///   `agentsec.claims_tag`, its tag under the [`RlsKey`]: claims set by any
///   other SQL carry no valid tag and reach nothing. `request.jwt.claim.<name>`
///   holds each top-level claim too, as PostgREST sets them — for reading
///   only: the policies never trust them;
/// - switches to the tool role and checks `current_user`.
///
/// The [`ScopedTransaction`] it returns resets the connection again when it
/// ends, so no state of one call reaches the next.
///
/// ```no_run
/// use agentsec_runtime::permission::GrantClaims;
/// use agentsec_runtime::permission::rls::{RlsKey, RlsSession};
/// # async fn tool_body(pool: &sqlx::PgPool, key: RlsKey, claims: &GrantClaims) -> Result<(), Box<dyn std::error::Error>> {
/// let session = RlsSession::new("agentsec_tool", key)?;
/// let mut tx = session.begin(pool, claims).await?;
/// // No `WHERE owner_id = ...`: the policies add it.
/// let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM orders")
///     .fetch_all(&mut *tx)
///     .await?;
/// tx.commit().await?;
/// # let _ = ids; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RlsSession {
    role: String,
    key: RlsKey,
}

impl RlsSession {
    /// A session switching to `role`, which must be a plain lower-case SQL
    /// identifier, and tagging claims with `key` (the one installed in the
    /// database with [`RlsKey::install`]).
    pub fn new(role: &str, key: RlsKey) -> Result<Self, RlsError> {
        if !is_plain_identifier(role) {
            return Err(RlsError::InvalidRole(crate::escape::echo(role)));
        }
        Ok(Self {
            role: role.to_owned(),
            key,
        })
    }

    /// The restricted role transactions run as.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// Opens a transaction scoped to `claims`. An expired grant is refused
    /// before a connection is even taken from the pool.
    pub async fn begin(
        &self,
        pool: &PgPool,
        claims: &GrantClaims,
    ) -> Result<ScopedTransaction, RlsError> {
        let now = now_secs();
        if claims.exp <= now {
            return Err(RlsError::Expired {
                exp: claims.exp,
                now,
            });
        }
        let (mut names, mut values) = settings(claims)?;
        let tag = self
            .key
            .tag(values.last().map(String::as_str).unwrap_or_default());
        names.push(CLAIMS_TAG_SETTING.to_owned());
        values.push(tag);

        let mut conn = pool.acquire().await?;
        // Whatever used this connection before (a scoped call that failed to
        // end, or unscoped use of the same pool) leaves nothing behind.
        reset(&mut conn).await?;
        check_login(&mut conn, &self.role).await?;
        // From here on, dropping `tx` closes the connection.
        let mut tx = ScopedTransaction::new(conn);
        sqlx::raw_sql("BEGIN").execute(&mut *tx).await?;
        // One round trip for every setting; names and values are bound, never
        // spliced into the SQL.
        sqlx::query(
            "SELECT count(set_config(name, value, true)) \
             FROM unnest($1::text[], $2::text[]) AS s(name, value)",
        )
        .bind(&names)
        .bind(&values)
        .execute(&mut *tx)
        .await?;
        // The role was validated as `[a-z_][a-z0-9_]*` in `new`; quoting it
        // as well keeps it one identifier whatever it is.
        let set_role = format!("SET LOCAL ROLE \"{}\"", self.role);
        sqlx::query(AssertSqlSafe(set_role))
            .execute(&mut *tx)
            .await?;
        let actual: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&mut *tx)
            .await?;
        if actual != self.role {
            return Err(RlsError::RoleNotAssumed {
                expected: self.role.clone(),
                actual,
            });
        }
        Ok(tx)
    }
}

/// The settings for `claims`: the whole claims object (with the derived
/// tables) and one setting per top-level claim.
fn settings(claims: &GrantClaims) -> Result<(Vec<String>, Vec<String>), RlsError> {
    let encode = |e: serde_json::Error| RlsError::Encode(e.to_string());
    let Value::Object(mut object) = serde_json::to_value(claims).map_err(encode)? else {
        return Err(RlsError::Encode("the claims are not a JSON object".into()));
    };
    let mut names = Vec::with_capacity(object.len() + 2);
    let mut values = Vec::with_capacity(object.len() + 2);
    for (name, value) in &object {
        let text = match value {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        names.push(format!("{CLAIM_SETTING_PREFIX}{name}"));
        values.push(text);
    }
    let tables: serde_json::Map<String, Value> = claims
        .constraints()
        .tables
        .into_iter()
        .map(|(table, ops)| {
            let ops = ops.iter().map(|op| Value::from(op.as_sql())).collect();
            (table, Value::Array(ops))
        })
        .collect();
    object.insert("tables".into(), Value::Object(tables));
    names.push(CLAIMS_SETTING.to_owned());
    values.push(Value::Object(object).to_string());
    Ok((names, values))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_must_be_plain_identifiers() {
        for bad in [
            "",
            "Agentsec",
            "agentsec_tool; DROP TABLE orders",
            "agentsec\"tool",
            "postgres--",
            "1tool",
            "tool role",
        ] {
            assert!(
                matches!(
                    RlsSession::new(bad, RlsKey::random()),
                    Err(RlsError::InvalidRole(_))
                ),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(
            RlsSession::new("agentsec_tool", RlsKey::random())
                .unwrap()
                .role(),
            "agentsec_tool"
        );
    }
}
