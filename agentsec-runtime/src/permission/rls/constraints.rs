use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::permission::GrantClaims;
use crate::tool::Scope;

/// The column every user-scoped table names its owner in.
pub const OWNER_COLUMN: &str = "owner_id";
/// The column every tenant-scoped table names its tenant in.
pub const TENANT_COLUMN: &str = "tenant_id";
/// The longest identifier PostgreSQL keeps (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER_LEN: usize = 63;

/// One SQL operation a grant may allow on a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SqlOperation {
    /// `SELECT` (from `read:<table>`).
    Select,
    /// `INSERT` (from `write:<table>`).
    Insert,
    /// `UPDATE` (from `write:<table>`).
    Update,
    /// `DELETE` (from `delete:<table>`).
    Delete,
}

impl SqlOperation {
    /// The SQL keyword.
    pub const fn as_sql(self) -> &'static str {
        match self {
            SqlOperation::Select => "SELECT",
            SqlOperation::Insert => "INSERT",
            SqlOperation::Update => "UPDATE",
            SqlOperation::Delete => "DELETE",
        }
    }
}

impl fmt::Display for SqlOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_sql())
    }
}

/// Which rows a grant reaches, by the columns the example schema (and the
/// guide's convention) uses: [`OWNER_COLUMN`] and [`TENANT_COLUMN`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowScope {
    /// Rows whose `owner_id` is `user` (and, when the user has a tenant,
    /// whose `tenant_id` is it too).
    Owner {
        /// The user the call acts for.
        user: String,
        /// The user's tenant, if any.
        tenant: Option<String>,
    },
    /// Rows whose `tenant_id` is `tenant`.
    Tenant {
        /// The tenant.
        tenant: String,
    },
    /// Any row: a global-scoped tool, which the policy grants to named roles.
    Any,
    /// No row: a grant without a scope, or a tenant scope for a user
    /// without a tenant. The database policies fail closed the same way.
    Nothing,
}

/// What a grant lets the database do: per table, the operations allowed,
/// and which rows they reach. A view derived from [`GrantClaims`], never
/// stored: the claims stay the single source of truth, and the SQL policies
/// of [`EXAMPLE_RLS_SCHEMA`](super::EXAMPLE_RLS_SCHEMA) apply the same
/// mapping to the `effects` claim.
///
/// The mapping: `read:t` allows `SELECT` on `t`; `write:t` allows `INSERT`
/// and `UPDATE`; `delete:t` allows `DELETE`. `egress` effects name channels,
/// not tables, and allow nothing here. A resource that is not a plain SQL
/// identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes) names no table and
/// allows nothing either.
///
/// ```
/// use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
/// use agentsec_runtime::permission::GrantAuthority;
/// use agentsec_runtime::permission::GrantRequest;
/// use agentsec_runtime::permission::rls::{RowScope, SqlOperation};
/// use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
///
/// const REFUND: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Read, "orders"), Effect::new(EffectKind::Write, "payments")],
///     scope: Some(Scope::User),
///     pure: false,
///     ..ToolSpec::new("refund_order", "Refund an order.")
/// };
/// let user = UserIdentity::new("alice").with_tenant("acme");
/// let grant = GrantAuthority::random()
///     .mint(&GrantRequest { user: &user, agent: "support", run: RunId::new(), call: CallId::new(), step: 1, spec: &REFUND })
///     .unwrap();
/// let constraints = grant.claims.constraints();
/// assert!(constraints.allows("orders", SqlOperation::Select));
/// assert!(!constraints.allows("orders", SqlOperation::Update));
/// assert!(constraints.allows("payments", SqlOperation::Insert));
/// assert!(!constraints.allows("payments", SqlOperation::Delete));
/// assert_eq!(constraints.rows, RowScope::Owner { user: "alice".into(), tenant: Some("acme".into()) });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantConstraints {
    /// Per table, the operations allowed.
    pub tables: BTreeMap<String, BTreeSet<SqlOperation>>,
    /// Which rows they reach.
    pub rows: RowScope,
    /// When the grant expires (seconds since the Unix epoch).
    pub expires_at: u64,
}

impl GrantConstraints {
    /// The constraints `claims` imply.
    pub fn from_claims(claims: &GrantClaims) -> Self {
        let mut tables: BTreeMap<String, BTreeSet<SqlOperation>> = BTreeMap::new();
        for effect in &claims.effects {
            let Some((kind, resource)) = effect.split_once(':') else {
                continue;
            };
            let operations: &[SqlOperation] = match kind {
                "read" => &[SqlOperation::Select],
                "write" => &[SqlOperation::Insert, SqlOperation::Update],
                "delete" => &[SqlOperation::Delete],
                _ => continue,
            };
            if !is_plain_identifier(resource) {
                continue;
            }
            tables
                .entry(resource.to_owned())
                .or_default()
                .extend(operations.iter().copied());
        }
        let rows = match claims.scope {
            Some(Scope::User) => RowScope::Owner {
                user: claims.sub.clone(),
                tenant: claims.tenant.clone(),
            },
            Some(Scope::Tenant) => match &claims.tenant {
                Some(tenant) => RowScope::Tenant {
                    tenant: tenant.clone(),
                },
                None => RowScope::Nothing,
            },
            Some(Scope::Global) => RowScope::Any,
            None => RowScope::Nothing,
        };
        Self {
            tables,
            rows,
            expires_at: claims.exp,
        }
    }

    /// Whether `operation` on `table` is allowed (for some rows).
    pub fn allows(&self, table: &str, operation: SqlOperation) -> bool {
        self.rows != RowScope::Nothing
            && self
                .tables
                .get(table)
                .is_some_and(|ops| ops.contains(&operation))
    }

    /// The operations allowed on `table` (empty when none).
    pub fn operations(&self, table: &str) -> BTreeSet<SqlOperation> {
        if self.rows == RowScope::Nothing {
            return BTreeSet::new();
        }
        self.tables.get(table).cloned().unwrap_or_default()
    }
}

impl GrantClaims {
    /// The table, row and operation constraints these claims imply for the
    /// database (see [`GrantConstraints`]).
    pub fn constraints(&self) -> GrantConstraints {
        GrantConstraints::from_claims(self)
    }
}

/// Whether `name` is a lower-case SQL identifier that needs no quoting:
/// `[a-z_][a-z0-9_]*`, at most 63 bytes.
pub(crate) fn is_plain_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    name.len() <= MAX_IDENTIFIER_LEN
        && (first.is_ascii_lowercase() || first == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{CallId, RunId};

    fn claims(effects: &[&str], scope: Option<Scope>, tenant: Option<&str>) -> GrantClaims {
        GrantClaims {
            iss: "agentsec".into(),
            aud: "agentsec:tool".into(),
            sub: "alice".into(),
            tenant: tenant.map(Into::into),
            roles: vec![],
            agent: "support".into(),
            run: RunId::new(),
            call: CallId::new(),
            step: 1,
            tool: "t".into(),
            effects: effects.iter().map(|e| (*e).to_owned()).collect(),
            scope,
            iat: 100,
            exp: 130,
            jti: "j".into(),
        }
    }

    #[test]
    fn effects_map_to_operations() {
        let c = claims(
            &[
                "read:orders",
                "write:payments",
                "delete:drafts",
                "egress:email",
            ],
            Some(Scope::User),
            None,
        )
        .constraints();
        assert_eq!(
            c.operations("orders"),
            BTreeSet::from([SqlOperation::Select])
        );
        assert_eq!(
            c.operations("payments"),
            BTreeSet::from([SqlOperation::Insert, SqlOperation::Update])
        );
        assert_eq!(
            c.operations("drafts"),
            BTreeSet::from([SqlOperation::Delete])
        );
        assert!(c.operations("email").is_empty(), "egress names no table");
        assert_eq!(c.tables.len(), 3);
        assert_eq!(c.expires_at, 130);
    }

    #[test]
    fn resources_that_are_not_identifiers_name_no_table() {
        let c = claims(
            &[
                "read:Orders",
                "read:orders;drop",
                "read:",
                "read:1orders",
                "read:a\"b",
                "garbage",
            ],
            Some(Scope::User),
            None,
        )
        .constraints();
        assert!(c.tables.is_empty(), "{:?}", c.tables);
        assert!(is_plain_identifier("order_lines2"));
        assert!(!is_plain_identifier(&"a".repeat(64)));
    }

    #[test]
    fn scopes_map_to_rows_and_fail_closed() {
        let user = claims(&["read:orders"], Some(Scope::User), Some("acme")).constraints();
        assert_eq!(
            user.rows,
            RowScope::Owner {
                user: "alice".into(),
                tenant: Some("acme".into())
            }
        );
        let tenant = claims(&["read:orders"], Some(Scope::Tenant), Some("acme")).constraints();
        assert_eq!(
            tenant.rows,
            RowScope::Tenant {
                tenant: "acme".into()
            }
        );
        let global = claims(&["read:orders"], Some(Scope::Global), None).constraints();
        assert_eq!(global.rows, RowScope::Any);

        // A tenant scope without a tenant, or no scope: nothing at all.
        for c in [
            claims(&["read:orders"], Some(Scope::Tenant), None).constraints(),
            claims(&["read:orders"], None, Some("acme")).constraints(),
        ] {
            assert_eq!(c.rows, RowScope::Nothing);
            assert!(!c.allows("orders", SqlOperation::Select));
            assert!(c.operations("orders").is_empty());
        }
    }
}
