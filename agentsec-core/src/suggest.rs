//! Did-you-mean: the closest valid name to a misspelt one.

/// The optimal string alignment distance between `a` and `b`: insertions,
/// deletions, substitutions and transpositions of two adjacent characters
/// each cost one, so `raed` is one edit from `read`.
///
/// ```
/// use agentsec_core::suggest::edit_distance;
/// assert_eq!(edit_distance("raed", "read"), 1);
/// assert_eq!(edit_distance("kitten", "sitting"), 3);
/// ```
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: two back (for transpositions), one back, and the current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            cur[j] = best;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a plausible
/// typo: at most a third of the longer name's length (and at least one) edits
/// away. Ties go to the first candidate.
///
/// ```
/// use agentsec_core::suggest::closest;
/// let keys = ["read", "write", "delete", "egress"];
/// assert_eq!(closest("raed", &keys), Some("read"));
/// assert_eq!(closest("wrtie", &keys), Some("write"));
/// assert_eq!(closest("banana", &keys), None);
/// ```
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, c)| *d <= (c.chars().count().max(name.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_kind_of_edit_once() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("read", "read"), 0);
        assert_eq!(edit_distance("rea", "read"), 1);
        assert_eq!(edit_distance("reads", "read"), 1);
        assert_eq!(edit_distance("reed", "read"), 1);
        assert_eq!(edit_distance("raed", "read"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
        // Not a transposition: two substitutions.
        assert_eq!(edit_distance("abc", "cba"), 2);
        assert_eq!(edit_distance("ça", "aç"), 1);
    }

    #[test]
    fn suggests_only_plausible_typos() {
        let keys = ["read", "write", "delete", "egress", "scope", "pure"];
        assert_eq!(closest("raed", &keys), Some("read"));
        assert_eq!(closest("scoep", &keys), Some("scope"));
        assert_eq!(closest("egres", &keys), Some("egress"));
        assert_eq!(closest("xyz", &keys), None);
        assert_eq!(
            closest("list_ordres", &["list_orders"]),
            Some("list_orders")
        );
        assert_eq!(closest("x", &[]), None);
    }
}
