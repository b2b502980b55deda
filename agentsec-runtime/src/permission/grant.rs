use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::identity::{CallId, RunId, UserIdentity};
use crate::tool::{Scope, ToolSpec};

/// The longest a grant may live.
pub const MAX_GRANT_TTL: Duration = Duration::from_secs(60);

const ISSUER: &str = "agentsec";
const AUDIENCE: &str = "agentsec:tool";
const MIN_KEY_BYTES: usize = 32;

/// The claims of a scoped grant: one tool call, for one user, in one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantClaims {
    /// Issuer, always `agentsec`.
    pub iss: String,
    /// Audience, always `agentsec:tool`.
    pub aud: String,
    /// The user the call acts for.
    pub sub: String,
    /// The user's tenant.
    pub tenant: Option<String>,
    /// The user's roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The agent making the call.
    pub agent: String,
    /// The run.
    pub run: RunId,
    /// The call.
    pub call: CallId,
    /// The step of the run the call belongs to.
    pub step: u32,
    /// The tool granted.
    pub tool: String,
    /// The effects granted, as `kind:resource`.
    pub effects: Vec<String>,
    /// The scope granted.
    pub scope: Option<Scope>,
    /// Issued at (seconds since the Unix epoch).
    pub iat: u64,
    /// Expires at (seconds since the Unix epoch).
    pub exp: u64,
    /// The grant's unique id; a grant is accepted once.
    pub jti: String,
}

/// A minted grant: the signed token and its claims.
#[derive(Clone, Debug)]
pub struct Grant {
    /// The signed JWT.
    pub token: String,
    /// What it grants.
    pub claims: GrantClaims,
}

/// What to mint a grant for.
#[derive(Clone, Copy, Debug)]
pub struct GrantRequest<'a> {
    /// The user the call acts for.
    pub user: &'a UserIdentity,
    /// The agent making the call.
    pub agent: &'a str,
    /// The run.
    pub run: RunId,
    /// The call.
    pub call: CallId,
    /// The step.
    pub step: u32,
    /// The tool to call.
    pub spec: &'a ToolSpec,
}

/// What a grant must cover for a call to run.
#[derive(Clone, Copy, Debug)]
pub struct GrantExpectation<'a> {
    /// The tool about to run.
    pub spec: &'a ToolSpec,
    /// The run the call belongs to.
    pub run: RunId,
    /// The call.
    pub call: CallId,
}

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
    /// The key or lifetime given to the authority is unacceptable.
    #[error("invalid grant configuration: {0}")]
    Config(String),
}

/// Mints and verifies scoped grants with one HS256 key.
///
/// ```
/// use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
/// use agentsec_runtime::permission::{GrantAuthority, GrantExpectation, GrantRequest};
/// use agentsec_runtime::tool::{Effect, EffectKind, Scope, ToolSpec};
///
/// const SPEC: ToolSpec = ToolSpec {
///     effects: &[Effect::new(EffectKind::Read, "orders")],
///     scope: Some(Scope::User),
///     pure: false,
///     ..ToolSpec::new("list_orders", "List orders.")
/// };
/// let authority = GrantAuthority::random();
/// let user = UserIdentity::new("alice");
/// let (run, call) = (RunId::new(), CallId::new());
/// let grant = authority
///     .mint(&GrantRequest { user: &user, agent: "support", run, call, step: 1, spec: &SPEC })
///     .unwrap();
/// let claims = authority
///     .verify(&grant.token, &GrantExpectation { spec: &SPEC, run, call })
///     .unwrap();
/// assert_eq!(claims.sub, "alice");
/// // A grant is accepted once.
/// assert!(authority.verify(&grant.token, &GrantExpectation { spec: &SPEC, run, call }).is_err());
/// ```
pub struct GrantAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    validation: Validation,
    used: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for GrantAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantAuthority")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl GrantAuthority {
    /// An authority signing with `key`, which must be at least 32 bytes.
    pub fn new(key: &[u8]) -> Result<Self, GrantError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(GrantError::Config(format!(
                "the grant key is {} bytes; it must be at least {MIN_KEY_BYTES}",
                key.len()
            )));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub", "jti"]);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        Ok(Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            ttl: Duration::from_secs(30),
            validation,
            used: Mutex::new(HashMap::new()),
        })
    }

    /// An authority with a fresh random key, for one process.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self::new(&key).expect("32 bytes is a valid key")
    }

    /// Sets how long minted grants live (at most [`MAX_GRANT_TTL`]; default 30 s).
    pub fn with_ttl(mut self, ttl: Duration) -> Result<Self, GrantError> {
        if ttl.is_zero() || ttl > MAX_GRANT_TTL {
            return Err(GrantError::Config(format!(
                "grant lifetime {ttl:?} is outside 1 s..=60 s"
            )));
        }
        self.ttl = ttl;
        Ok(self)
    }

    /// Mints a grant for exactly the call described by `request`.
    pub fn mint(&self, request: &GrantRequest<'_>) -> Result<Grant, GrantError> {
        let now = now_secs();
        let claims = GrantClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: request.user.id.clone(),
            tenant: request.user.tenant.clone(),
            roles: request.user.roles.clone(),
            agent: request.agent.to_owned(),
            run: request.run,
            call: request.call,
            step: request.step,
            tool: request.spec.name.to_owned(),
            effects: request.spec.effects.iter().map(|e| e.to_string()).collect(),
            scope: request.spec.scope,
            iat: now,
            exp: now + self.ttl.as_secs().max(1),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        self.sign(claims)
    }

    /// Signs arbitrary claims. Tests use it to forge grants that are
    /// correctly signed but wrong in one respect.
    pub fn sign(&self, claims: GrantClaims) -> Result<Grant, GrantError> {
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| GrantError::Config(e.to_string()))?;
        Ok(Grant { token, claims })
    }

    /// Verifies that `token` is a grant this authority minted, still valid,
    /// never used before, and covering exactly the call in `expected`.
    /// Marks the grant used.
    pub fn verify(
        &self,
        token: &str,
        expected: &GrantExpectation<'_>,
    ) -> Result<GrantClaims, GrantError> {
        if token.is_empty() {
            return Err(GrantError::Missing);
        }
        // Read the header first so `alg: none` (which the decoder only
        // reports as bad JSON) and other algorithms get their own error.
        let header =
            crate::identity::session::header::peek_header(token).map_err(GrantError::Malformed)?;
        if header.alg != "HS256" {
            return Err(GrantError::WrongAlgorithm);
        }
        let claims = jsonwebtoken::decode::<GrantClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| map_jwt_error(e.kind()))?
            .claims;
        if claims.exp.saturating_sub(claims.iat) > MAX_GRANT_TTL.as_secs() {
            return Err(GrantError::TooLong);
        }
        let spec = expected.spec;
        if claims.tool != spec.name {
            return Err(GrantError::WrongTool {
                granted: claims.tool,
                called: spec.name.to_owned(),
            });
        }
        if claims.run != expected.run {
            return Err(GrantError::WrongRun);
        }
        if claims.call != expected.call {
            return Err(GrantError::WrongCall);
        }
        for effect in spec.effects {
            let effect = effect.to_string();
            if !claims.effects.contains(&effect) {
                return Err(GrantError::EffectNotGranted(effect));
            }
        }
        if claims.scope != spec.scope {
            return Err(GrantError::ScopeMismatch);
        }
        self.mark_used(&claims)?;
        Ok(claims)
    }

    fn mark_used(&self, claims: &GrantClaims) -> Result<(), GrantError> {
        let now = now_secs();
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        // Expired grants are refused by their `exp`, so their ids can go.
        used.retain(|_, exp| *exp >= now);
        if used.insert(claims.jti.clone(), claims.exp).is_some() {
            return Err(GrantError::Replayed);
        }
        Ok(())
    }
}

fn map_jwt_error(kind: &ErrorKind) -> GrantError {
    match kind {
        ErrorKind::ExpiredSignature => GrantError::Expired,
        ErrorKind::InvalidSignature => GrantError::InvalidSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => GrantError::WrongAlgorithm,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => GrantError::WrongIssuer,
        ErrorKind::ImmatureSignature => GrantError::Malformed("the grant is not yet valid".into()),
        ErrorKind::MissingRequiredClaim(claim) => {
            GrantError::Malformed(format!("the grant lacks the `{claim}` claim"))
        }
        other => GrantError::Malformed(format!("{other:?}")),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
