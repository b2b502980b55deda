//! The ids of grants already accepted, kept until the grants expire.
//!
//! A grant is accepted once: its id is remembered until its `exp` (after
//! that the grant is refused as expired anyway). The ledger is built so that
//! no admission waits long, however many grants are live:
//!
//! - it is split into [`SHARDS`] shards by the id's bits, each behind its own
//!   mutex, so concurrent admissions rarely meet and a shard's hash table,
//!   when it grows, rehashes 1/64 of the ids;
//! - expiry is incremental: every admission forgets at most
//!   [`FORGET_PER_ADMIT`] expired ids of its shard (more than the one it
//!   adds, so forgetting keeps pace with any sustained rate), never a whole
//!   second's worth at once;
//! - memory is bounded: a shard holds at most `capacity / SHARDS` ids. A
//!   shard that is full of live grants refuses the next one
//!   ([`Admission::Full`]): the call fails closed, it never runs unchecked.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

/// How many shards the ledger has (a power of two).
pub(super) const SHARDS: usize = 64;
/// The most expired ids one admission forgets.
pub(super) const FORGET_PER_ADMIT: usize = 4;
/// The default bound on remembered ids: 2^21, about 2 million live grants
/// (70,000 grants a second at the default 30-second lifetime). The tables
/// take about 70 bytes an id (the `replay_ledger` bench measured 104 MB at
/// 1.55 million ids), so about 140 MB at the bound.
pub const DEFAULT_REPLAY_CAPACITY: usize = 1 << 21;

/// What [`UsedGrants::admit`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admission {
    /// First use: remembered until it expires.
    Admitted,
    /// The id was used before.
    Replayed,
    /// The ledger is full of live grants: refused, fail closed.
    Full,
}

/// Grant ids seen, and when each stops mattering.
///
/// The ids the authority mints are 128 random bits (`u128`: 16 bytes, no
/// allocation, hashed by folding: the bits are already uniform, and only a
/// grant whose MAC or signature verified gets here, so nobody without the key
/// can choose ids to collide). Any other id, which only
/// [`GrantAuthority::sign`](super::GrantAuthority::sign) can produce, is
/// hashed with SHA-256 into the same 128-bit space (a collision would need
/// SHA-256's).
#[derive(Debug)]
pub(super) struct UsedGrants {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

#[derive(Debug, Default)]
struct Shard {
    ids: HashSet<u128, BuildHasherDefault<FoldHasher>>,
    /// Ids by expiry second, oldest first (a grant lives at most 60 s, so
    /// there are at most ~61 live buckets, plus expired ones not yet
    /// forgotten).
    by_expiry: VecDeque<(u64, Vec<u128>)>,
}

impl Default for UsedGrants {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_REPLAY_CAPACITY)
    }
}

impl UsedGrants {
    /// A ledger remembering at most `capacity` ids (rounded up to a multiple
    /// of [`SHARDS`]).
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// The most ids this ledger remembers.
    pub(super) fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// Records the id `jti` (valid until `exp`) as used at `now`.
    pub(super) fn admit_id(&self, jti: u128, exp: u64, now: u64) -> Admission {
        let shard = &self.shards[(jti as usize) & (SHARDS - 1)];
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        shard.forget_expired(now, FORGET_PER_ADMIT);
        if shard.ids.contains(&jti) {
            return Admission::Replayed;
        }
        if shard.ids.len() >= self.per_shard {
            // Full: try harder to make room, still bounded.
            shard.forget_expired(now, 1024);
            if shard.ids.len() >= self.per_shard {
                return Admission::Full;
            }
        }
        shard.ids.insert(jti);
        shard.remember(jti, exp);
        Admission::Admitted
    }

    /// Records the id `jti` as spelled in claims.
    pub(super) fn admit(&self, jti: &str, exp: u64, now: u64) -> Admission {
        self.admit_id(id_bits(jti), exp, now)
    }

    /// How many ids are remembered.
    pub(super) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).ids.len())
            .sum()
    }

    /// The bytes the ledger's tables hold now (allocated capacity, not just
    /// what is used): for the bound's test and the bench.
    pub(super) fn allocated_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let shard = s.lock().unwrap_or_else(|p| p.into_inner());
                // hashbrown: one control byte and one slot per bucket; it
                // holds up to 7/8 of its (power of two) buckets.
                let buckets = (shard.ids.capacity() * 8).div_ceil(7).next_power_of_two();
                buckets * (std::mem::size_of::<u128>() + 1)
                    + shard.by_expiry.capacity() * std::mem::size_of::<(u64, Vec<u128>)>()
                    + shard
                        .by_expiry
                        .iter()
                        .map(|(_, ids)| ids.capacity() * std::mem::size_of::<u128>())
                        .sum::<usize>()
            })
            .sum()
    }
}

impl Shard {
    fn remember(&mut self, jti: u128, exp: u64) {
        // Buckets are in expiry order; grants of one authority arrive with
        // (nearly) increasing expiry, so the right bucket is at or near the
        // back.
        let position = self
            .by_expiry
            .iter()
            .rposition(|(second, _)| *second <= exp);
        match position {
            Some(at) if self.by_expiry[at].0 == exp => self.by_expiry[at].1.push(jti),
            Some(at) => self.by_expiry.insert(at + 1, (exp, vec![jti])),
            None => self.by_expiry.push_front((exp, vec![jti])),
        }
    }

    /// Forgets at most `budget` ids of grants that expired before `now`.
    fn forget_expired(&mut self, now: u64, mut budget: usize) {
        while budget > 0 {
            let Some((second, ids)) = self.by_expiry.front_mut() else {
                return;
            };
            if *second >= now {
                return;
            }
            while budget > 0 {
                let Some(id) = ids.pop() else { break };
                self.ids.remove(&id);
                budget -= 1;
            }
            if ids.is_empty() {
                self.by_expiry.pop_front();
            }
        }
    }
}

/// The bits of an id: the minted form (exactly 32 lowercase hex digits) is
/// its own bits; any other id is the first 128 bits of its SHA-256 (another
/// id meets a minted one only through a SHA-256 preimage of chosen bits).
fn id_bits(jti: &str) -> u128 {
    parse_minted(jti).unwrap_or_else(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(jti.as_bytes());
        let mut bits = [0u8; 16];
        bits.copy_from_slice(&digest[..16]);
        u128::from_be_bytes(bits)
    })
}

/// The bits of an id in the minted form: exactly 32 lowercase hex digits.
/// (Uppercase is another id, so it is hashed, never folded into this one.)
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
/// The shard is chosen by the low bits, so the table hashes by the high ones.
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
        self.0 ^= ((value >> 64) as u64) ^ (value as u64).rotate_right(6);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_admitted_once_until_it_expires() {
        let used = UsedGrants::default();
        assert_eq!(used.admit("a", 100, 50), Admission::Admitted);
        assert_eq!(used.admit("a", 100, 60), Admission::Replayed);
        assert_eq!(used.admit("b", 70, 60), Admission::Admitted);
        // At 100 `a` (exp 100) is not yet forgotten.
        assert_eq!(used.admit("a", 100, 100), Admission::Replayed);
        // Once forgotten (the admission forgets expired ids of its shard
        // first), an id could be admitted again; the grant's own `exp`
        // refuses it before it gets here.
        assert_eq!(used.admit("a", 200, 101), Admission::Admitted);
    }

    #[test]
    fn minted_and_other_ids_are_told_apart() {
        let used = UsedGrants::default();
        let minted = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            parse_minted(minted),
            Some(0x0123456789abcdef0123456789abcdef)
        );
        assert_eq!(used.admit(minted, 100, 1), Admission::Admitted);
        assert_eq!(used.admit(minted, 100, 2), Admission::Replayed);
        // The same digits in uppercase, or one digit short, are other ids.
        assert_eq!(
            used.admit(&minted.to_uppercase(), 100, 2),
            Admission::Admitted
        );
        assert_eq!(
            used.admit(&minted.to_uppercase(), 100, 3),
            Admission::Replayed
        );
        assert_eq!(used.admit(&minted[1..], 100, 3), Admission::Admitted);
        assert_eq!(
            used.admit("0123456789abcdef0123456789abcdeg", 100, 3),
            Admission::Admitted
        );
        assert_eq!(used.len(), 4);
    }

    #[test]
    fn expired_ids_are_forgotten_a_few_per_admission() {
        let used = UsedGrants::with_capacity(1 << 16);
        for i in 0..10_000u128 {
            assert_eq!(
                used.admit_id(i * 0x9e37_79b9_7f4a_7c15, 20, 10),
                Admission::Admitted
            );
        }
        assert_eq!(used.len(), 10_000);
        // One admission after expiry forgets at most FORGET_PER_ADMIT ids.
        assert_eq!(used.admit_id(u128::MAX, 1_000, 21), Admission::Admitted);
        assert_eq!(used.len(), 10_001 - FORGET_PER_ADMIT);
        // A sustained stream forgets them all, since each admission forgets
        // more than it adds.
        for i in 0..10_000u128 {
            let id = (i + 1) << 70 | i;
            assert_eq!(used.admit_id(id, 1_000, 21), Admission::Admitted);
        }
        assert_eq!(used.len(), 10_001, "only the 10,001 live ids remain");
    }

    #[test]
    fn the_ledger_is_bounded_and_refuses_when_full_of_live_grants() {
        let used = UsedGrants::with_capacity(SHARDS * 8);
        assert_eq!(used.capacity(), SHARDS * 8);
        let mut admitted = 0;
        let mut full = 0;
        for i in 0..(SHARDS as u128 * 100) {
            match used.admit_id(i, 1_000, 10) {
                Admission::Admitted => admitted += 1,
                Admission::Full => full += 1,
                Admission::Replayed => panic!("every id is new"),
            }
        }
        assert_eq!(admitted, SHARDS * 8, "exactly the capacity is admitted");
        assert_eq!(full, SHARDS * 92);
        assert_eq!(used.len(), SHARDS * 8);
        // Ids already admitted are still refused as replays, not as full.
        assert_eq!(used.admit_id(0, 1_000, 11), Admission::Replayed);
        // Once those grants expire, the room is reused.
        assert_eq!(used.admit_id(1 << 100, 2_000, 1_001), Admission::Admitted);
        let bytes = used.allocated_bytes();
        assert!(
            bytes < 64 * 1024,
            "{bytes} bytes for {} ids",
            used.capacity()
        );
    }
}
