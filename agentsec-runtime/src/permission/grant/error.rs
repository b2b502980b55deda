//! Why a grant was refused.

/// Why a grant was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The call carried no grant.
    #[error("the call carries no grant")]
    Missing,
    /// The grant has expired.
    #[error("the grant has expired")]
    Expired,
    /// The signature does not verify with the runtime's key.
    #[error("the grant's signature is invalid")]
    InvalidSignature,
    /// The token names another algorithm than HS256 (including `none`).
    #[error("the grant uses an algorithm other than HS256")]
    WrongAlgorithm,
    /// The token is not a well-formed grant.
    #[error("the grant is malformed: {0}")]
    Malformed(String),
    /// The grant names another issuer or audience.
    #[error("the grant was not issued by agentsec for tool calls")]
    WrongIssuer,
    /// The grant is for another tool.
    #[error("the grant is for tool `{granted}`, not `{called}`")]
    WrongTool {
        /// The tool the grant names.
        granted: String,
        /// The tool called.
        called: String,
    },
    /// The grant is for another run.
    #[error("the grant is for another run")]
    WrongRun,
    /// The grant is for another call.
    #[error("the grant is for another call")]
    WrongCall,
    /// The grant lacks an effect the tool declares.
    #[error("the grant does not cover effect `{0}`")]
    EffectNotGranted(String),
    /// The grant's scope differs from the tool's.
    #[error("the grant's scope does not match the tool's")]
    ScopeMismatch,
    /// The grant lives longer than allowed.
    #[error("the grant lives longer than 60 seconds")]
    TooLong,
    /// The grant was already used.
    #[error("the grant was already used")]
    Replayed,
    /// The replay ledger is full of live grants (see
    /// [`GrantAuthority::with_replay_capacity`](super::GrantAuthority::with_replay_capacity)):
    /// the grant is refused rather than accepted unchecked.
    #[error("too many live grants to remember another one; try again")]
    LedgerFull,
    /// The key or lifetime given to the authority is unacceptable.
    #[error("invalid grant configuration: {0}")]
    Config(String),
}
