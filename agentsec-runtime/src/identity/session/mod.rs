//! User identity from the application's own session token.
//!
//! The application signs users in; agentsec only verifies the session JWT
//! its auth layer issued and turns it into a [`UserIdentity`]. The algorithm
//! is pinned by configuration (a token naming another one, `none` included,
//! is refused before its signature is looked at), `exp`, `iss`, `aud` and
//! `sub` are required, `nbf` and `iat` are checked when present (a token
//! issued in the future is refused), and clock skew is tolerated for at most
//! 5 seconds. A header with `crit`, a claim name that appears twice, a
//! NumericDate above 2^53 and an empty tenant are refused.

mod claims;
mod config;
mod error;
pub(crate) mod header;
pub(crate) mod strict;

use std::collections::HashMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};

pub use config::{JwtAlgorithm, JwtAuthenticatorBuilder, MAX_LEEWAY};
pub use error::AuthError;

use crate::identity::UserIdentity;
use claims::{ClaimRules, check_claims};
use error::shorten;
pub(crate) use error::shorten as shorten_for_message;

/// The longest session token accepted, in bytes; longer input is refused
/// before it is decoded.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Verifies session JWTs and turns them into a [`UserIdentity`]
/// (`id` = `sub`, tenant, roles and session from configurable claims).
///
/// ```
/// use agentsec_runtime::identity::{AuthError, JwtAlgorithm, JwtAuthenticator};
/// use jsonwebtoken::{EncodingKey, Header, Algorithm};
///
/// let secret = b"an-hs256-secret-of-at-least-32-bytes!!";
/// let auth = JwtAuthenticator::builder(JwtAlgorithm::Hs256)
///     .issuer("https://auth.example.com")
///     .audience("shop")
///     .tenant_claim("org")
///     .hmac_secret(secret)
///     .build()?;
///
/// let now = jsonwebtoken::get_current_timestamp();
/// let claims = serde_json::json!({
///     "iss": "https://auth.example.com", "aud": "shop", "sub": "alice",
///     "org": "acme", "roles": ["support"], "sid": "s-1",
///     "nbf": now, "exp": now + 600,
/// });
/// let token = jsonwebtoken::encode(
///     &Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret),
/// ).unwrap();
///
/// let alice = auth.authenticate(&token)?;
/// assert_eq!(alice.id, "alice");
/// assert_eq!(alice.tenant.as_deref(), Some("acme"));
/// assert!(alice.has_role("support"));
/// assert_eq!(auth.authenticate("not.a.token"), Err(AuthError::Malformed(
///     "the header is not base64url".into())));
/// # Ok::<(), AuthError>(())
/// ```
pub struct JwtAuthenticator {
    algorithm: JwtAlgorithm,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway_secs: u64,
    tenant_claim: String,
    roles_claim: String,
    session_claim: String,
    default_key: Option<DecodingKey>,
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("algorithm", &self.algorithm)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway_secs", &self.leeway_secs)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .field("default_key", &self.default_key.is_some())
            .finish_non_exhaustive()
    }
}

impl JwtAuthenticator {
    /// Starts configuring an authenticator pinned to `algorithm`.
    pub fn builder(algorithm: JwtAlgorithm) -> JwtAuthenticatorBuilder {
        JwtAuthenticatorBuilder::new(algorithm)
    }

    /// The pinned algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Verifies `token` now and returns the user it names.
    pub fn authenticate(&self, token: &str) -> Result<UserIdentity, AuthError> {
        self.authenticate_at(token, SystemTime::now())
    }

    /// Verifies `token` as of `now` (tests and replays of old decisions).
    pub fn authenticate_at(&self, token: &str, now: SystemTime) -> Result<UserIdentity, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed(format!(
                "the token is longer than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let peeked = header::peek_header(token).map_err(AuthError::Malformed)?;
        if header::is_none_alg(&peeked.alg) {
            return Err(AuthError::Unsigned);
        }
        if let Some(refusal) = peeked.critical_extensions() {
            return Err(AuthError::Malformed(refusal));
        }
        if peeked.alg != self.algorithm.as_str() {
            return Err(AuthError::AlgorithmNotAllowed {
                expected: self.algorithm,
                found: shorten(&peeked.alg),
            });
        }
        let key = match &peeked.kid {
            Some(kid) => self
                .keys
                .get(kid)
                .ok_or_else(|| AuthError::UnknownKey { kid: shorten(kid) })?,
            None => self.default_key.as_ref().ok_or(AuthError::MissingKeyId)?,
        };

        // The library verifies the signature; the payload is then read again
        // by a parser that refuses duplicate names (the library's keeps the
        // last one).
        jsonwebtoken::decode::<serde::de::IgnoredAny>(token, key, &self.validation).map_err(
            |e| match e.kind() {
                // The library reads the registered claims itself (after the
                // signature) and fails on a duplicate `sub` or `exp` with a
                // JSON error: say what the strict reading finds instead.
                ErrorKind::Json(_) => signed_claims(token)
                    .err()
                    .unwrap_or_else(|| self.map_decode_error(e.kind())),
                kind => self.map_decode_error(kind),
            },
        )?;
        let claims = signed_claims(token)?;

        let now_secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        check_claims(
            &claims,
            &ClaimRules {
                issuers: &self.issuers,
                audiences: &self.audiences,
                leeway_secs: self.leeway_secs,
                now_secs,
                tenant_claim: &self.tenant_claim,
                roles_claim: &self.roles_claim,
                session_claim: &self.session_claim,
            },
        )
    }

    fn map_decode_error(&self, kind: &ErrorKind) -> AuthError {
        match kind {
            ErrorKind::InvalidSignature => AuthError::InvalidSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                AuthError::AlgorithmNotAllowed {
                    expected: self.algorithm,
                    found: "another algorithm".into(),
                }
            }
            ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
            ErrorKind::InvalidAudience => AuthError::WrongAudience,
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim.clone()),
            ErrorKind::InvalidClaimFormat(claim) => AuthError::InvalidClaim {
                claim: claim.clone(),
                reason: "has the wrong type".into(),
            },
            // A signature that is not even the right shape for the key
            // (wrong length, bad encoding) is simply not a valid signature.
            ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat => AuthError::InvalidSignature,
            ErrorKind::Base64(_) => AuthError::Malformed("a part is not base64url".into()),
            ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                AuthError::Malformed("the claims are not a JSON object".into())
            }
            _ => AuthError::Malformed("the token could not be decoded".into()),
        }
    }
}

/// The payload of a token whose signature has been verified, read strictly.
fn signed_claims(token: &str) -> Result<serde_json::Map<String, serde_json::Value>, AuthError> {
    use base64::Engine;
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| AuthError::Malformed("a JWT has three dot-separated parts".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AuthError::Malformed("a part is not base64url".into()))?;
    strict::object_without_duplicates(&bytes).map_err(AuthError::Malformed)
}
