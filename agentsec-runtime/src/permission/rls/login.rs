//! What the connected login may become, checked before a scoped
//! transaction is handed out.
//!
//! `SET LOCAL ROLE` can be undone by the transaction itself (`RESET ROLE`,
//! `SET ROLE`, `set_config('role', ...)` inside any statement). The helper
//! does not try to stop that; it makes it pointless: it refuses a login that
//! could become anything row-level security does not hold. Whatever role a
//! statement switches to, it is the login or a role the login is a member
//! of, and none of them may be a superuser, bypass RLS, create roles (and so
//! grant itself more) or own a protected table or its schema.

use sqlx::PgConnection;

use super::RlsError;

/// Checks the login of `conn` against `tool_role` (see the module docs).
pub(super) async fn check_login(conn: &mut PgConnection, tool_role: &str) -> Result<(), RlsError> {
    // `pg_has_role(login, r, 'MEMBER')` is true for the login itself and for
    // every role it can SET ROLE to, directly or through other roles (and
    // for every role at all when the login is a superuser).
    let (login, super_or_bypass, createrole, owned, member): (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
    ) = sqlx::query_as(
        "SELECT session_user::text,
                (SELECT string_agg(r.rolname::text, ', ' ORDER BY r.rolname)
                   FROM pg_catalog.pg_roles r
                  WHERE (r.rolsuper OR r.rolbypassrls)
                    AND pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER')),
                (SELECT string_agg(r.rolname::text, ', ' ORDER BY r.rolname)
                   FROM pg_catalog.pg_roles r
                  WHERE r.rolcreaterole
                    AND pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER')),
                (SELECT string_agg(DISTINCT c.oid::regclass::text, ', ')
                   FROM pg_catalog.pg_class c
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relrowsecurity
                    AND (pg_catalog.pg_has_role(session_user, c.relowner, 'MEMBER')
                         OR pg_catalog.pg_has_role(session_user, n.nspowner, 'MEMBER'))),
                CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)
                     THEN pg_catalog.pg_has_role(session_user, $1::name, 'MEMBER')
                     ELSE false END",
    )
    .bind(tool_role)
    .fetch_one(&mut *conn)
    .await?;

    let refuse = |reason: String| RlsError::UnsafeLogin {
        login: crate::escape::echo(&login),
        reason,
    };
    if let Some(roles) = super_or_bypass {
        return Err(refuse(format!(
            "is, or can become, a superuser or a role with BYPASSRLS ({roles})"
        )));
    }
    if let Some(roles) = createrole {
        return Err(refuse(format!(
            "is, or can become, a role with CREATEROLE ({roles}), which can grant itself more"
        )));
    }
    if let Some(tables) = owned {
        return Err(refuse(format!(
            "owns (or can become the owner of) a table protected by row-level security, or its schema ({tables})"
        )));
    }
    if !member {
        return Err(RlsError::NotAMember {
            login: crate::escape::echo(&login),
            role: tool_role.to_owned(),
        });
    }
    Ok(())
}
