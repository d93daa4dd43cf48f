//! Pure data structures behind the collection types: no I/O, no replies.
//! Each type hides its encodings behind one API, as Redis's `setType*` and
//! `hashType*` functions do; commands never look at the encoding.

pub mod bytes;
pub mod geohash;
pub mod hash;
pub mod hll;
pub mod list;
pub mod packed;
pub mod set;
pub mod stream;
pub mod zset;

use std::sync::RwLock;

/// The encoding thresholds of the collection types, as configured
/// (`hash-max-listpack-*`, `set-max-intset-entries`, `set-max-listpack-*`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub hash_lp_entries: usize,
    pub hash_lp_value: usize,
    pub set_intset_entries: usize,
    pub set_lp_entries: usize,
    pub set_lp_value: usize,
    pub zset_lp_entries: usize,
    pub zset_lp_value: usize,
}

impl Limits {
    /// Redis's defaults.
    pub const DEFAULT: Limits = Limits {
        hash_lp_entries: 512,
        hash_lp_value: 64,
        set_intset_entries: 512,
        set_lp_entries: 128,
        set_lp_value: 64,
        zset_lp_entries: 128,
        zset_lp_value: 64,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// The thresholds in force. Config keeps this up to date on every change;
/// it is global (not threaded through `Ctx`) because the RDB loader, which
/// re-encodes values as Redis's `rdbLoadObject` does, needs it too.
static LIMITS: RwLock<Limits> = RwLock::new(Limits::DEFAULT);

pub fn limits() -> Limits {
    *LIMITS.read().unwrap_or_else(|e| e.into_inner())
}

pub fn set_limits(l: Limits) {
    *LIMITS.write().unwrap_or_else(|e| e.into_inner()) = l;
}

/// Keeps `count` elements of `all` chosen uniformly at random, in their
/// original order (SRANDMEMBER/HRANDFIELD when most elements are wanted).
pub fn pick_distinct<T>(all: Vec<T>, count: usize, rng: &mut crate::util::Rng) -> Vec<T> {
    let n = all.len();
    let mut out = Vec::with_capacity(count.min(n));
    let mut it = all.into_iter();
    let mut prev = 0;
    for i in distinct_indexes(n, count, rng) {
        if let Some(x) = it.nth(i - prev) {
            out.push(x);
        }
        prev = i + 1;
    }
    out
}

/// Picks `count` distinct indexes out of `0..n` (count <= n), uniformly,
/// in ascending order (Floyd's algorithm).
pub fn distinct_indexes(n: usize, count: usize, rng: &mut crate::util::Rng) -> Vec<usize> {
    let count = count.min(n);
    if count * 2 > n {
        // Cheaper to choose the ones left out.
        let out = distinct_indexes(n, n - count, rng);
        let mut keep = Vec::with_capacity(count);
        let mut j = 0;
        for i in 0..n {
            if j < out.len() && out[j] == i {
                j += 1;
            } else {
                keep.push(i);
            }
        }
        return keep;
    }
    let mut chosen = std::collections::HashSet::with_capacity(count);
    for j in n - count..n {
        let t = (rng.next() % (j as u64 + 1)) as usize;
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut v: Vec<usize> = chosen.into_iter().collect();
    v.sort_unstable();
    v
}

/// A fair random entry of a `Dict` (Redis's `dictGetFairRandomKey`; see
/// `Dict::fair_random`).
pub fn dict_fair_random<'a, V>(
    d: &'a crate::db::Dict<V>,
    rng: &mut crate::util::Rng,
) -> Option<(&'a [u8], &'a V)> {
    d.fair_random(rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_indexes_are_distinct_sorted_and_in_range() {
        let mut rng = crate::util::Rng::new();
        for n in [1usize, 2, 5, 10, 100] {
            for c in 0..=n {
                let v = distinct_indexes(n, c, &mut rng);
                assert_eq!(v.len(), c);
                assert!(v.windows(2).all(|w| w[0] < w[1]));
                assert!(v.iter().all(|&i| i < n));
            }
        }
    }

    #[test]
    fn fair_random_reaches_every_entry() {
        let mut d = crate::db::Dict::new();
        for i in 0..10 {
            d.insert(format!("k{i}").as_bytes(), i);
        }
        let mut rng = crate::util::Rng::new();
        let mut hits = [0usize; 10];
        for _ in 0..10000 {
            let (_, &v) = dict_fair_random(&d, &mut rng).unwrap();
            hits[v] += 1;
        }
        // Exactly uniform for small dicts: every entry near 1000.
        assert!(hits.iter().all(|&h| h > 800 && h < 1200), "{hits:?}");
    }
}
