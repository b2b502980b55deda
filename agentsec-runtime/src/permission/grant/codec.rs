//! The compact HS256 JWS encoding of grants, done by hand on the hot path.
//!
//! Every tool call mints one grant and verifies it, so this runs once per
//! call. A general JWT library re-derives the HMAC key schedule, parses the
//! header twice and the claims twice on every token; here the keyed HMAC
//! state is computed once per authority and cloned, the header is a
//! constant, and the claims are parsed once. The checks are the same: the
//! algorithm is pinned to HS256 (a token naming any other, `none` included,
//! is refused before its signature is looked at), the signature is compared
//! in constant time (`Mac::verify_slice`), and nothing in the token is
//! trusted before the signature verifies. The tests check tokens are
//! interchangeable with `jsonwebtoken`'s, both ways.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::GrantError;

/// `base64url({"typ":"JWT","alg":"HS256"})`: the header of every grant
/// minted here (the same bytes `jsonwebtoken::Header::new(HS256)` encodes to).
pub(super) const HEADER_B64: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9";

/// The length of an HMAC-SHA256 signature in unpadded base64url.
const SIGNATURE_B64_LEN: usize = 43;

/// Signs and verifies compact HS256 tokens with one key.
#[derive(Clone)]
pub(super) struct Hs256 {
    /// The HMAC state after absorbing the key: cloning it skips the key
    /// schedule (two SHA-256 blocks) on every token.
    keyed: Hmac<Sha256>,
}

impl Hs256 {
    /// A signer for `key` (any length is accepted by HMAC; the authority
    /// enforces its minimum).
    pub(super) fn new(key: &[u8]) -> Result<Self, GrantError> {
        let keyed = Hmac::<Sha256>::new_from_slice(key)
            .map_err(|e| GrantError::Config(format!("the grant key is unusable: {e}")))?;
        Ok(Self { keyed })
    }

    /// The keyed HMAC state, shared with the in-process form's MAC (which
    /// is domain-separated from every JWT's signing input).
    pub(super) fn keyed(&self) -> &Hmac<Sha256> {
        &self.keyed
    }

    /// `header.payload.signature` for `claims`.
    pub(super) fn sign<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, GrantError> {
        let payload = serde_json::to_vec(claims)
            .map_err(|e| GrantError::Config(format!("the claims do not serialize: {e}")))?;
        let mut token = String::with_capacity(
            HEADER_B64.len() + 2 + payload.len().div_ceil(3) * 4 + SIGNATURE_B64_LEN,
        );
        token.push_str(HEADER_B64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let mut mac = self.keyed.clone();
        mac.update(token.as_bytes());
        let signature = mac.finalize().into_bytes();
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// Checks the header names HS256 and the signature is this key's, and
    /// returns the decoded payload (the claims' JSON, not yet parsed).
    pub(super) fn verify(&self, token: &str) -> Result<Vec<u8>, GrantError> {
        // Read the header first so `alg: none` and other algorithms get their
        // own error. The header of every grant minted here is a constant; any
        // other header must still name HS256 (and is covered by the MAC).
        if !token
            .strip_prefix(HEADER_B64)
            .is_some_and(|rest| rest.starts_with('.'))
        {
            let header = crate::identity::session::header::peek_header(token)
                .map_err(GrantError::Malformed)?;
            if header.alg != "HS256" {
                return Err(GrantError::WrongAlgorithm);
            }
            if let Some(refusal) = header.critical_extensions() {
                return Err(GrantError::Malformed(refusal));
            }
        }
        let (message, signature) = token
            .rsplit_once('.')
            .ok_or_else(|| malformed("a JWT has three dot-separated parts"))?;
        let (_, payload) = message
            .split_once('.')
            .filter(|(_, payload)| !payload.contains('.'))
            .ok_or_else(|| malformed("a JWT has three dot-separated parts"))?;
        // Anything longer than an HMAC-SHA256 signature is not one of ours.
        let mut decoded = [0u8; 36];
        let length = URL_SAFE_NO_PAD
            .decode_slice(signature, &mut decoded)
            .map_err(|e| match e {
                base64::DecodeSliceError::OutputSliceTooSmall => GrantError::InvalidSignature,
                base64::DecodeSliceError::DecodeError(_) => {
                    malformed("the signature is not base64url")
                }
            })?;
        let mut mac = self.keyed.clone();
        mac.update(message.as_bytes());
        mac.verify_slice(decoded.get(..length).unwrap_or_default())
            .map_err(|_| GrantError::InvalidSignature)?;
        URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| malformed("the payload is not base64url"))
    }
}

fn malformed(message: &str) -> GrantError {
    GrantError::Malformed(message.to_owned())
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    use serde_json::{Value, json};

    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn the_constant_header_is_jsonwebtokens() {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({}),
            &EncodingKey::from_secret(KEY),
        )
        .unwrap();
        assert_eq!(token.split('.').next(), Some(HEADER_B64));
    }

    #[test]
    fn tokens_are_interchangeable_with_jsonwebtoken() {
        let claims = json!({"sub": "alice", "exp": 4_000_000_000u64, "n": [1, 2]});
        let signer = Hs256::new(KEY).unwrap();
        // Ours, verified by the library.
        let ours = signer.sign(&claims).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_aud = false;
        let decoded =
            jsonwebtoken::decode::<Value>(&ours, &DecodingKey::from_secret(KEY), &validation)
                .unwrap();
        assert_eq!(decoded.claims, claims);
        // The library's, verified by ours, with a header of another shape.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let theirs =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(KEY)).unwrap();
        let payload: Value = serde_json::from_slice(&signer.verify(&theirs).unwrap()).unwrap();
        assert_eq!(payload, claims);
    }

    #[test]
    fn another_key_a_changed_byte_or_another_algorithm_is_refused() {
        let signer = Hs256::new(KEY).unwrap();
        let token = signer.sign(&json!({"sub": "alice"})).unwrap();
        let other = Hs256::new(b"another key, also 32 bytes long!").unwrap();
        assert_eq!(other.verify(&token), Err(GrantError::InvalidSignature));
        // Flip one character of the payload.
        let dot = token.find('.').unwrap() + 2;
        let mut bytes = token.clone().into_bytes();
        bytes[dot] = if bytes[dot] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(signer.verify(&tampered), Err(GrantError::InvalidSignature));
        // A truncated signature.
        assert_eq!(
            signer.verify(&token[..token.len() - 3]),
            Err(GrantError::InvalidSignature)
        );
        let hs384 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS384),
            &json!({"sub": "alice"}),
            &EncodingKey::from_secret(KEY),
        )
        .unwrap();
        assert_eq!(signer.verify(&hs384), Err(GrantError::WrongAlgorithm));
        let (_, rest) = token.split_once('.').unwrap();
        let none = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert_eq!(signer.verify(&none), Err(GrantError::WrongAlgorithm));
        for garbage in [
            "",
            ".",
            "..",
            "a.b",
            "a.b.c.d",
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.",
        ] {
            assert!(signer.verify(garbage).is_err(), "{garbage:?}");
        }
    }
}
