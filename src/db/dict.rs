//! `Dict<V>`: the keyspace hash table, keyed by binary strings.
//!
//! Chained buckets in a power-of-two table. The layout exists for SCAN: the
//! cursor walks bucket indexes in reverse-bit order (Redis's `dictScan`),
//! which visits every key present for the whole scan exactly once or more,
//! even when the table doubles or halves between two calls, because a
//! bucket's entries only ever move to buckets that share its low bits.
//! Random sampling (RANDOMKEY, eviction, active expiry) picks a random
//! non-empty bucket.

use std::hash::{BuildHasher, Hasher, RandomState};

pub type Key = Box<[u8]>;

pub struct Dict<V> {
    buckets: Vec<Vec<(Key, V)>>,
    len: usize,
    hasher: RandomState,
    /// DEBUG DICT-RESIZING 0 freezes the table size.
    pub resize_allowed: bool,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict::new()
    }
}

const MIN_SIZE: usize = 4;

impl<V> Dict<V> {
    pub fn new() -> Dict<V> {
        Dict {
            buckets: Vec::new(),
            len: 0,
            hasher: RandomState::new(),
            resize_allowed: true,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets (the table's size in Redis's terms).
    pub fn slots(&self) -> usize {
        self.buckets.len()
    }

    #[inline]
    fn hash(&self, k: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(k);
        h.finish()
    }

    #[inline]
    fn idx(&self, k: &[u8]) -> usize {
        (self.hash(k) as usize) & (self.buckets.len() - 1)
    }

    pub fn get(&self, k: &[u8]) -> Option<&V> {
        if self.len == 0 {
            return None;
        }
        self.buckets[self.idx(k)]
            .iter()
            .find(|(kk, _)| &**kk == k)
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, k: &[u8]) -> Option<&mut V> {
        if self.len == 0 {
            return None;
        }
        let i = self.idx(k);
        self.buckets[i]
            .iter_mut()
            .find(|(kk, _)| &**kk == k)
            .map(|(_, v)| v)
    }

    pub fn get_key_value(&self, k: &[u8]) -> Option<(&Key, &V)> {
        if self.len == 0 {
            return None;
        }
        self.buckets[self.idx(k)]
            .iter()
            .find(|(kk, _)| &**kk == k)
            .map(|(k, v)| (k, v))
    }

    pub fn contains(&self, k: &[u8]) -> bool {
        self.get(k).is_some()
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, k: &[u8], v: V) -> Option<V> {
        if let Some(slot) = self.get_mut(k) {
            return Some(std::mem::replace(slot, v));
        }
        self.grow_if_needed();
        let i = self.idx(k);
        let b = &mut self.buckets[i];
        // Most chains hold one entry: don't let Vec's default growth
        // reserve four.
        b.reserve_exact(1);
        b.push((k.into(), v));
        self.len += 1;
        None
    }

    pub fn remove(&mut self, k: &[u8]) -> Option<V> {
        if self.len == 0 {
            return None;
        }
        let i = self.idx(k);
        let b = &mut self.buckets[i];
        let pos = b.iter().position(|(kk, _)| &**kk == k)?;
        let (_, v) = b.swap_remove(pos);
        if b.is_empty() && b.capacity() > 4 {
            b.shrink_to_fit();
        }
        self.len -= 1;
        self.shrink_if_needed();
        Some(v)
    }

    fn grow_if_needed(&mut self) {
        if self.buckets.is_empty() {
            self.rehash(MIN_SIZE);
        } else if self.len >= self.buckets.len()
            && (self.resize_allowed || self.len >= self.buckets.len() * 4)
        {
            self.rehash(self.buckets.len() * 2);
        }
    }

    fn shrink_if_needed(&mut self) {
        if !self.resize_allowed {
            return;
        }
        let size = self.buckets.len();
        if size > MIN_SIZE && self.len * 8 <= size {
            let mut n = MIN_SIZE;
            while n < self.len {
                n *= 2;
            }
            self.rehash(n);
        }
        if self.len == 0 && !self.buckets.is_empty() {
            self.buckets = Vec::new();
        }
    }

    /// Re-applies the resize policy (after DEBUG DICT-RESIZING 1).
    pub fn resize_now(&mut self) {
        self.shrink_if_needed();
    }

    fn rehash(&mut self, n: usize) {
        let old = std::mem::replace(&mut self.buckets, (0..n).map(|_| Vec::new()).collect());
        for b in old {
            for (k, v) in b {
                let i = self.idx(&k);
                let b = &mut self.buckets[i];
                b.reserve_exact(1);
                b.push((k, v));
            }
        }
    }

    pub fn clear(&mut self) {
        self.buckets = Vec::new();
        self.len = 0;
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &V)> {
        self.buckets
            .iter()
            .flat_map(|b| b.iter().map(|(k, v)| (k, v)))
    }

    /// Visits one bucket at `cursor` and returns the next cursor (0 when
    /// the scan is complete).
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&Key, &V)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        for (k, v) in &self.buckets[(cursor & mask) as usize] {
            f(k, v);
        }
        let mut c = cursor | !mask;
        c = c.reverse_bits();
        c = c.wrapping_add(1);
        c.reverse_bits()
    }

    /// A uniformly chosen bucket's random entry (bucket-biased, as Redis's
    /// `dictGetFairRandomKey` approximately is).
    pub fn random(&self, rng: &mut crate::util::Rng) -> Option<(&Key, &V)> {
        if self.len == 0 {
            return None;
        }
        let mask = self.buckets.len() - 1;
        loop {
            let b = &self.buckets[rng.next() as usize & mask];
            if !b.is_empty() {
                let (k, v) = &b[rng.next() as usize % b.len()];
                return Some((k, v));
            }
        }
    }

    /// Bucket chain length histogram, for DEBUG HTSTATS.
    pub fn stats(&self) -> String {
        let mut s = String::new();
        if self.buckets.is_empty() {
            s.push_str("No stats available for empty dictionaries\n");
            return s;
        }
        let used = self.buckets.iter().filter(|b| !b.is_empty()).count();
        let maxchain = self.buckets.iter().map(|b| b.len()).max().unwrap_or(0);
        s.push_str(&format!(
            "Hash table 0 stats (main hash table):\n table size: {}\n number of elements: {}\n different slots: {}\n max chain length: {}\n",
            self.buckets.len(),
            self.len,
            used,
            maxchain
        ));
        s
    }

    pub fn hash_of(&self, k: &[u8]) -> u64 {
        self.hash(k)
    }

    /// Keeps only the entries for which `f` returns true.
    pub fn retain(&mut self, mut f: impl FnMut(&Key, &mut V) -> bool) {
        let mut removed = 0;
        for b in &mut self.buckets {
            let before = b.len();
            b.retain_mut(|(k, v)| f(k, v));
            removed += before - b.len();
        }
        self.len -= removed;
        self.shrink_if_needed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn insert_get_remove() {
        let mut d = Dict::new();
        for i in 0..1000 {
            assert!(d.insert(format!("k{i}").as_bytes(), i).is_none());
        }
        assert_eq!(d.len(), 1000);
        assert_eq!(d.get(b"k7"), Some(&7));
        assert_eq!(d.insert(b"k7", 70), Some(7));
        for i in 0..990 {
            assert!(d.remove(format!("k{i}").as_bytes()).is_some());
        }
        assert_eq!(d.len(), 10);
        assert!(d.slots() <= 16);
    }

    #[test]
    fn scan_survives_growth_and_shrink() {
        let mut d = Dict::new();
        for i in 0..100 {
            d.insert(format!("a{i}").as_bytes(), ());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = d.scan(cursor, |k, _| {
                seen.insert(k.clone());
            });
            step += 1;
            if step == 5 {
                for i in 0..2000 {
                    d.insert(format!("b{i}").as_bytes(), ());
                }
            }
            if step == 40 {
                for i in 0..2000 {
                    d.remove(format!("b{i}").as_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..100 {
            assert!(seen.contains(format!("a{i}").as_bytes()), "missing a{i}");
        }
    }
}
