//! Reads a JWT's header before any signature check, so that `alg: none` and
//! algorithm confusion are refused with a precise error instead of a JSON
//! error from the decoder. Nothing read here is trusted beyond choosing a
//! key: the signature is still verified with the pinned algorithm.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The two header fields the runtime looks at.
#[derive(Debug, Deserialize)]
pub(crate) struct PeekedHeader {
    /// The algorithm the token claims.
    pub alg: String,
    /// The key id, if any.
    #[serde(default)]
    pub kid: Option<String>,
    /// RFC 7515 §4.1.11: extensions the verifier must understand. This one
    /// understands none, so any `crit` (even an empty list, which the RFC
    /// forbids) refuses the token.
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
}

impl PeekedHeader {
    /// The refusal of a header carrying `crit`, if it does.
    pub(crate) fn critical_extensions(&self) -> Option<String> {
        self.crit.as_ref().map(|crit| {
            format!(
                "the header's `crit` names extensions this verifier does not understand: {}",
                crate::escape::echo(&crit.to_string())
            )
        })
    }
}

/// Decodes the header of a compact JWS, which must have exactly three parts.
pub(crate) fn peek_header(token: &str) -> Result<PeekedHeader, String> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("a JWT has three dot-separated parts".into());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| "the header is not base64url".to_owned())?;
    serde_json::from_slice::<PeekedHeader>(&bytes)
        .map_err(|_| "the header is not a JSON object with a string `alg`".to_owned())
}

/// Whether an `alg` value means "unsigned", in any letter case.
pub(crate) fn is_none_alg(alg: &str) -> bool {
    alg.eq_ignore_ascii_case("none")
}
