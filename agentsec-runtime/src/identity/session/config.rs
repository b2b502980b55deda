use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{AuthError, JwtAuthenticator};

/// The most clock skew an authenticator tolerates on `exp` and `nbf`.
pub const MAX_LEEWAY: Duration = Duration::from_secs(5);

/// The shortest shared secret accepted for HS256.
const MIN_HMAC_SECRET_BYTES: usize = 32;

/// The signature algorithms a session token may be pinned to.
///
/// One authenticator accepts exactly one algorithm: a token naming any other
/// (including `none`) is refused before its signature is looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256 and a shared secret.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl JwtAlgorithm {
    /// The name used in a JWT header.
    pub const fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::Rs256 => "RS256",
            JwtAlgorithm::Es256 => "ES256",
            JwtAlgorithm::EdDsa => "EdDSA",
        }
    }

    pub(crate) const fn jsonwebtoken(self) -> Algorithm {
        match self {
            JwtAlgorithm::Hs256 => Algorithm::HS256,
            JwtAlgorithm::Rs256 => Algorithm::RS256,
            JwtAlgorithm::Es256 => Algorithm::ES256,
            JwtAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Configures a [`JwtAuthenticator`]. Made by [`JwtAuthenticator::builder`].
///
/// Key and setting errors are collected and reported by
/// [`build`](Self::build), so the chain reads top to bottom.
pub struct JwtAuthenticatorBuilder {
    algorithm: JwtAlgorithm,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    tenant_claim: String,
    roles_claim: String,
    session_claim: String,
    default_key: Option<DecodingKey>,
    keys: HashMap<String, DecodingKey>,
    errors: Vec<String>,
}

impl fmt::Debug for JwtAuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthenticatorBuilder")
            .field("algorithm", &self.algorithm)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl JwtAuthenticatorBuilder {
    pub(super) fn new(algorithm: JwtAlgorithm) -> Self {
        Self {
            algorithm,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: MAX_LEEWAY,
            tenant_claim: "tenant".into(),
            roles_claim: "roles".into(),
            session_claim: "sid".into(),
            default_key: None,
            keys: HashMap::new(),
            errors: Vec::new(),
        }
    }

    /// Adds an accepted issuer (`iss`). At least one is required.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Adds an accepted audience (`aud`). At least one is required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Sets the clock skew tolerated on `exp` and `nbf` (default and maximum
    /// [`MAX_LEEWAY`], 5 s; more is refused by [`build`](Self::build)).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The claim holding the user's tenant (default `tenant`). A name
    /// starting with `/` is a JSON pointer into the claims (`/org/id`).
    pub fn tenant_claim(mut self, name: impl Into<String>) -> Self {
        self.tenant_claim = name.into();
        self
    }

    /// The claim holding the user's roles, an array of strings or one
    /// space-separated string (default `roles`). A name starting with `/` is a
    /// JSON pointer (`/realm_access/roles`).
    pub fn roles_claim(mut self, name: impl Into<String>) -> Self {
        self.roles_claim = name.into();
        self
    }

    /// The claim holding the session id (default `sid`).
    pub fn session_claim(mut self, name: impl Into<String>) -> Self {
        self.session_claim = name.into();
        self
    }

    /// The HS256 shared secret (at least 32 bytes), used for tokens without a `kid`.
    pub fn hmac_secret(mut self, secret: &[u8]) -> Self {
        if let Some(key) = self.hmac_key(secret) {
            self.set_default(key);
        }
        self
    }

    /// An HS256 shared secret selected by tokens whose header names `kid`.
    pub fn hmac_secret_with_id(mut self, kid: impl Into<String>, secret: &[u8]) -> Self {
        if let Some(key) = self.hmac_key(secret) {
            self.add_key(kid.into(), key);
        }
        self
    }

    /// The RS256, ES256 or EdDSA public key in PEM, used for tokens without a `kid`.
    pub fn public_key_pem(mut self, pem: &[u8]) -> Self {
        if let Some(key) = self.pem_key(pem) {
            self.set_default(key);
        }
        self
    }

    /// A PEM public key selected by tokens whose header names `kid`.
    pub fn public_key_pem_with_id(mut self, kid: impl Into<String>, pem: &[u8]) -> Self {
        if let Some(key) = self.pem_key(pem) {
            self.add_key(kid.into(), key);
        }
        self
    }

    /// The keys of a static JWKS document (`{"keys": [...]}`), selected by
    /// `kid`. Keys for another algorithm or curve, and encryption keys, are
    /// skipped; every kept key must have a `kid`.
    pub fn jwks_json(mut self, document: &str) -> Self {
        let set: JwkSet = match serde_json::from_str(document) {
            Ok(set) => set,
            Err(e) => {
                self.errors
                    .push(format!("the JWKS document does not parse: {e}"));
                return self;
            }
        };
        let mut kept = 0usize;
        for jwk in &set.keys {
            if !self.jwk_fits(jwk) {
                continue;
            }
            let Some(kid) = jwk.common.key_id.clone() else {
                self.errors
                    .push("a JWKS key usable for this algorithm has no `kid`".into());
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    if self.algorithm == JwtAlgorithm::Hs256
                        && key.try_get_as_bytes().map_or(0, <[u8]>::len) < MIN_HMAC_SECRET_BYTES
                    {
                        self.errors.push(format!(
                            "JWKS key `{kid}` is shorter than {MIN_HMAC_SECRET_BYTES} bytes"
                        ));
                        continue;
                    }
                    self.add_key(kid, key);
                    kept += 1;
                }
                Err(e) => self
                    .errors
                    .push(format!("JWKS key `{kid}` is unusable: {e}")),
            }
        }
        if kept == 0 {
            self.errors.push(format!(
                "the JWKS document has no key usable for {}",
                self.algorithm
            ));
        }
        self
    }

    /// Checks the configuration and builds the authenticator.
    pub fn build(self) -> Result<JwtAuthenticator, AuthError> {
        let mut errors = self.errors;
        if self.leeway > MAX_LEEWAY {
            errors.push(format!(
                "leeway {:?} exceeds the maximum of {:?}",
                self.leeway, MAX_LEEWAY
            ));
        }
        if self.issuers.iter().all(|i| i.is_empty()) {
            errors.push("at least one non-empty issuer is required".into());
        }
        if self.audiences.iter().all(|a| a.is_empty()) {
            errors.push("at least one non-empty audience is required".into());
        }
        if self.default_key.is_none() && self.keys.is_empty() {
            errors.push("no verification key is configured".into());
        }
        for (what, name) in [
            ("tenant", &self.tenant_claim),
            ("roles", &self.roles_claim),
            ("session", &self.session_claim),
        ] {
            if name.is_empty() {
                errors.push(format!("the {what} claim name is empty"));
            }
        }
        if !errors.is_empty() {
            return Err(AuthError::Config(errors.join("; ")));
        }

        let mut validation = Validation::new(self.algorithm.jsonwebtoken());
        // The decoder checks the algorithm and the signature only. Presence,
        // types, times, issuer and audience are checked in one place by the
        // authenticator (with its own clock and precise errors), so each
        // check has exactly one implementation and one test.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;

        Ok(JwtAuthenticator {
            algorithm: self.algorithm,
            issuers: self.issuers,
            audiences: self.audiences,
            leeway_secs: self.leeway.as_secs(),
            tenant_claim: self.tenant_claim,
            roles_claim: self.roles_claim,
            session_claim: self.session_claim,
            default_key: self.default_key,
            keys: self.keys,
            validation,
        })
    }

    fn hmac_key(&mut self, secret: &[u8]) -> Option<DecodingKey> {
        if self.algorithm != JwtAlgorithm::Hs256 {
            self.errors.push(format!(
                "a shared secret was given but the algorithm is {}",
                self.algorithm
            ));
            return None;
        }
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            self.errors.push(format!(
                "the HS256 secret is {} bytes; it must be at least {MIN_HMAC_SECRET_BYTES}",
                secret.len()
            ));
            return None;
        }
        Some(DecodingKey::from_secret(secret))
    }

    fn pem_key(&mut self, pem: &[u8]) -> Option<DecodingKey> {
        let parsed = match self.algorithm {
            JwtAlgorithm::Hs256 => {
                self.errors
                    .push("HS256 verifies with a shared secret, not a PEM key".into());
                return None;
            }
            JwtAlgorithm::Rs256 => DecodingKey::from_rsa_pem(pem),
            JwtAlgorithm::Es256 => DecodingKey::from_ec_pem(pem),
            JwtAlgorithm::EdDsa => DecodingKey::from_ed_pem(pem),
        };
        match parsed {
            Ok(key) => Some(key),
            Err(e) => {
                self.errors.push(format!(
                    "the PEM key is not a {} public key: {e}",
                    self.algorithm
                ));
                None
            }
        }
    }

    fn jwk_fits(&self, jwk: &jsonwebtoken::jwk::Jwk) -> bool {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return false;
        }
        if let Some(alg) = jwk.common.key_algorithm
            && jsonwebtoken::jwk::KeyAlgorithm::from(self.algorithm.jsonwebtoken()) != alg
        {
            return false;
        }
        match (&jwk.algorithm, self.algorithm) {
            (AlgorithmParameters::OctetKey(_), JwtAlgorithm::Hs256) => true,
            (AlgorithmParameters::RSA(_), JwtAlgorithm::Rs256) => true,
            (AlgorithmParameters::EllipticCurve(p), JwtAlgorithm::Es256) => {
                p.curve == EllipticCurve::P256
            }
            (AlgorithmParameters::OctetKeyPair(p), JwtAlgorithm::EdDsa) => {
                p.curve == EllipticCurve::Ed25519
            }
            _ => false,
        }
    }

    fn set_default(&mut self, key: DecodingKey) {
        if self.default_key.is_some() {
            self.errors
                .push("more than one key without a key id was given".into());
        }
        self.default_key = Some(key);
    }

    fn add_key(&mut self, kid: String, key: DecodingKey) {
        if kid.is_empty() {
            self.errors.push("a key id is empty".into());
        } else if self.keys.insert(kid.clone(), key).is_some() {
            self.errors.push(format!("key id `{kid}` is given twice"));
        }
    }
}
