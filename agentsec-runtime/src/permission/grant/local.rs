//! The in-process form of a grant: the claims as plain values and an
//! HMAC-SHA256 tag over their compact binary encoding.
//!
//! A grant that never leaves the process has no reason to be JSON in base64:
//! the pipeline mints one per call and verifies it microseconds later in the
//! same address space. [`LocalGrant`] carries the same claims as the JWT
//! form, bound by a MAC under the same key (but a different domain, so one
//! form's tag is never the other's), and is verified in constant time. The
//! identity it acts for (user, tenant, roles, agent) is not stored in it: it
//! is part of the MAC input, and the verifier supplies the identity of the
//! call it is checking, so a grant minted for another identity fails the MAC.
//! Single use is the same ledger as the JWT form's, keyed by the same id:
//! a grant exported to its JWT form ([`GrantAuthority::export_jwt`]) and
//! also presented locally is accepted once in total.
//!
//! [`GrantAuthority::export_jwt`]: super::GrantAuthority::export_jwt

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{AUDIENCE, GrantClaims, ISSUER};
use crate::identity::{CallId, RunId, UserIdentity};
use crate::tool::{Effect, EffectKind, Scope};

/// The first bytes of every MAC input: the format and its version, so the
/// tag of a local grant can never be confused with another use of the key
/// (a JWT's signature covers `base64url(header).…`, which cannot start with
/// this prefix's NUL byte).
const DOMAIN: &[u8] = b"\0ag.lg1";

/// A grant in its in-process form, as [`GrantAuthority::mint_local`]
/// returns it: what it grants, and a MAC over the compact binary encoding
/// of its claims and the identity it was minted for.
///
/// It has no public constructor, is neither `Clone` nor serializable, and
/// its `Debug` shows no tag: it is a capability for one call in this
/// process. [`GrantAuthority::verify_local`] accepts it once; to send it to
/// another process, [`GrantAuthority::export_jwt`] turns it into the signed
/// JWT form (the same id: whichever form is presented first is the one
/// accepted).
///
/// [`GrantAuthority::mint_local`]: super::GrantAuthority::mint_local
/// [`GrantAuthority::verify_local`]: super::GrantAuthority::verify_local
/// [`GrantAuthority::export_jwt`]: super::GrantAuthority::export_jwt
pub struct LocalGrant {
    pub(super) run: RunId,
    pub(super) call: CallId,
    pub(super) step: u32,
    pub(super) tool: &'static str,
    pub(super) effects: &'static [Effect],
    pub(super) scope: Option<Scope>,
    pub(super) iat: u64,
    pub(super) exp: u64,
    pub(super) jti: u128,
    pub(super) tag: [u8; 32],
}

impl std::fmt::Debug for LocalGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalGrant")
            .field("tool", &self.tool)
            .field("run", &self.run)
            .field("call", &self.call)
            .field("step", &self.step)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

impl LocalGrant {
    /// The tool granted.
    pub fn tool(&self) -> &'static str {
        self.tool
    }

    /// When the grant expires (seconds since the Unix epoch).
    pub fn expires_at(&self) -> u64 {
        self.exp
    }

    /// The grant's id (`jti`) as its claims spell it: 32 lowercase hex digits.
    pub fn jti(&self) -> String {
        jti_hex(self.jti)
    }

    /// The claims of this grant for `user` and `agent` (the identity it
    /// must have been minted for; the MAC is what checks that).
    pub(crate) fn claims(&self, user: &UserIdentity, agent: &str) -> GrantClaims {
        GrantClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.id.clone(),
            tenant: user.tenant.clone(),
            roles: user.roles.clone(),
            agent: agent.to_owned(),
            run: self.run,
            call: self.call,
            step: self.step,
            tool: self.tool.to_owned(),
            effects: self.effects.iter().map(|e| e.to_string()).collect(),
            scope: self.scope,
            iat: self.iat,
            exp: self.exp,
            jti: jti_hex(self.jti),
        }
    }

    /// The MAC of this grant's claims with `user` and `agent` as its identity.
    ///
    /// The encoding is compact so that a typical grant's MAC input fits in
    /// two SHA-256 blocks: fixed-width ids, LEB128 varints for the numbers
    /// and lengths, every string length-prefixed (so no two claim sets encode
    /// to the same bytes), collected in a stack buffer and absorbed at once.
    pub(super) fn compute_tag(
        &self,
        keyed: &Hmac<Sha256>,
        user: &UserIdentity,
        agent: &str,
    ) -> [u8; 32] {
        let mut out = Encoder {
            mac: keyed.clone(),
            buf: [0; 128],
            len: 0,
        };
        out.put(DOMAIN);
        out.put(self.run.as_uuid().as_bytes());
        out.put(self.call.as_uuid().as_bytes());
        out.put(&self.jti.to_be_bytes());
        out.varint(u64::from(self.step));
        out.varint(self.iat);
        out.varint(self.exp);
        out.put(&[match self.scope {
            None => 0,
            Some(Scope::User) => 1,
            Some(Scope::Tenant) => 2,
            Some(Scope::Global) => 3,
        }]);
        out.field(self.tool.as_bytes());
        out.varint(self.effects.len() as u64);
        for effect in self.effects {
            out.put(&[kind_byte(effect.kind)]);
            out.field(effect.resource.as_bytes());
        }
        out.field(user.id.as_bytes());
        match &user.tenant {
            None => out.put(&[0]),
            Some(tenant) => {
                out.put(&[1]);
                out.field(tenant.as_bytes());
            }
        }
        out.varint(user.roles.len() as u64);
        for role in &user.roles {
            out.field(role.as_bytes());
        }
        out.field(agent.as_bytes());
        out.finish()
    }

    /// Whether this grant's tag is the MAC of its claims with `user` and
    /// `agent`, compared in constant time.
    pub(super) fn tag_matches(
        &self,
        keyed: &Hmac<Sha256>,
        user: &UserIdentity,
        agent: &str,
    ) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.compute_tag(keyed, user, agent).ct_eq(&self.tag))
    }
}

/// The MAC input, gathered in a stack buffer so the hash absorbs it in a
/// few large updates instead of one per field.
struct Encoder {
    mac: Hmac<Sha256>,
    buf: [u8; 128],
    len: usize,
}

impl Encoder {
    fn put(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.buf.len() {
            self.mac.update(&self.buf[..self.len]);
            self.len = 0;
            if bytes.len() > self.buf.len() {
                self.mac.update(bytes);
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// LEB128: seven bits a byte, the high bit set on all but the last.
    fn varint(&mut self, mut n: u64) {
        let mut bytes = [0u8; 10];
        let mut i = 0;
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                bytes[i] = low;
                i += 1;
                break;
            }
            bytes[i] = low | 0x80;
            i += 1;
        }
        self.put(&bytes[..i]);
    }

    /// A length-prefixed field: no two different sequences of fields encode
    /// to the same bytes.
    fn field(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.put(bytes);
    }

    fn finish(mut self) -> [u8; 32] {
        self.mac.update(&self.buf[..self.len]);
        self.mac.finalize().into_bytes().into()
    }
}

fn kind_byte(kind: EffectKind) -> u8 {
    match kind {
        EffectKind::Read => 1,
        EffectKind::Write => 2,
        EffectKind::Delete => 3,
        EffectKind::Egress => 4,
    }
}

/// 32 lowercase hex digits: how the claims spell a minted id.
pub(super) fn jti_hex(jti: u128) -> String {
    format!("{jti:032x}")
}
