//! Turning fuzz bytes into tokens that get past the signature check, so the
//! claim checks behind it are fuzzed too (random bytes never carry a valid
//! HMAC).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key of the grant target's authority.
pub const GRANT_KEY: &[u8] = b"agentsec fuzzing grant key, 32+ bytes long";
/// The HMAC secret of the session target's authenticator.
pub const SESSION_SECRET: &[u8] = b"agentsec fuzzing session secret, 32+ bytes";
/// The issuer the session target requires.
pub const SESSION_ISSUER: &str = "https://auth.fuzz.invalid";
/// The audience the session target requires.
pub const SESSION_AUDIENCE: &str = "shop";

/// The header of an HS256 token.
const HS256_HEADER: &[u8] = br#"{"alg":"HS256","typ":"JWT"}"#;

/// What the fuzz input `data` stands for, by its first byte:
/// - `0` (and any byte not below): the rest is the token, as text;
/// - `1`: the rest is the claims (payload) of an HS256 token signed with `key`;
/// - `2`: the rest is a header and claims separated by the first `\n`, both
///   encoded and signed with `key` (headers naming other algorithms, `kid`s,
///   or no `alg` at all).
pub fn token_from(key: &[u8], data: &[u8]) -> String {
    match data.split_first() {
        Some((1, claims)) => hs256_token(key, HS256_HEADER, claims),
        Some((2, rest)) => {
            let (header, claims) = match rest.iter().position(|b| *b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &b""[..]),
            };
            hs256_token(key, header, claims)
        }
        Some((_, token)) => String::from_utf8_lossy(token).into_owned(),
        None => String::new(),
    }
}

/// `base64url(header).base64url(claims).base64url(HMAC-SHA256(key, …))`.
pub fn hs256_token(key: &[u8], header: &[u8], claims: &[u8]) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    // HMAC takes a key of any length; the error case cannot happen.
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) {
        mac.update(token.as_bytes());
        let signature = mac.finalize().into_bytes();
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    }
    token
}
