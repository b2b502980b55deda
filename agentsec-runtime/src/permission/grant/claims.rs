//! The grant's claims as they are written and read: borrowed when minted,
//! with the registered `nbf` when verified.

use rand::Rng;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use super::{AUDIENCE, GrantClaims, GrantRequest, ISSUER};
use crate::identity::{CallId, RunId};
use crate::tool::{Effect, Scope};

/// Whether `granted` (`kind:resource`) is `effect`, without formatting it.
pub(super) fn names(granted: &str, effect: &Effect) -> bool {
    granted.split_once(':') == Some((effect.kind.as_str(), effect.resource))
}

/// A fresh grant id: 128 random bits from the thread's CSPRNG (ChaCha,
/// seeded from the OS once per thread: no system call per id).
pub(super) fn new_jti_bits() -> u128 {
    rand::thread_rng().r#gen()
}

/// The claims of a grant being minted, borrowed from the request: serializes
/// exactly as [`GrantClaims`] does (same fields, same order).
#[derive(Serialize)]
pub(super) struct ClaimsView<'a> {
    iss: &'static str,
    aud: &'static str,
    sub: &'a str,
    tenant: Option<&'a str>,
    roles: &'a [String],
    agent: &'a str,
    run: RunId,
    call: CallId,
    step: u32,
    tool: &'a str,
    effects: EffectNames<'a>,
    scope: Option<Scope>,
    pub(super) iat: u64,
    pub(super) exp: u64,
    jti: &'a str,
}

impl<'a> ClaimsView<'a> {
    pub(super) fn new(request: &GrantRequest<'a>, iat: u64, exp: u64, jti: &'a str) -> Self {
        Self {
            iss: ISSUER,
            aud: AUDIENCE,
            sub: &request.user.id,
            tenant: request.user.tenant.as_deref(),
            roles: &request.user.roles,
            agent: request.agent,
            run: request.run,
            call: request.call,
            step: request.step,
            tool: request.spec.name,
            effects: EffectNames(request.spec.effects),
            scope: request.spec.scope,
            iat,
            exp,
            jti,
        }
    }
}

/// Effects serialized as `kind:resource` strings, written straight into the
/// output instead of formatted into `String`s first.
struct EffectNames<'a>(&'a [Effect]);

impl Serialize for EffectNames<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for effect in self.0 {
            seq.serialize_element(&format_args!("{effect}"))?;
        }
        seq.end()
    }
}

/// The claims as they arrive: [`GrantClaims`] field for field, plus the
/// registered claim `nbf`, which minted grants do not carry but which is
/// honoured when a signed token has it. (Spelled out rather than
/// `#[serde(flatten)]`, which buffers every value before decoding it.)
#[derive(Deserialize)]
pub(super) struct WireClaims {
    pub(super) iss: String,
    pub(super) aud: String,
    sub: String,
    tenant: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    agent: String,
    run: RunId,
    call: CallId,
    step: u32,
    tool: String,
    effects: Vec<String>,
    scope: Option<Scope>,
    pub(super) iat: u64,
    pub(super) exp: u64,
    jti: String,
    #[serde(default)]
    pub(super) nbf: Option<u64>,
}

impl WireClaims {
    pub(super) fn into_claims(self) -> GrantClaims {
        GrantClaims {
            iss: self.iss,
            aud: self.aud,
            sub: self.sub,
            tenant: self.tenant,
            roles: self.roles,
            agent: self.agent,
            run: self.run,
            call: self.call,
            step: self.step,
            tool: self.tool,
            effects: self.effects,
            scope: self.scope,
            iat: self.iat,
            exp: self.exp,
            jti: self.jti,
        }
    }
}
