//! The ids of grants already accepted, kept until the grants expire.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Grant ids seen, and when each stops mattering.
///
/// A grant is accepted once: its id is remembered until its `exp` (after
/// that the grant is refused as expired anyway). Ids are kept in a set for
/// the replay check and in buckets by expiry second, so forgetting expired
/// ids touches only those ids: the bookkeeping costs the same with ten or a
/// million live grants (a scan over all of them per call would not).
#[derive(Debug, Default)]
pub(super) struct UsedGrants {
    ids: HashSet<Arc<str>>,
    by_expiry: BTreeMap<u64, Vec<Arc<str>>>,
}

impl UsedGrants {
    /// Records `jti` (valid until `exp`) as used at `now`; `false` if it was
    /// used before.
    pub(super) fn admit(&mut self, jti: &str, exp: u64, now: u64) -> bool {
        self.forget_expired(now);
        let id: Arc<str> = Arc::from(jti);
        if !self.ids.insert(id.clone()) {
            return false;
        }
        self.by_expiry.entry(exp).or_default().push(id);
        true
    }

    /// How many ids are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Drops the ids of grants that expired before `now`.
    fn forget_expired(&mut self, now: u64) {
        while let Some(bucket) = self.by_expiry.first_entry() {
            if *bucket.key() >= now {
                break;
            }
            for id in bucket.remove() {
                self.ids.remove(&id);
            }
        }
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
    fn expired_ids_are_forgotten_without_scanning_live_ones() {
        let mut used = UsedGrants::default();
        for i in 0..1_000 {
            assert!(used.admit(&format!("live{i}"), 1_000, 10));
        }
        for i in 0..1_000 {
            assert!(used.admit(&format!("old{i}"), 20, 10));
        }
        assert_eq!(used.len(), 2_000);
        assert!(used.admit("new", 1_000, 21));
        assert_eq!(used.len(), 1_001);
    }
}
