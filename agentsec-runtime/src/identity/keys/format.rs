//! The shape of an agent key, `ask_<env>_<keyid>_<secret>`, and the keyed
//! hash it is stored as.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::Environment;

const PREFIX: &str = "ask_";
/// Random bytes in a key id (hex-encoded: 16 characters).
const KEY_ID_BYTES: usize = 8;
/// Random bytes in a secret (hex-encoded: 64 characters).
const SECRET_BYTES: usize = 32;
/// Longer input is refused without being parsed.
pub(super) const MAX_KEY_LEN: usize = 128;
/// Separates the hashed fields; also versions the hash.
const HASH_CONTEXT: &[u8] = b"agentsec/agent-key/v1\0";

/// A presented key split into its parts. The secret stays borrowed and is
/// never formatted.
pub(super) struct ParsedKey<'a> {
    pub environment: Environment,
    pub key_id: &'a str,
    pub secret: &'a str,
}

/// Splits a presented key; `None` when it is not shaped like one.
pub(super) fn parse(presented: &str) -> Option<ParsedKey<'_>> {
    if presented.len() > MAX_KEY_LEN {
        return None;
    }
    let rest = presented.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(3, '_');
    let environment = Environment::from_tag(parts.next()?)?;
    let key_id = parts.next()?;
    let secret = parts.next()?;
    (is_lower_hex(key_id, KEY_ID_BYTES * 2) && is_lower_hex(secret, SECRET_BYTES * 2)).then_some(
        ParsedKey {
            environment,
            key_id,
            secret,
        },
    )
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A fresh key id and secret.
pub(super) fn generate() -> (String, String) {
    let mut id = [0u8; KEY_ID_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    let mut rng = rand::thread_rng();
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    (hex::encode(id), hex::encode(secret))
}

/// The full key as shown once to the person who issued it.
pub(super) fn format_key(environment: Environment, key_id: &str, secret: &str) -> String {
    format!("{PREFIX}{}_{key_id}_{secret}", environment.tag())
}

/// Hashes secrets with the server-side pepper. The pepper never leaves it.
#[derive(Clone)]
pub(super) struct KeyHasher {
    mac: Hmac<Sha256>,
}

impl KeyHasher {
    /// `None` when the pepper is unusable (HMAC accepts any length; the
    /// service checks the minimum).
    pub fn new(pepper: &[u8]) -> Option<Self> {
        Hmac::<Sha256>::new_from_slice(pepper)
            .ok()
            .map(|mac| Self { mac })
    }

    /// HMAC-SHA256(pepper, context ‖ key id ‖ 0 ‖ secret): binding the id
    /// means a secret cannot be moved to another key id.
    pub fn hash(&self, key_id: &str, secret: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(HASH_CONTEXT);
        mac.update(key_id.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Constant-time equality of two hashes.
pub(super) fn hashes_match(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.as_slice().ct_eq(b.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back() {
        let (id, secret) = generate();
        let key = format_key(Environment::Staging, &id, &secret);
        let parsed = parse(&key).expect("a generated key parses");
        assert_eq!(parsed.environment, Environment::Staging);
        assert_eq!(parsed.key_id, id);
        assert_eq!(parsed.secret, secret);
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        let (id, secret) = generate();
        for bad in [
            String::new(),
            "ask_".into(),
            format!("ask_qa_{id}_{secret}"),
            format!("ask_prod_{id}"),
            format!("ask_prod_{id}_{}", &secret[1..]),
            format!("ask_prod_{}_{secret}", id.to_uppercase()),
            format!("sk_prod_{id}_{secret}"),
            format!("ask_prod_{id}_{secret}_extra"),
            format!("ask_prod_{id}_{secret}é"),
        ] {
            assert!(parse(&bad).is_none(), "{bad:?} parsed");
        }
    }

    #[test]
    fn hash_depends_on_pepper_id_and_secret() {
        let a = KeyHasher::new(&[1; 32]).unwrap();
        let b = KeyHasher::new(&[2; 32]).unwrap();
        let h = a.hash("id", "secret");
        assert!(hashes_match(&h, &a.hash("id", "secret")));
        assert!(!hashes_match(&h, &b.hash("id", "secret")));
        assert!(!hashes_match(&h, &a.hash("id2", "secret")));
        assert!(!hashes_match(&h, &a.hash("id", "secret2")));
    }
}
