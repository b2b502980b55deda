//! Sealing keys: 32 bytes from the secret store, hex or base64 encoded.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use secrecy::ExposeSecret;
use secrecy::zeroize::Zeroizing;
use sha2::{Digest, Sha256};

use super::SealError;
use crate::secrets::SecretStore;

/// A 256-bit key for [`Sealed`](super::Sealed) values, with the name it has
/// in the secret store.
///
/// The store holds the key as 64 hex digits or as base64 (standard or
/// URL-safe alphabet, padded or not); surrounding whitespace is ignored.
/// Generate one with `openssl rand -hex 32`.
///
/// ```
/// use agentsec_runtime::secrets::sealed::SealingKey;
/// let key = SealingKey::from_encoded(
///     "inputs_key",
///     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
/// ).unwrap();
/// assert_eq!(key.name(), "inputs_key");
/// assert!(SealingKey::from_encoded("inputs_key", "too short").is_err());
/// ```
pub struct SealingKey {
    name: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl SealingKey {
    /// Reads the key `name` from `store`.
    pub async fn from_store<S: SecretStore + ?Sized>(
        store: &S,
        name: &str,
    ) -> Result<Self, SealError> {
        let encoded = store
            .get(name)
            .await?
            .ok_or_else(|| SealError::KeyNotFound {
                key: name.to_owned(),
            })?;
        Self::from_encoded(name, encoded.expose_secret())
    }

    /// Decodes a key from its hex or base64 text.
    pub fn from_encoded(name: &str, encoded: &str) -> Result<Self, SealError> {
        let encoded = encoded.trim();
        let decoded = Zeroizing::new(decode(encoded).ok_or_else(|| SealError::KeyFormat {
            key: name.to_owned(),
        })?);
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| SealError::KeyFormat {
                key: name.to_owned(),
            })?;
        Ok(Self {
            name: name.to_owned(),
            bytes: Zeroizing::new(bytes),
        })
    }

    /// The key's name in the secret store.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// A short fingerprint of the key, stored with each sealed value so a
    /// wrong key is told apart from tampering. It is a truncated hash of a
    /// random 256-bit key and reveals nothing usable about it.
    pub(super) fn id(&self) -> [u8; 8] {
        let digest = Sha256::new()
            .chain_update(b"agentsec.sealed.key-id.v1\0")
            .chain_update(self.bytes.as_slice())
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
        id
    }
}

fn decode(encoded: &str) -> Option<Vec<u8>> {
    if encoded.len() == 64 && encoded.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(encoded).ok();
    }
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
