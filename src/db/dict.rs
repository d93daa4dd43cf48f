//! `Dict<V>`: the keyspace hash table, keyed by binary strings.
//!
//! Chained buckets in power-of-two tables, rehashed incrementally as in
//! Redis's `dict.c`: when the table must grow or shrink, a second table is
//! allocated and every mutating operation (plus the cron, through
//! `rehash_for`) moves a few buckets across, so no single command pays for
//! moving millions of keys.
//!
//! The layout exists for SCAN: the cursor walks bucket indexes in
//! reverse-bit order (Redis's `dictScan`), which visits every key present
//! for the whole scan at least once, even when the table grows or shrinks
//! between two calls, because a bucket's entries only ever move to
//! buckets sharing its low bits. While rehashing, a step visits the
//! smaller table's bucket and all the larger table's buckets that expand
//! from it. Random sampling (RANDOMKEY, eviction) picks random non-empty
//! buckets.

use std::hash::{BuildHasher, Hasher, RandomState};

pub type Key = Box<[u8]>;

/// One entry; a bucket is a singly linked chain of them. A bucket costs 8
/// bytes (a nullable pointer), so a new table is a zeroed allocation the
/// OS hands out lazily, and rehashing only relinks nodes.
struct Node<V> {
    key: Key,
    val: V,
    next: Slot<V>,
}

type Slot<V> = Option<Box<Node<V>>>;

pub struct Dict<V> {
    t0: Vec<Slot<V>>,
    /// Rehash target while `rehash_idx` is Some.
    t1: Vec<Slot<V>>,
    /// Next bucket of `t0` to move into `t1`.
    rehash_idx: Option<usize>,
    len: usize,
    hasher: RandomState,
    /// DEBUG DICT-RESIZING 0 freezes the table size (unless it gets far
    /// too full, as Redis's `dict_force_resize_ratio`).
    pub resize_allowed: bool,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict::new()
    }
}

const MIN_SIZE: usize = 4;
const FORCE_RATIO: usize = 4;

fn empty_table<V>(n: usize) -> Vec<Slot<V>> {
    let mut v = Vec::with_capacity(n);
    v.resize_with(n, || None);
    v
}

fn chain<V>(s: &Slot<V>) -> impl Iterator<Item = &Node<V>> {
    std::iter::successors(s.as_deref(), |n| n.next.as_deref())
}

fn find<'a, V>(s: &'a Slot<V>, k: &[u8]) -> Option<&'a Node<V>> {
    chain(s).find(|n| &*n.key == k)
}

fn find_mut<'a, V>(mut cur: &'a mut Slot<V>, k: &[u8]) -> Option<&'a mut Node<V>> {
    loop {
        if cur.as_ref()?.key.as_ref() == k {
            return cur.as_deref_mut();
        }
        cur = &mut cur.as_mut()?.next;
    }
}

fn unlink<V>(mut cur: &mut Slot<V>, k: &[u8]) -> Option<Box<Node<V>>> {
    loop {
        if cur.as_ref()?.key.as_ref() == k {
            let mut node = cur.take()?;
            *cur = node.next.take();
            return Some(node);
        }
        cur = &mut cur.as_mut()?.next;
    }
}

impl<V> Dict<V> {
    pub fn new() -> Dict<V> {
        Dict {
            t0: Vec::new(),
            t1: Vec::new(),
            rehash_idx: None,
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

    /// Number of buckets (the main table's size in Redis's terms).
    pub fn slots(&self) -> usize {
        self.t0.len()
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    #[inline]
    fn hash(&self, k: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(k);
        h.finish()
    }

    pub fn hash_of(&self, k: &[u8]) -> u64 {
        self.hash(k)
    }

    /// The bucket of `t0` to search for hash `h`, unless already moved.
    #[inline]
    fn t0_index(&self, h: usize) -> Option<usize> {
        let i = h & (self.t0.len() - 1);
        if self.rehash_idx.is_none_or(|r| i >= r) {
            Some(i)
        } else {
            None
        }
    }

    fn node(&self, k: &[u8]) -> Option<&Node<V>> {
        if self.len == 0 {
            return None;
        }
        let h = self.hash(k) as usize;
        if let Some(i) = self.t0_index(h)
            && let Some(n) = find(&self.t0[i], k)
        {
            return Some(n);
        }
        if self.t1.is_empty() {
            return None;
        }
        find(&self.t1[h & (self.t1.len() - 1)], k)
    }

    pub fn get(&self, k: &[u8]) -> Option<&V> {
        self.node(k).map(|n| &n.val)
    }

    pub fn get_key_value(&self, k: &[u8]) -> Option<(&Key, &V)> {
        self.node(k).map(|n| (&n.key, &n.val))
    }

    pub fn get_mut(&mut self, k: &[u8]) -> Option<&mut V> {
        if self.len == 0 {
            return None;
        }
        let h = self.hash(k) as usize;
        self.get_mut_hashed(k, h)
    }

    /// `get_mut` with the key's hash already computed.
    fn get_mut_hashed(&mut self, k: &[u8], h: usize) -> Option<&mut V> {
        if self.len == 0 {
            return None;
        }
        let in_t0 = match self.t0_index(h) {
            Some(i) => find(&self.t0[i], k).is_some().then_some(i),
            None => None,
        };
        if let Some(i) = in_t0 {
            return find_mut(&mut self.t0[i], k).map(|n| &mut n.val);
        }
        if self.t1.is_empty() {
            return None;
        }
        let j = h & (self.t1.len() - 1);
        find_mut(&mut self.t1[j], k).map(|n| &mut n.val)
    }

    pub fn contains(&self, k: &[u8]) -> bool {
        self.node(k).is_some()
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, k: &[u8], v: V) -> Option<V> {
        self.rehash_step(1);
        // One hash serves the lookup and the insertion.
        let h = self.hash(k) as usize;
        if let Some(slot) = self.get_mut_hashed(k, h) {
            return Some(std::mem::replace(slot, v));
        }
        self.expand_if_needed();
        let slot = if self.rehash_idx.is_some() {
            let n = self.t1.len();
            &mut self.t1[h & (n - 1)]
        } else {
            let n = self.t0.len();
            &mut self.t0[h & (n - 1)]
        };
        let next = slot.take();
        *slot = Some(Box::new(Node {
            key: k.into(),
            val: v,
            next,
        }));
        self.len += 1;
        None
    }

    pub fn remove(&mut self, k: &[u8]) -> Option<V> {
        if self.len == 0 {
            return None;
        }
        self.rehash_step(1);
        let h = self.hash(k) as usize;
        let mut node = None;
        if let Some(i) = self.t0_index(h) {
            node = unlink(&mut self.t0[i], k);
        }
        if node.is_none() && !self.t1.is_empty() {
            let j = h & (self.t1.len() - 1);
            node = unlink(&mut self.t1[j], k);
        }
        let node = node?;
        self.len -= 1;
        self.shrink_if_needed();
        Some(node.val)
    }

    fn start_rehash(&mut self, n: usize) {
        if self.t0.is_empty() {
            self.t0 = empty_table(n);
            return;
        }
        self.t1 = empty_table(n);
        self.rehash_idx = Some(0);
    }

    fn expand_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        if self.t0.is_empty() {
            self.t0 = empty_table(MIN_SIZE);
        } else if self.len >= self.t0.len()
            && (self.resize_allowed || self.len >= self.t0.len() * FORCE_RATIO)
        {
            let n = (self.len + 1).next_power_of_two().max(self.t0.len() * 2);
            self.start_rehash(n);
        }
    }

    fn shrink_if_needed(&mut self) {
        if self.len == 0 && self.rehash_idx.is_none() {
            self.t0 = Vec::new();
            return;
        }
        if !self.resize_allowed || self.rehash_idx.is_some() {
            return;
        }
        let size = self.t0.len();
        if size > MIN_SIZE && self.len * 8 <= size {
            let n = self.len.next_power_of_two().max(MIN_SIZE);
            self.start_rehash(n);
        }
    }

    /// Re-applies the resize policy (after DEBUG DICT-RESIZING 1).
    pub fn resize_now(&mut self) {
        self.shrink_if_needed();
        self.expand_if_needed();
    }

    /// Moves up to `n` non-empty buckets to the new table (visiting at most
    /// 10n empty ones). Returns true while rehashing remains.
    pub fn rehash_step(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        let mut moves = n;
        let mut empty_visits = n * 10;
        let mask = self.t1.len() - 1;
        while moves > 0 && idx < self.t0.len() {
            let mut cur = self.t0[idx].take();
            if cur.is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    break;
                }
                continue;
            }
            while let Some(mut node) = cur {
                cur = node.next.take();
                let j = self.hash(&node.key) as usize & mask;
                node.next = self.t1[j].take();
                self.t1[j] = Some(node);
            }
            idx += 1;
            moves -= 1;
        }
        if idx >= self.t0.len() {
            self.t0 = std::mem::take(&mut self.t1);
            self.rehash_idx = None;
            false
        } else {
            self.rehash_idx = Some(idx);
            true
        }
    }

    /// Rehashes for about `us` microseconds (called from the cron).
    pub fn rehash_for(&mut self, us: u64) {
        if self.rehash_idx.is_none() {
            return;
        }
        let start = std::time::Instant::now();
        while self.rehash_step(100) {
            if start.elapsed().as_micros() as u64 >= us {
                break;
            }
        }
    }

    pub fn clear(&mut self) {
        self.t0 = Vec::new();
        self.t1 = Vec::new();
        self.rehash_idx = None;
        self.len = 0;
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &V)> {
        self.t0
            .iter()
            .chain(self.t1.iter())
            .flat_map(|s| chain(s).map(|n| (&n.key, &n.val)))
    }

    /// Visits the buckets at `cursor` and returns the next cursor (0 when
    /// the scan is complete).
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a Key, &'a V)) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let next = |v: u64, mask: u64| -> u64 {
            let mut c = v | !mask;
            c = c.reverse_bits();
            c = c.wrapping_add(1);
            c.reverse_bits()
        };
        let mut v = cursor;
        if self.rehash_idx.is_none() {
            let m0 = (self.t0.len() - 1) as u64;
            for n in chain(&self.t0[(v & m0) as usize]) {
                f(&n.key, &n.val);
            }
            return next(v, m0);
        }
        let (small, big) = if self.t0.len() <= self.t1.len() {
            (&self.t0, &self.t1)
        } else {
            (&self.t1, &self.t0)
        };
        let m0 = (small.len() - 1) as u64;
        let m1 = (big.len() - 1) as u64;
        for n in chain(&small[(v & m0) as usize]) {
            f(&n.key, &n.val);
        }
        loop {
            for n in chain(&big[(v & m1) as usize]) {
                f(&n.key, &n.val);
            }
            v = next(v, m1);
            if v & (m0 ^ m1) == 0 {
                break;
            }
        }
        v
    }

    /// A random entry: a random non-empty bucket, then a random element.
    pub fn random(&self, rng: &mut crate::util::Rng) -> Option<(&Key, &V)> {
        if self.len == 0 {
            return None;
        }
        let total = self.t0.len() + self.t1.len();
        loop {
            let i = rng.next() as usize % total;
            let s = if i < self.t0.len() {
                &self.t0[i]
            } else {
                &self.t1[i - self.t0.len()]
            };
            if s.is_some() {
                let len = chain(s).count();
                let n = chain(s).nth(rng.next() as usize % len)?;
                return Some((&n.key, &n.val));
            }
        }
    }

    fn table_stats(t: &[Slot<V>], idx: usize, out: &mut String) {
        let name = if idx == 0 {
            "main hash table"
        } else {
            "rehashing target"
        };
        let lens: Vec<usize> = t.iter().map(|s| chain(s).count()).collect();
        let n: usize = lens.iter().sum();
        if n == 0 {
            out.push_str(&format!(
                "Hash table {idx} stats ({name}):\nNo stats available for empty dictionaries\n"
            ));
            return;
        }
        let used = lens.iter().filter(|&&l| l > 0).count();
        let maxchain = lens.iter().copied().max().unwrap_or(0);
        out.push_str(&format!(
            "Hash table {idx} stats ({name}):\n table size: {}\n number of elements: {}\n different slots: {}\n max chain length: {}\n avg chain length (counted): {:.2}\n avg chain length (computed): {:.2}\n",
            t.len(),
            n,
            used,
            maxchain,
            n as f64 / used.max(1) as f64,
            n as f64 / used.max(1) as f64
        ));
    }

    /// Table sizes and chain lengths, for DEBUG HTSTATS.
    pub fn stats(&self) -> String {
        let mut s = String::new();
        if self.t0.is_empty() {
            s.push_str("Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n");
            return s;
        }
        Self::table_stats(&self.t0, 0, &mut s);
        if self.rehash_idx.is_some() {
            Self::table_stats(&self.t1, 1, &mut s);
        }
        s
    }

    /// Keeps only the entries for which `f` returns true.
    pub fn retain(&mut self, mut f: impl FnMut(&Key, &mut V) -> bool) {
        let mut removed = 0;
        for slot in self.t0.iter_mut().chain(self.t1.iter_mut()) {
            let mut cur = slot.take();
            while let Some(mut node) = cur {
                cur = node.next.take();
                if f(&node.key, &mut node.val) {
                    node.next = slot.take();
                    *slot = Some(node);
                } else {
                    removed += 1;
                }
            }
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
            assert!(d.remove(format!("k{i}").as_bytes()).is_some(), "k{i}");
        }
        assert_eq!(d.len(), 10);
        while d.rehash_step(100) {}
        for i in 990..1000 {
            assert!(d.contains(format!("k{i}").as_bytes()));
        }
        assert_eq!(d.iter().count(), 10);
    }

    #[test]
    fn rehash_is_incremental() {
        let mut d = Dict::new();
        for i in 0..4096 {
            d.insert(format!("k{i}").as_bytes(), i);
        }
        while d.rehash_step(1000) {}
        d.insert(b"one-more", 0);
        assert!(d.is_rehashing(), "growth starts a rehash");
        for i in 0..4096 {
            assert_eq!(d.get(format!("k{i}").as_bytes()), Some(&i));
        }
    }

    #[test]
    fn scan_survives_growth_and_shrink() {
        for seed in 0..20 {
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
                if step == 3 + seed % 5 {
                    for i in 0..2000 {
                        d.insert(format!("b{i}").as_bytes(), ());
                    }
                }
                if step == 40 + seed {
                    for i in 0..2000 {
                        d.remove(format!("b{i}").as_bytes());
                    }
                }
                if cursor == 0 {
                    break;
                }
            }
            for i in 0..100 {
                assert!(
                    seen.contains(format!("a{i}").as_bytes()),
                    "missing a{i} (seed {seed})"
                );
            }
        }
    }

    #[test]
    fn random_finds_entries_in_both_tables() {
        let mut d = Dict::new();
        for i in 0..64 {
            d.insert(format!("k{i}").as_bytes(), i);
        }
        let mut rng = crate::util::Rng::new();
        for _ in 0..100 {
            assert!(d.random(&mut rng).is_some());
        }
    }
}
