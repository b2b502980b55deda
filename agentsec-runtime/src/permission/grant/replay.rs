//! The ids of grants already accepted, kept until the grants expire.

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Grant ids seen, and when each stops mattering.
///
/// A grant is accepted once: its id is remembered until its `exp` (after
/// that the grant is refused as expired anyway). Ids are kept in a set for
/// the replay check and in buckets by expiry second, so forgetting expired
/// ids touches only those ids: the bookkeeping costs the same with ten or a
/// million live grants (a scan over all of them per call would not).
///
/// The ids the authority mints are 128 random bits in hex; they are kept as
/// a `u128` (16 bytes, no allocation, hashed by folding: the bits are already
/// uniform, and only a grant whose signature verified gets here, so nobody
/// without the key can choose ids to collide). Any other id, which only
/// [`GrantAuthority::sign`](super::GrantAuthority::sign) can produce, is
/// kept as a string in a separate set with the standard hasher.
#[derive(Debug, Default)]
pub(super) struct UsedGrants {
    minted: HashSet<u128, BuildHasherDefault<FoldHasher>>,
    other: HashSet<Box<str>>,
    by_expiry: BTreeMap<u64, Vec<GrantId>>,
}

#[derive(Debug)]
enum GrantId {
    Minted(u128),
    Other(Box<str>),
}

impl UsedGrants {
    /// Records `jti` (valid until `exp`) as used at `now`; `false` if it was
    /// used before.
    pub(super) fn admit(&mut self, jti: &str, exp: u64, now: u64) -> bool {
        self.forget_expired(now);
        let id = match parse_minted(jti) {
            Some(bits) => {
                if !self.minted.insert(bits) {
                    return false;
                }
                GrantId::Minted(bits)
            }
            None => {
                if !self.other.insert(jti.into()) {
                    return false;
                }
                GrantId::Other(jti.into())
            }
        };
        self.by_expiry.entry(exp).or_default().push(id);
        true
    }

    /// How many ids are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.minted.len() + self.other.len()
    }

    /// Drops the ids of grants that expired before `now`.
    fn forget_expired(&mut self, now: u64) {
        while let Some(bucket) = self.by_expiry.first_entry() {
            if *bucket.key() >= now {
                break;
            }
            for id in bucket.remove() {
                match id {
                    GrantId::Minted(bits) => self.minted.remove(&bits),
                    GrantId::Other(text) => self.other.remove(&text),
                };
            }
        }
    }
}

/// The bits of an id in the minted form: exactly 32 lowercase hex digits.
/// (Uppercase is another id, so it is kept as text, never folded into this one.)
fn parse_minted(jti: &str) -> Option<u128> {
    if jti.len() != 32 {
        return None;
    }
    jti.bytes().try_fold(0u128, |bits, byte| {
        let nibble = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            _ => return None,
        };
        Some(bits << 4 | u128::from(nibble))
    })
}

/// Folds a `u128` of random bits into 64: enough for a hash table, and free.
#[derive(Default)]
struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u128`s are hashed here; a generic fallback all the same.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word)).rotate_left(29);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 ^= (value as u64) ^ ((value >> 64) as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_admitted_once_until_it_expires() {
        let mut used = UsedGrants::default();
        assert!(used.admit("a", 100, 50));
        assert!(!used.admit("a", 100, 60));
        assert!(used.admit("b", 70, 60));
        // At 100 `b` (exp 70) is forgotten, `a` (exp 100) is not yet.
        assert!(!used.admit("a", 100, 100));
        assert_eq!(used.len(), 1);
        // Once forgotten, an id could be admitted again; the grant's own
        // `exp` refuses it before it gets here.
        assert!(used.admit("b", 200, 101));
        assert_eq!(used.len(), 1, "a (exp 100) was forgotten at 101");
    }

    #[test]
    fn minted_and_other_ids_are_told_apart() {
        let mut used = UsedGrants::default();
        let minted = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            parse_minted(minted),
            Some(0x0123456789abcdef0123456789abcdef)
        );
        assert!(used.admit(minted, 100, 1));
        assert!(!used.admit(minted, 100, 2));
        // The same digits in uppercase, or one digit short, are other ids.
        assert!(used.admit(&minted.to_uppercase(), 100, 2));
        assert!(!used.admit(&minted.to_uppercase(), 100, 3));
        assert!(used.admit(&minted[1..], 100, 3));
        assert!(used.admit("0123456789abcdef0123456789abcdeg", 100, 3));
        assert_eq!(used.len(), 4);
    }

    #[test]
    fn expired_ids_are_forgotten_without_scanning_live_ones() {
        let mut used = UsedGrants::default();
        for i in 0..1_000u128 {
            assert!(used.admit(&format!("{i:032x}"), 1_000, 10));
        }
        for i in 0..1_000 {
            assert!(used.admit(&format!("old{i}"), 20, 10));
        }
        assert_eq!(used.len(), 2_000);
        assert!(used.admit("new", 1_000, 21));
        assert_eq!(used.len(), 1_001);
    }
}
