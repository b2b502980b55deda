use super::JwtAlgorithm;

/// Why a session token was refused, or an authenticator could not be built.
///
/// Messages never contain the token. Values taken from a refused token (an
/// algorithm name, a key id) are shortened before they are put in a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No token was presented.
    #[error("no session token was presented")]
    Missing,
    /// The token is not a well-formed JWT.
    #[error("the session token is malformed: {0}")]
    Malformed(String),
    /// The token is unsigned (`alg: none`).
    #[error("the session token is unsigned (`alg: none`)")]
    Unsigned,
    /// The token names another algorithm than the one configured.
    #[error("the session token uses `{found}`; this application accepts only `{expected}`")]
    AlgorithmNotAllowed {
        /// The configured algorithm.
        expected: JwtAlgorithm,
        /// The algorithm the token names.
        found: String,
    },
    /// The token names no key id and the authenticator has no key without one.
    #[error("the session token names no key id (`kid`) and no default key is configured")]
    MissingKeyId,
    /// The token names a key id the authenticator does not know.
    #[error("the session token names an unknown key `{kid}`")]
    UnknownKey {
        /// The key id the token names.
        kid: String,
    },
    /// The signature does not verify with the selected key.
    #[error("the session token's signature is invalid")]
    InvalidSignature,
    /// The token's `exp` is past.
    #[error("the session token has expired")]
    Expired,
    /// The token's `nbf` is in the future.
    #[error("the session token is not valid yet")]
    NotYetValid,
    /// The token's `iss` is not a configured issuer.
    #[error("the session token was issued by another issuer")]
    WrongIssuer,
    /// The token's `aud` names no configured audience.
    #[error("the session token is meant for another audience")]
    WrongAudience,
    /// A required claim is absent.
    #[error("the session token lacks the required `{0}` claim")]
    MissingClaim(String),
    /// A claim is present but of the wrong type or value.
    #[error("the session token's `{claim}` claim is invalid: {reason}")]
    InvalidClaim {
        /// The claim.
        claim: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The authenticator's configuration is unacceptable.
    #[error("invalid session authentication configuration: {0}")]
    Config(String),
}

/// Cuts an attacker-chosen string to a length that is safe to log.
pub(crate) fn shorten(value: &str) -> String {
    crate::escape::echo(value)
}
