//! Sealed inputs: encrypted under a key from the store, never serialized or
//! printed as plaintext, and any change to the envelope is detected.

use agentsec_runtime::secrets::sealed::SealingKey;
use agentsec_runtime::secrets::{MemorySecretStore, SealError, Sealed};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const KEY_HEX: &str = "8f1c2a0b9d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f809a1b2c3";
const OTHER_KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Card {
    number: String,
    cvc: u16,
}

fn card() -> Card {
    Card {
        number: "4111111111111111".into(),
        cvc: 737,
    }
}

fn store() -> MemorySecretStore {
    MemorySecretStore::new()
        .with("inputs_key", KEY_HEX)
        .with("same_key_other_name", KEY_HEX)
        .with("other_key", OTHER_KEY_HEX)
        .with("bad_key", "not a key")
}

async fn sealed_json() -> Value {
    let sealed = Sealed::seal(&card(), "inputs_key", &store()).await.unwrap();
    serde_json::to_value(&sealed).unwrap()
}

async fn open_json(json: Value) -> Result<Card, SealError> {
    let sealed: Sealed<Card> = serde_json::from_value(json).unwrap();
    sealed.open(&store()).await
}

/// Flips one bit of a base64 field.
fn flip(json: &mut Value, field: &str) {
    let mut bytes = STANDARD.decode(json[field].as_str().unwrap()).unwrap();
    bytes[0] ^= 0x01;
    json[field] = Value::String(STANDARD.encode(bytes));
}

#[tokio::test]
async fn round_trip_through_json() {
    let json = sealed_json().await;
    let sealed: Sealed<Card> = serde_json::from_value(json).unwrap();
    assert_eq!(sealed.key_name(), "inputs_key");
    assert_eq!(sealed.open(&store()).await.unwrap(), card());
}

#[tokio::test]
async fn never_serialized_or_printed_as_plaintext() {
    let sealed = Sealed::seal(&card(), "inputs_key", &store()).await.unwrap();
    let json = serde_json::to_string(&sealed).unwrap();
    let debug = format!("{sealed:?} {sealed:#?}");
    for text in [&json, &debug] {
        assert!(!text.contains("4111111111111111"), "{text}");
        assert!(!text.contains("cvc") && !text.contains("number"), "{text}");
    }
    assert!(debug.starts_with("Sealed<"), "{debug}");
    assert!(debug.contains("(..)"));

    let envelope: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(envelope["alg"], "XChaCha20-Poly1305");
    assert_eq!(envelope["key"], "inputs_key");
    let fields: Vec<&str> = envelope
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["alg", "ciphertext", "key", "key_id", "nonce"]);
    assert_eq!(
        STANDARD
            .decode(envelope["nonce"].as_str().unwrap())
            .unwrap()
            .len(),
        24
    );

    // A fresh nonce each time: sealing twice gives different envelopes.
    let again = Sealed::seal(&card(), "inputs_key", &store()).await.unwrap();
    assert_ne!(sealed, again);
}

#[tokio::test]
async fn tampered_ciphertext_is_detected() {
    let mut json = sealed_json().await;
    flip(&mut json, "ciphertext");
    assert!(matches!(
        open_json(json).await,
        Err(SealError::Tampered { .. })
    ));
}

#[tokio::test]
async fn tampered_nonce_is_detected() {
    let mut json = sealed_json().await;
    flip(&mut json, "nonce");
    assert!(matches!(
        open_json(json).await,
        Err(SealError::Tampered { .. })
    ));
}

#[tokio::test]
async fn relabelled_key_name_is_detected() {
    // Same key bytes under another name: the name is authenticated data.
    let mut json = sealed_json().await;
    json["key"] = Value::String("same_key_other_name".into());
    assert!(matches!(
        open_json(json).await,
        Err(SealError::Tampered { .. })
    ));

    // A name holding a different key.
    let mut json = sealed_json().await;
    json["key"] = Value::String("other_key".into());
    assert!(matches!(
        open_json(json).await,
        Err(SealError::WrongKey { .. })
    ));

    // A name the store does not have.
    let mut json = sealed_json().await;
    json["key"] = Value::String("no_such_key".into());
    assert!(
        matches!(open_json(json).await, Err(SealError::KeyNotFound { key }) if key == "no_such_key")
    );
}

#[tokio::test]
async fn rotated_key_is_a_wrong_key() {
    let sealed = Sealed::seal(&card(), "inputs_key", &store()).await.unwrap();
    let rotated = MemorySecretStore::new().with("inputs_key", OTHER_KEY_HEX);
    assert!(matches!(
        sealed.open(&rotated).await,
        Err(SealError::WrongKey { .. })
    ));
    let other = SealingKey::from_encoded("other_key", OTHER_KEY_HEX).unwrap();
    assert!(matches!(
        sealed.open_with_key(&other),
        Err(SealError::WrongKey { .. })
    ));
}

#[tokio::test]
async fn keys_in_hex_or_base64_and_bad_keys() {
    let raw = hex::decode(KEY_HEX).unwrap();
    let store = MemorySecretStore::new()
        .with("hex", KEY_HEX.to_uppercase())
        .with("b64", format!("{}\n", STANDARD.encode(&raw)))
        .with("b64url", URL_SAFE_NO_PAD.encode(&raw))
        .with("short", STANDARD.encode([1u8; 16]))
        .with("garbage", "!!!!");
    let sealed = Sealed::seal(&card(), "hex", &store).await.unwrap();
    for name in ["b64", "b64url"] {
        let key = SealingKey::from_store(&store, name).await.unwrap();
        // Same bytes: only the name differs, which is authenticated.
        assert!(matches!(
            sealed.open_with_key(&key),
            Err(SealError::WrongKey { .. })
        ));
        let resealed = Sealed::seal(&card(), name, &store).await.unwrap();
        assert_eq!(resealed.open(&store).await.unwrap(), card());
    }
    for name in ["short", "garbage"] {
        let err = Sealed::seal(&card(), name, &store).await.unwrap_err();
        assert!(matches!(err, SealError::KeyFormat { .. }), "{name}: {err}");
    }
    assert!(matches!(
        Sealed::seal(&card(), "missing", &store).await,
        Err(SealError::KeyNotFound { .. })
    ));
}

#[tokio::test]
async fn malformed_envelopes_are_refused_when_read() {
    let good = sealed_json().await;
    let mut cases = Vec::new();
    for (field, value) in [
        ("alg", Value::from("AES-ECB")),
        ("nonce", Value::from("AAAA")),
        ("nonce", Value::from("not base64!")),
        ("ciphertext", Value::from("###")),
        ("key_id", Value::from("xyz")),
        ("key", Value::from("")),
    ] {
        let mut json = good.clone();
        json[field] = value;
        cases.push(json);
    }
    let mut extra = good.clone();
    extra["plaintext"] = Value::from("oops");
    cases.push(extra);
    for json in cases {
        assert!(
            serde_json::from_value::<Sealed<Card>>(json.clone()).is_err(),
            "{json}"
        );
    }
}

#[tokio::test]
async fn wrong_type_is_a_decode_error_without_plaintext() {
    let json = sealed_json().await;
    let as_number: Sealed<u64> = serde_json::from_value(json).unwrap();
    let err = as_number.open(&store()).await.unwrap_err();
    assert!(matches!(err, SealError::Decode { .. }));
    assert!(!err.to_string().contains("4111"), "{err}");
    assert!(!format!("{err:?}").contains("4111"));
}
