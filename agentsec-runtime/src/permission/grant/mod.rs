//! Scoped grants: minted per tool call, verified at the point of execution.

mod claims;
mod codec;
mod error;
mod local;
mod replay;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_local;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::identity::{CallId, RunId, UserIdentity};
use crate::tool::{Effect, Scope, ToolSpec};
use claims::{ClaimsView, WireClaims, names, new_jti_bits};
use codec::Hs256;
use replay::{Admission, UsedGrants};

pub use error::GrantError;
pub use local::LocalGrant;
pub use replay::DEFAULT_REPLAY_CAPACITY;

/// The longest a grant may live.
pub const MAX_GRANT_TTL: Duration = Duration::from_secs(60);

const ISSUER: &str = "agentsec";
const AUDIENCE: &str = "agentsec:tool";
const MIN_KEY_BYTES: usize = 32;
/// The longest grant accepted, in bytes: longer input is refused before it
/// is decoded (the same bound as a session token's).
pub const MAX_GRANT_BYTES: usize = 16 * 1024;
/// The clock skew tolerated on a grant's `iat` (grants are minted by the
/// runtime, but possibly by another process on another machine).
const IAT_LEEWAY_SECS: u64 = 5;
/// The largest integer a JSON number carries exactly (2^53).
const MAX_JSON_INTEGER: u64 = 1 << 53;

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
#[derive(Clone)]
pub struct Grant {
    /// The signed JWT.
    pub token: String,
    /// What it grants.
    pub claims: GrantClaims,
}

/// The token is a bearer credential: `Debug` shows the claims, never it.
impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("token", &"[redacted]")
            .field("claims", &self.claims)
            .finish()
    }
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
    codec: Hs256,
    ttl: Duration,
    used: UsedGrants,
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
        Ok(Self {
            codec: Hs256::new(key)?,
            ttl: Duration::from_secs(30),
            used: UsedGrants::default(),
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

    /// Sets how many grant ids the replay ledger remembers at most
    /// (default [`DEFAULT_REPLAY_CAPACITY`]). An id is remembered until its
    /// grant expires; when the ledger is full of live grants the next one is
    /// refused with [`GrantError::LedgerFull`] (fail closed), so memory stays
    /// bounded under any load.
    pub fn with_replay_capacity(mut self, capacity: usize) -> Self {
        self.used = UsedGrants::with_capacity(capacity);
        self
    }

    /// How many grant ids the replay ledger remembers at most.
    pub fn replay_capacity(&self) -> usize {
        self.used.capacity()
    }

    /// How many grant ids the replay ledger remembers now (live grants, and
    /// expired ones not yet forgotten: each admission forgets a few).
    pub fn replay_remembered(&self) -> usize {
        self.used.len()
    }

    /// The bytes the replay ledger's tables have allocated now (an estimate
    /// from their capacities), for a metric or a bench.
    pub fn replay_allocated_bytes(&self) -> usize {
        self.used.allocated_bytes()
    }

    /// Mints a grant for exactly the call described by `request`.
    pub fn mint(&self, request: &GrantRequest<'_>) -> Result<Grant, GrantError> {
        let (now, jti) = (now_secs(), local::jti_hex(new_jti_bits()));
        let view = ClaimsView::new(request, now, self.expiry(now), &jti);
        let token = self.codec.sign(&view)?;
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
            iat: view.iat,
            exp: view.exp,
            jti,
        };
        Ok(Grant { token, claims })
    }

    /// Mints the token of a grant for `request` and its id (`jti`), without
    /// building its claims as owned values. The token is the one
    /// [`GrantAuthority::mint`] would sign.
    #[cfg(test)]
    pub(crate) fn mint_token(
        &self,
        request: &GrantRequest<'_>,
    ) -> Result<(String, String), GrantError> {
        let (now, jti) = (now_secs(), local::jti_hex(new_jti_bits()));
        let token = self
            .codec
            .sign(&ClaimsView::new(request, now, self.expiry(now), &jti))?;
        Ok((token, jti))
    }

    /// Mints the in-process form of a grant for exactly the call described
    /// by `request`: the same claims as [`mint`](Self::mint), bound by a MAC
    /// over their compact binary encoding instead of a signed JWT. What the
    /// call pipeline mints for every call it runs itself.
    ///
    /// ```
    /// use agentsec_runtime::identity::{CallId, RunId, UserIdentity};
    /// use agentsec_runtime::permission::{GrantAuthority, GrantError, GrantExpectation, GrantRequest};
    /// use agentsec_runtime::tool::ToolSpec;
    ///
    /// const SPEC: ToolSpec = ToolSpec::new("add", "Add two integers.");
    /// let authority = GrantAuthority::random();
    /// let user = UserIdentity::new("alice");
    /// let (run, call) = (RunId::new(), CallId::new());
    /// let request = GrantRequest { user: &user, agent: "calc", run, call, step: 1, spec: &SPEC };
    /// let expected = GrantExpectation { spec: &SPEC, run, call };
    ///
    /// let grant = authority.mint_local(&request).unwrap();
    /// let jwt = authority.export_jwt(&grant, &user, "calc").unwrap();
    /// let claims = authority.verify_local(&grant, &expected, &user, "calc").unwrap();
    /// assert_eq!(claims.sub, "alice");
    /// // Accepted once, in whichever form.
    /// assert_eq!(authority.verify_local(&grant, &expected, &user, "calc"), Err(GrantError::Replayed));
    /// assert_eq!(authority.verify(&jwt, &expected), Err(GrantError::Replayed));
    /// ```
    pub fn mint_local(&self, request: &GrantRequest<'_>) -> Result<LocalGrant, GrantError> {
        self.mint_local_at(request, now_secs())
    }

    /// [`mint_local`](Self::mint_local) as if the time were `now` (seconds
    /// since the epoch): for the replay ledger's bench, which simulates
    /// minutes of grant lifetime. Only with the `test-util` feature.
    #[cfg(feature = "test-util")]
    #[doc(hidden)]
    pub fn mint_local_at_time(
        &self,
        request: &GrantRequest<'_>,
        now: u64,
    ) -> Result<LocalGrant, GrantError> {
        self.mint_local_at(request, now)
    }

    /// [`check_local`](Self::check_local) as if the time were `now`. Only
    /// with the `test-util` feature.
    #[cfg(feature = "test-util")]
    #[doc(hidden)]
    pub fn check_local_at_time(
        &self,
        grant: &LocalGrant,
        expected: &GrantExpectation<'_>,
        user: &UserIdentity,
        agent: &str,
        now: u64,
    ) -> Result<(), GrantError> {
        self.check_local_at(grant, expected, user, agent, now)
    }

    fn mint_local_at(
        &self,
        request: &GrantRequest<'_>,
        now: u64,
    ) -> Result<LocalGrant, GrantError> {
        let spec = request.spec;
        let mut grant = LocalGrant {
            run: request.run,
            call: request.call,
            step: request.step,
            tool: spec.name,
            effects: spec.effects,
            scope: spec.scope,
            iat: now,
            exp: self.expiry(now),
            jti: new_jti_bits(),
            tag: [0; 32],
        };
        grant.tag = grant.compute_tag(self.codec.keyed(), request.user, request.agent);
        Ok(grant)
    }

    /// Verifies that `grant` is a grant this authority minted for `user`
    /// and `agent`, still valid, never used before (in this form or its JWT
    /// form), and covering exactly the call in `expected`; marks it used and
    /// returns its claims. The checks are [`verify`](Self::verify)'s; the
    /// MAC, compared in constant time, covers the identity too, so a grant
    /// minted for another user, tenant, role set or agent is refused with
    /// [`GrantError::InvalidSignature`].
    pub fn verify_local(
        &self,
        grant: &LocalGrant,
        expected: &GrantExpectation<'_>,
        user: &UserIdentity,
        agent: &str,
    ) -> Result<GrantClaims, GrantError> {
        self.check_local(grant, expected, user, agent)?;
        Ok(grant.claims(user, agent))
    }

    /// [`verify_local`](Self::verify_local) without building the claims as
    /// owned values: the same checks, and the grant marked used. The call
    /// pipeline's path (a tool's context builds the claims if it asks).
    pub fn check_local(
        &self,
        grant: &LocalGrant,
        expected: &GrantExpectation<'_>,
        user: &UserIdentity,
        agent: &str,
    ) -> Result<(), GrantError> {
        self.check_local_at(grant, expected, user, agent, now_secs())
    }

    fn check_local_at(
        &self,
        grant: &LocalGrant,
        expected: &GrantExpectation<'_>,
        user: &UserIdentity,
        agent: &str,
        now: u64,
    ) -> Result<(), GrantError> {
        if !grant.tag_matches(self.codec.keyed(), user, agent) {
            return Err(GrantError::InvalidSignature);
        }
        if grant.exp <= now {
            return Err(GrantError::Expired);
        }
        if grant.iat > now + IAT_LEEWAY_SECS {
            return Err(GrantError::Malformed(
                "the grant was issued in the future".into(),
            ));
        }
        check_binding(
            expected,
            &Binding {
                iat: grant.iat,
                exp: grant.exp,
                tool: grant.tool,
                run: grant.run,
                call: grant.call,
                scope: grant.scope,
            },
            |effect| grant.effects.contains(effect),
            now,
        )?;
        self.admit(grant.jti, grant.exp, now)
    }

    /// The JWT form of `grant` (minted for `user` and `agent`), for a grant
    /// that leaves the process: another worker, an MCP hop. The MAC is
    /// checked first, so only a genuine grant is turned into a signed token;
    /// the token carries the same id, so the two forms are accepted once in
    /// total. Exporting does not use the grant.
    pub fn export_jwt(
        &self,
        grant: &LocalGrant,
        user: &UserIdentity,
        agent: &str,
    ) -> Result<String, GrantError> {
        if !grant.tag_matches(self.codec.keyed(), user, agent) {
            return Err(GrantError::InvalidSignature);
        }
        self.codec.sign(&grant.claims(user, agent))
    }

    fn admit(&self, jti: u128, exp: u64, now: u64) -> Result<(), GrantError> {
        match self.used.admit_id(jti, exp, now) {
            Admission::Admitted => Ok(()),
            Admission::Replayed => Err(GrantError::Replayed),
            Admission::Full => Err(GrantError::LedgerFull),
        }
    }

    fn expiry(&self, now: u64) -> u64 {
        now + self.ttl.as_secs().max(1)
    }

    /// Signs arbitrary claims. Tests use it to forge grants that are
    /// correctly signed but wrong in one respect; it exists only with the
    /// `test-util` feature, never in an application's build.
    #[cfg(any(test, feature = "test-util"))]
    pub fn sign(&self, claims: GrantClaims) -> Result<Grant, GrantError> {
        let token = self.codec.sign(&claims)?;
        Ok(Grant { token, claims })
    }

    /// Verifies that `token` is a grant this authority minted, still valid,
    /// never used before, and covering exactly the call in `expected`.
    /// Marks the grant used.
    ///
    /// In order: the header must name HS256 ([`GrantError::WrongAlgorithm`]),
    /// the signature must be this authority's; then the claims must parse,
    /// `exp` must not have passed, an `nbf` must have, the issuer and
    /// audience must be agentsec's tool grants, the lifetime at most
    /// [`MAX_GRANT_TTL`], and the tool, run, call, effects and scope those of
    /// `expected`; last, the grant's id must not have been used.
    pub fn verify(
        &self,
        token: &str,
        expected: &GrantExpectation<'_>,
    ) -> Result<GrantClaims, GrantError> {
        self.verify_at(token, expected, now_secs())
    }

    /// [`verify`](Self::verify) as if the time were `now` (seconds since the
    /// epoch): for the fuzz targets, whose committed seeds carry fixed
    /// dates. Only with the `fuzzing` or `test-util` feature.
    #[cfg(any(feature = "fuzzing", feature = "test-util"))]
    #[doc(hidden)]
    pub fn verify_at_time(
        &self,
        token: &str,
        expected: &GrantExpectation<'_>,
        now: u64,
    ) -> Result<GrantClaims, GrantError> {
        self.verify_at(token, expected, now)
    }

    fn verify_at(
        &self,
        token: &str,
        expected: &GrantExpectation<'_>,
        now: u64,
    ) -> Result<GrantClaims, GrantError> {
        if token.is_empty() {
            return Err(GrantError::Missing);
        }
        if token.len() > MAX_GRANT_BYTES {
            return Err(GrantError::Malformed(format!(
                "the grant is {} bytes, more than {MAX_GRANT_BYTES}",
                token.len()
            )));
        }
        let payload = self.codec.verify(token)?;
        let wire: WireClaims = serde_json::from_slice(&payload)
            .map_err(|e| GrantError::Malformed(format!("the claims are not a grant: {e}")))?;
        if [Some(wire.exp), Some(wire.iat), wire.nbf]
            .into_iter()
            .flatten()
            .any(|date| date > MAX_JSON_INTEGER)
        {
            return Err(GrantError::Malformed(
                "a date claim is larger than 2^53".into(),
            ));
        }
        // One expiry rule everywhere (here, in `RlsSession::begin` and in the
        // SQL policies): valid strictly before `exp`.
        if wire.exp <= now {
            return Err(GrantError::Expired);
        }
        if wire.nbf.is_some_and(|nbf| nbf > now) {
            return Err(GrantError::Malformed("the grant is not yet valid".into()));
        }
        if wire.iat > now + IAT_LEEWAY_SECS {
            return Err(GrantError::Malformed(
                "the grant was issued in the future".into(),
            ));
        }
        if wire.iss != ISSUER || wire.aud != AUDIENCE {
            return Err(GrantError::WrongIssuer);
        }
        let claims = wire.into_claims();
        // The lifetime counts from now as well as from `iat`: a grant whose
        // `iat` lies (far in the future, or equal to a far `exp`) still
        // cannot live past 60 seconds from the moment it is checked.
        check_binding(
            expected,
            &Binding {
                iat: claims.iat,
                exp: claims.exp,
                tool: &claims.tool,
                run: claims.run,
                call: claims.call,
                scope: claims.scope,
            },
            |effect| claims.effects.iter().any(|granted| names(granted, effect)),
            now,
        )?;
        match self.used.admit(&claims.jti, claims.exp, now) {
            Admission::Admitted => Ok(claims),
            Admission::Replayed => Err(GrantError::Replayed),
            Admission::Full => Err(GrantError::LedgerFull),
        }
    }
}

/// What a grant, in either form, says it is for and how long it lives.
struct Binding<'a> {
    iat: u64,
    exp: u64,
    tool: &'a str,
    run: RunId,
    call: CallId,
    scope: Option<Scope>,
}

/// The checks both forms make once the grant is known to be genuine and
/// unexpired: its lifetime, and that it is for exactly this tool, run, call,
/// every effect of the tool (`has_effect`) and its scope. One function, so
/// the in-process and JWT forms cannot drift apart.
fn check_binding(
    expected: &GrantExpectation<'_>,
    granted: &Binding<'_>,
    has_effect: impl Fn(&Effect) -> bool,
    now: u64,
) -> Result<(), GrantError> {
    // The lifetime counts from now as well as from `iat`.
    if granted.exp.saturating_sub(granted.iat) > MAX_GRANT_TTL.as_secs()
        || granted.exp.saturating_sub(now) > MAX_GRANT_TTL.as_secs()
    {
        return Err(GrantError::TooLong);
    }
    let spec = expected.spec;
    if granted.tool != spec.name {
        return Err(GrantError::WrongTool {
            granted: granted.tool.to_owned(),
            called: spec.name.to_owned(),
        });
    }
    if granted.run != expected.run {
        return Err(GrantError::WrongRun);
    }
    if granted.call != expected.call {
        return Err(GrantError::WrongCall);
    }
    if let Some(effect) = spec.effects.iter().find(|effect| !has_effect(effect)) {
        return Err(GrantError::EffectNotGranted(effect.to_string()));
    }
    if granted.scope != spec.scope {
        return Err(GrantError::ScopeMismatch);
    }
    Ok(())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
