//! Sealed inputs: sensitive values that must travel through places that are
//! stored or logged (run inputs, checkpoints, traces) are encrypted before
//! they get there and opened only inside the tool that needs them.
//!
//! A [`Sealed<T>`] holds `T` encrypted with XChaCha20-Poly1305 under a
//! 256-bit key from the secret store (see [`SealingKey`]). It serializes as
//! an envelope — algorithm, key name, key fingerprint, nonce and ciphertext,
//! the last two base64 — never as plaintext, and its `Debug` output shows
//! nothing of the value. The key name is bound into the ciphertext as
//! associated data, so an envelope relabelled to another key does not open.

mod key;

use std::marker::PhantomData;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::zeroize::Zeroizing;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use key::SealingKey;

use crate::secrets::{SecretError, SecretStore};

/// The algorithm name written into every envelope.
pub const ALGORITHM: &str = "XChaCha20-Poly1305";

/// Why a value could not be sealed or opened. No variant carries plaintext.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The secret store has no key of that name.
    #[error("sealing key `{key}` is not in the secret store")]
    KeyNotFound {
        /// The key name.
        key: String,
    },
    /// The key in the store is not 32 bytes of hex or base64.
    #[error("sealing key `{key}` is not 32 bytes encoded as hex or base64")]
    KeyFormat {
        /// The key name.
        key: String,
    },
    /// The store failed while reading the key.
    #[error(transparent)]
    Store(#[from] SecretError),
    /// The value was sealed under a different key than the one now stored
    /// under that name (a rotated key, or a key from another environment).
    #[error("the value was sealed with a different key than `{key}`")]
    WrongKey {
        /// The key name.
        key: String,
    },
    /// The envelope does not authenticate: its ciphertext, nonce or key
    /// name was changed.
    #[error("the sealed value under key `{key}` was tampered with")]
    Tampered {
        /// The key name in the envelope.
        key: String,
    },
    /// The opened plaintext is not a valid `T` (the parser's message is
    /// dropped: it could quote the plaintext).
    #[error("the sealed value does not decode as `{type_name}`")]
    Decode {
        /// The expected type.
        type_name: &'static str,
    },
    /// The value could not be serialized before sealing.
    #[error("the value could not be serialized for sealing")]
    Encode,
    /// The cipher refused to encrypt (the value is too large).
    #[error("the value could not be encrypted")]
    Encrypt,
}

/// A `T` encrypted under a named key from the secret store.
///
/// ```
/// use agentsec_runtime::secrets::{MemorySecretStore, Sealed};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemorySecretStore::new().with(
///     "inputs_key",
///     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
/// );
/// let sealed = Sealed::seal(&"4111 1111 1111 1111".to_string(), "inputs_key", &store)
///     .await
///     .unwrap();
///
/// // Stored, logged or sent: only the envelope.
/// let json = serde_json::to_string(&sealed).unwrap();
/// assert!(!json.contains("4111"));
/// assert!(format!("{sealed:?}").starts_with("Sealed<"));
///
/// // Inside the tool.
/// let back: Sealed<String> = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.open(&store).await.unwrap(), "4111 1111 1111 1111");
/// # });
/// ```
pub struct Sealed<T> {
    key_name: String,
    key_id: [u8; 8],
    nonce: [u8; 24],
    ciphertext: Vec<u8>,
    _value: PhantomData<fn() -> T>,
}

impl<T> Sealed<T> {
    /// The name of the key the value is sealed under.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    fn aad(key_name: &str) -> Vec<u8> {
        let mut aad = b"agentsec.sealed.v1\0".to_vec();
        aad.extend_from_slice(key_name.as_bytes());
        aad
    }
}

impl<T: Serialize> Sealed<T> {
    /// Seals `value` under the key `key_name` from `store`.
    pub async fn seal<S: SecretStore + ?Sized>(
        value: &T,
        key_name: &str,
        store: &S,
    ) -> Result<Self, SealError> {
        let key = SealingKey::from_store(store, key_name).await?;
        Self::seal_with_key(value, &key)
    }

    /// Seals `value` under an already loaded key.
    pub fn seal_with_key(value: &T, key: &SealingKey) -> Result<Self, SealError> {
        let plaintext = Zeroizing::new(serde_json::to_vec(value).map_err(|_| SealError::Encode)?);
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(&Key::from(*key.bytes()));
        let aad = Self::aad(key.name());
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Encrypt)?;
        Ok(Self {
            key_name: key.name().to_owned(),
            key_id: key.id(),
            nonce,
            ciphertext,
            _value: PhantomData,
        })
    }
}

impl<T: DeserializeOwned> Sealed<T> {
    /// Opens the value with the key named in the envelope, read from `store`.
    /// Call it only inside the tool that needs the value.
    pub async fn open<S: SecretStore + ?Sized>(&self, store: &S) -> Result<T, SealError> {
        let key = SealingKey::from_store(store, &self.key_name).await?;
        self.open_with_key(&key)
    }

    /// Opens the value with an already loaded key, which must have the name
    /// the envelope carries.
    pub fn open_with_key(&self, key: &SealingKey) -> Result<T, SealError> {
        if key.name() != self.key_name {
            return Err(SealError::WrongKey {
                key: key.name().to_owned(),
            });
        }
        if key.id() != self.key_id {
            return Err(SealError::WrongKey {
                key: self.key_name.clone(),
            });
        }
        let cipher = XChaCha20Poly1305::new(&Key::from(*key.bytes()));
        let aad = Self::aad(&self.key_name);
        let plaintext = cipher
            .decrypt(
                &XNonce::from(self.nonce),
                Payload {
                    msg: &self.ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Tampered {
                key: self.key_name.clone(),
            })?;
        serde_json::from_slice(&plaintext).map_err(|_| SealError::Decode {
            type_name: std::any::type_name::<T>(),
        })
    }
}

impl<T> Clone for Sealed<T> {
    fn clone(&self) -> Self {
        Self {
            key_name: self.key_name.clone(),
            key_id: self.key_id,
            nonce: self.nonce,
            ciphertext: self.ciphertext.clone(),
            _value: PhantomData,
        }
    }
}

impl<T> PartialEq for Sealed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key_name == other.key_name
            && self.key_id == other.key_id
            && self.nonce == other.nonce
            && self.ciphertext == other.ciphertext
    }
}

impl<T> Eq for Sealed<T> {}

impl<T> std::fmt::Debug for Sealed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed<{}>(..)", std::any::type_name::<T>())
    }
}

/// The serialized form of a [`Sealed`] value.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    alg: String,
    key: String,
    key_id: String,
    nonce: String,
    ciphertext: String,
}

impl<T> Serialize for Sealed<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Envelope {
            alg: ALGORITHM.to_owned(),
            key: self.key_name.clone(),
            key_id: hex::encode(self.key_id),
            nonce: STANDARD.encode(self.nonce),
            ciphertext: STANDARD.encode(&self.ciphertext),
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Sealed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let envelope = Envelope::deserialize(deserializer)?;
        if envelope.alg != ALGORITHM {
            return Err(D::Error::custom(format_args!(
                "unsupported sealing algorithm `{}`",
                envelope.alg
            )));
        }
        if envelope.key.is_empty() {
            return Err(D::Error::custom("sealed value without a key name"));
        }
        let mut key_id = [0u8; 8];
        hex::decode_to_slice(&envelope.key_id, &mut key_id)
            .map_err(|_| D::Error::custom("sealed value with a malformed key_id"))?;
        let nonce: [u8; 24] = STANDARD
            .decode(&envelope.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| D::Error::custom("sealed value with a malformed nonce"))?;
        let ciphertext = STANDARD
            .decode(&envelope.ciphertext)
            .map_err(|_| D::Error::custom("sealed value with malformed ciphertext"))?;
        Ok(Self {
            key_name: envelope.key,
            key_id,
            nonce,
            ciphertext,
            _value: PhantomData,
        })
    }
}
