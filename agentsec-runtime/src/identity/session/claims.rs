//! Checks the claims of a session token whose signature has been verified,
//! and reads the user out of them.

use serde_json::{Map, Value};

use super::AuthError;
use crate::identity::UserIdentity;

/// How many roles one token may carry; more is refused rather than copied.
const MAX_ROLES: usize = 256;

/// What [`check_claims`] needs from the authenticator.
pub(super) struct ClaimRules<'a> {
    pub issuers: &'a [String],
    pub audiences: &'a [String],
    pub leeway_secs: u64,
    pub now_secs: u64,
    pub tenant_claim: &'a str,
    pub roles_claim: &'a str,
    pub session_claim: &'a str,
}

/// Checks presence, types and times of the registered claims, then builds
/// the user.
pub(super) fn check_claims(
    claims: &Map<String, Value>,
    rules: &ClaimRules<'_>,
) -> Result<UserIdentity, AuthError> {
    let exp = numeric_date(claims, "exp")?;
    // `nbf` and `iat` are optional (RFC 7519 §4.1.5-6; many providers omit
    // `nbf`), and checked when present.
    let nbf = optional_numeric_date(claims, "nbf")?;
    let iat = optional_numeric_date(claims, "iat")?;
    let iss = required(claims, "iss")?;
    let aud = required(claims, "aud")?;
    let sub = required(claims, "sub")?;

    let iss = iss
        .as_str()
        .ok_or_else(|| invalid("iss", "must be a string"))?;
    if !rules.issuers.iter().any(|i| i == iss) {
        return Err(AuthError::WrongIssuer);
    }
    let audience_ok = match aud {
        Value::String(a) => rules.audiences.contains(a),
        Value::Array(items) => {
            let mut any = false;
            for item in items {
                let a = item
                    .as_str()
                    .ok_or_else(|| invalid("aud", "must be a string or an array of strings"))?;
                any |= rules.audiences.iter().any(|x| x == a);
            }
            any
        }
        _ => return Err(invalid("aud", "must be a string or an array of strings")),
    };
    if !audience_ok {
        return Err(AuthError::WrongAudience);
    }

    // RFC 7519: the token is valid strictly before `exp` and from `nbf` on.
    if rules.now_secs >= exp.saturating_add(rules.leeway_secs) {
        return Err(AuthError::Expired);
    }
    if nbf.is_some_and(|nbf| rules.now_secs.saturating_add(rules.leeway_secs) < nbf) {
        return Err(AuthError::NotYetValid);
    }
    // A token issued in the future was minted by a clock (or a forger) this
    // verifier does not agree with.
    if iat.is_some_and(|iat| rules.now_secs.saturating_add(rules.leeway_secs) < iat) {
        return Err(invalid("iat", "is in the future"));
    }

    let sub = sub
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("sub", "must be a non-empty string"))?;

    let mut user = UserIdentity::new(sub);
    match optional_string(claims, rules.tenant_claim)? {
        // An empty tenant is not "no tenant": a user-scoped grant without a
        // tenant reaches the user's rows in every tenant.
        Some(tenant) if tenant.is_empty() => {
            return Err(invalid(rules.tenant_claim, "is empty"));
        }
        Some(tenant) => user = user.with_tenant(tenant),
        None => {}
    }
    user = user.with_roles(roles(claims, rules.roles_claim)?);
    if let Some(session) = optional_string(claims, rules.session_claim)?.filter(|s| !s.is_empty()) {
        user = user.with_session(session);
    }
    Ok(user)
}

fn required<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a Value, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Err(AuthError::MissingClaim(name.to_owned())),
        Some(value) => Ok(value),
    }
}

fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<u64, AuthError> {
    let value = required(claims, name)?;
    as_numeric_date(value).ok_or_else(|| invalid(name, NUMERIC_DATE))
}

fn optional_numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<u64>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => as_numeric_date(value)
            .map(Some)
            .ok_or_else(|| invalid(name, NUMERIC_DATE)),
    }
}

const NUMERIC_DATE: &str = "must be a NumericDate (seconds since the epoch, at most 2^53)";

/// The largest integer a JSON number carries exactly in every parser
/// (IEEE 754 doubles): larger dates are refused rather than rounded.
pub(crate) const MAX_JSON_INTEGER: u64 = 1 << 53;

/// A NumericDate is a JSON number of seconds; fractions are allowed by the
/// RFC and rounded down. Strings, negatives and non-finite values are not.
fn as_numeric_date(value: &Value) -> Option<u64> {
    let Value::Number(n) = value else {
        return None;
    };
    if let Some(secs) = n.as_u64() {
        return (secs <= MAX_JSON_INTEGER).then_some(secs);
    }
    let secs = n.as_f64()?;
    // `as` saturates; the range check keeps absurd values out.
    (secs.is_finite() && (0.0..=MAX_JSON_INTEGER as f64).contains(&secs)).then_some(secs as u64)
}

fn lookup<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') {
        let mut current: Option<&Value> = None;
        for (i, raw) in name.split('/').skip(1).enumerate() {
            let part = raw.replace("~1", "/").replace("~0", "~");
            current = if i == 0 {
                claims.get(&part)
            } else {
                match current? {
                    Value::Object(map) => map.get(&part),
                    Value::Array(items) => part.parse::<usize>().ok().and_then(|n| items.get(n)),
                    _ => None,
                }
            };
        }
        current
    } else {
        claims.get(name)
    }
}

fn optional_string(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, AuthError> {
    match lookup(claims, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(name, "must be a string")),
    }
}

fn roles(claims: &Map<String, Value>, name: &str) -> Result<Vec<String>, AuthError> {
    let roles: Vec<String> = match lookup(claims, name) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len().min(MAX_ROLES));
            for item in items {
                let role = item
                    .as_str()
                    .ok_or_else(|| invalid(name, "must be an array of strings"))?;
                out.push(role.to_owned());
            }
            out
        }
        Some(_) => return Err(invalid(name, "must be an array of strings")),
    };
    if roles.len() > MAX_ROLES {
        return Err(invalid(name, "holds more than 256 roles"));
    }
    Ok(roles)
}

fn invalid(claim: &str, reason: &str) -> AuthError {
    AuthError::InvalidClaim {
        claim: super::error::shorten(claim),
        reason: reason.to_owned(),
    }
}
