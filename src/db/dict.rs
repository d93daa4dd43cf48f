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
//!
//! Each entry is one allocation: the chain link, the value and the key's
//! bytes inline (Redis 8 embeds the key in the value object the same way).
//! Against a node pointing at a separately boxed key this saves a
//! malloc chunk and a pointer per key, and a lookup touches one cache line
//! where it touched two. That layout needs raw allocation; every unsafe
//! block below is confined to the node helpers and the chain walks.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

pub type Key = Box<[u8]>;

/// Header of an entry; the key's `klen` bytes follow it in the same
/// allocation. A bucket is a nullable pointer to the first entry of its
/// chain, so a new table is a zeroed allocation the OS hands out lazily,
/// and rehashing only relinks entries.
#[repr(C)]
struct Node<V> {
    next: Link<V>,
    val: V,
    klen: u32,
}

type Link<V> = Option<NonNull<Node<V>>>;

impl<V> Node<V> {
    /// Where the key bytes start: right after `klen`, not after the
    /// struct's tail padding.
    const KEY_OFFSET: usize = std::mem::offset_of!(Node<V>, klen) + 4;

    fn layout(klen: usize) -> Layout {
        let size = (Self::KEY_OFFSET + klen).max(std::mem::size_of::<Node<V>>());
        // Keys are bounded by proto-max-bulk-len (at most 2^31 or so),
        // far below isize::MAX.
        Layout::from_size_align(size, std::mem::align_of::<Node<V>>())
            .unwrap_or_else(|_| Layout::new::<Node<V>>())
    }

    /// Allocates an unlinked entry holding `k` and `v`.
    fn alloc(k: &[u8], v: V, next: Link<V>) -> NonNull<Node<V>> {
        let klen = u32::try_from(k.len()).expect("key length fits u32");
        let layout = Self::layout(k.len());
        // SAFETY: the layout has a non-zero size (at least the header).
        let raw = unsafe { alloc(layout) } as *mut Node<V>;
        let Some(n) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        // SAFETY: `raw` is a fresh allocation big enough for the header
        // plus `klen` bytes at KEY_OFFSET; nothing else aliases it.
        unsafe {
            ptr::write(raw, Node { next, val: v, klen });
            ptr::copy_nonoverlapping(k.as_ptr(), (raw as *mut u8).add(Self::KEY_OFFSET), k.len());
        }
        n
    }

    /// Drops the entry, returning its value.
    ///
    /// # Safety
    /// `n` must come from `Node::alloc`, be unlinked, and not be used again.
    unsafe fn free(n: NonNull<Node<V>>) -> V {
        // SAFETY: per the contract, `n` is a live entry owned by the caller.
        unsafe {
            let raw = n.as_ptr();
            let layout = Self::layout((*raw).klen as usize);
            let v = ptr::read(&(*raw).val);
            dealloc(raw as *mut u8, layout);
            v
        }
    }

    fn key(&self) -> &[u8] {
        // SAFETY: every Node lives in an allocation made by `Node::alloc`,
        // with `klen` initialised key bytes at KEY_OFFSET.
        unsafe {
            std::slice::from_raw_parts(
                (self as *const Self as *const u8).add(Self::KEY_OFFSET),
                self.klen as usize,
            )
        }
    }
}

/// Shared view of an entry for the lifetime of the dict borrow.
fn node_ref<'a, V>(n: NonNull<Node<V>>) -> &'a Node<V> {
    // SAFETY: links only ever point at live entries owned by the dict,
    // and callers tie 'a to a borrow of the dict.
    unsafe { &*n.as_ptr() }
}

/// Walks a chain, yielding each entry.
struct Chain<'a, V> {
    cur: Link<V>,
    _d: PhantomData<&'a Node<V>>,
}

impl<'a, V> Iterator for Chain<'a, V> {
    type Item = &'a Node<V>;
    fn next(&mut self) -> Option<&'a Node<V>> {
        let n = node_ref::<'a, V>(self.cur?);
        self.cur = n.next;
        Some(n)
    }
}

fn chain<V>(s: &Link<V>) -> Chain<'_, V> {
    Chain {
        cur: *s,
        _d: PhantomData,
    }
}

/// The entry holding `k` in the chain starting at `s`.
fn find<V>(s: Link<V>, k: &[u8]) -> Link<V> {
    let mut cur = s;
    while let Some(n) = cur {
        let node = node_ref(n);
        if node.key() == k {
            return Some(n);
        }
        cur = node.next;
    }
    None
}

/// Unlinks the entry holding `k` from the chain at `head`.
fn unlink<V>(head: &mut Link<V>, k: &[u8]) -> Link<V> {
    let mut prev: *mut Link<V> = head;
    // SAFETY: `prev` points at the bucket or at the `next` field of a live
    // entry of this chain; we hold the dict mutably, so nothing aliases.
    unsafe {
        while let Some(n) = *prev {
            let raw = n.as_ptr();
            if (*raw).key() == k {
                *prev = (*raw).next;
                (*raw).next = None;
                return Some(n);
            }
            prev = &mut (*raw).next;
        }
    }
    None
}

pub struct Dict<V> {
    t0: Vec<Link<V>>,
    /// Rehash target while `rehash_idx` is Some.
    t1: Vec<Link<V>>,
    /// Next bucket of `t0` to move into `t1`.
    rehash_idx: Option<usize>,
    len: usize,
    hasher: RandomState,
    /// DEBUG DICT-RESIZING 0 freezes the table size (unless it gets far
    /// too full, as Redis's `dict_force_resize_ratio`).
    pub resize_allowed: bool,
    _owns: PhantomData<Box<Node<V>>>,
}

// SAFETY: a Dict owns its entries outright (no sharing between dicts), so
// it can move to another thread whenever its values can.
unsafe impl<V: Send> Send for Dict<V> {}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict::new()
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        self.clear();
    }
}

const MIN_SIZE: usize = 4;
const FORCE_RATIO: usize = 4;

/// A table of `n` empty buckets from a zeroed allocation, so a big table's
/// pages are only faulted in as the incremental rehash writes them:
/// `vec![None; n]` writes every bucket up front (a 40 ms stall for the
/// 8M-bucket table of a growing 5M-key keyspace).
fn empty_table<V>(n: usize) -> Vec<Link<V>> {
    if n == 0 {
        return Vec::new();
    }
    let layout = Layout::array::<Link<V>>(n).expect("table size fits isize");
    // SAFETY: non-zero size; `Option<NonNull<_>>` is guaranteed to be a
    // nullable pointer whose `None` is all zero bits, so zeroed memory is
    // `n` valid empty buckets, allocated by the global allocator with the
    // layout Vec<Link<V>> of capacity n uses.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut Link<V>;
        if p.is_null() {
            handle_alloc_error(layout);
        }
        Vec::from_raw_parts(p, n, n)
    }
}

/// Frees every entry of a table.
fn free_table<V>(t: &mut [Link<V>]) {
    for s in t.iter_mut() {
        let mut cur = s.take();
        while let Some(n) = cur {
            // SAFETY: the table owned the chain; each entry is freed once.
            cur = node_ref(n).next;
            drop(unsafe { Node::free(n) });
        }
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
            _owns: PhantomData,
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

    /// Bytes of the bucket arrays: (all tables, the one being emptied by a
    /// rehash). INFO counts them as overhead, as Redis counts its tables.
    pub fn table_bytes(&self) -> (usize, usize) {
        let slot = std::mem::size_of::<Link<V>>();
        let moving = if self.rehash_idx.is_some() {
            self.t0.len() * slot
        } else {
            0
        };
        ((self.t0.len() + self.t1.len()) * slot, moving)
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

    /// The entry holding `k`, whose hash is `h`.
    fn find_hashed(&self, k: &[u8], h: usize) -> Link<V> {
        if self.len == 0 {
            return None;
        }
        if let Some(i) = self.t0_index(h)
            && let Some(n) = find(self.t0[i], k)
        {
            return Some(n);
        }
        if self.t1.is_empty() {
            return None;
        }
        find(self.t1[h & (self.t1.len() - 1)], k)
    }

    fn node(&self, k: &[u8]) -> Option<&Node<V>> {
        if self.len == 0 {
            return None;
        }
        self.find_hashed(k, self.hash(k) as usize).map(node_ref)
    }

    pub fn get(&self, k: &[u8]) -> Option<&V> {
        self.node(k).map(|n| &n.val)
    }

    pub fn get_key_value(&self, k: &[u8]) -> Option<(&[u8], &V)> {
        self.node(k).map(|n| (n.key(), &n.val))
    }

    pub fn get_mut(&mut self, k: &[u8]) -> Option<&mut V> {
        if self.len == 0 {
            return None;
        }
        let h = self.hash(k) as usize;
        let n = self.find_hashed(k, h)?;
        // SAFETY: the entry is owned by self, which is borrowed mutably
        // for the returned lifetime.
        Some(unsafe { &mut (*n.as_ptr()).val })
    }

    pub fn contains(&self, k: &[u8]) -> bool {
        self.node(k).is_some()
    }

    /// Inserts `k`, which the caller knows is absent, and returns the
    /// stored copy of the key: its address is stable until the entry is
    /// removed (rehashing relinks entries, it never moves them), so an
    /// index over the same members can point at it instead of keeping a
    /// second copy.
    pub fn insert_absent(&mut self, k: &[u8], v: V) -> &[u8] {
        debug_assert!(!self.contains(k));
        self.rehash_step(1);
        let h = self.hash(k) as usize;
        node_ref(self.link_new(k, v, h)).key()
    }

    /// Adds an entry for a key not in the dict, whose hash is `h`.
    fn link_new(&mut self, k: &[u8], v: V, h: usize) -> NonNull<Node<V>> {
        self.expand_if_needed();
        let slot = if self.rehash_idx.is_some() {
            let n = self.t1.len();
            &mut self.t1[h & (n - 1)]
        } else {
            let n = self.t0.len();
            &mut self.t0[h & (n - 1)]
        };
        let node = Node::alloc(k, v, *slot);
        *slot = Some(node);
        self.len += 1;
        node
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, k: &[u8], v: V) -> Option<V> {
        self.rehash_step(1);
        // One hash serves the lookup and the insertion.
        let h = self.hash(k) as usize;
        if let Some(n) = self.find_hashed(k, h) {
            // SAFETY: as in get_mut.
            return Some(std::mem::replace(unsafe { &mut (*n.as_ptr()).val }, v));
        }
        self.link_new(k, v, h);
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
        // SAFETY: just unlinked; we own it now.
        Some(unsafe { Node::free(node) })
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
            // Under maxmemory a table that is not yet overloaded does not
            // grow past the limit (Redis's `dictResizeAllowed`).
            if self.len * 1000 <= self.t0.len() * 1618
                && crate::evict::over_after_alloc(n * std::mem::size_of::<Link<V>>())
            {
                return;
            }
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
            while let Some(n) = cur {
                let raw = n.as_ptr();
                // SAFETY: `n` was taken out of t0's chain, which we own;
                // relinking it into t1 keeps it owned exactly once.
                let j = unsafe {
                    cur = (*raw).next;
                    let j = self.hash((*raw).key()) as usize & mask;
                    (*raw).next = self.t1[j];
                    j
                };
                self.t1[j] = Some(n);
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
        free_table(&mut self.t0);
        free_table(&mut self.t1);
        self.t0 = Vec::new();
        self.t1 = Vec::new();
        self.rehash_idx = None;
        self.len = 0;
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.t0
            .iter()
            .chain(self.t1.iter())
            .flat_map(|s| chain(s).map(|n| (n.key(), &n.val)))
    }

    /// Visits the buckets at `cursor` and returns the next cursor (0 when
    /// the scan is complete).
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a V)) -> u64 {
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
                f(n.key(), &n.val);
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
            f(n.key(), &n.val);
        }
        loop {
            for n in chain(&big[(v & m1) as usize]) {
                f(n.key(), &n.val);
            }
            v = next(v, m1);
            if v & (m0 ^ m1) == 0 {
                break;
            }
        }
        v
    }

    /// A random entry, close to uniform even with chains of unequal
    /// length, reading as few entries as possible (each is a cache miss):
    /// up to 15 non-empty buckets are gathered from consecutive indexes
    /// from a random start (both tables while rehashing; a long empty run
    /// jumps elsewhere, as Redis's `dictGetSomeKeys`), then a bucket and a
    /// position below max(cap, its chain length) are drawn until the
    /// position holds an entry, so a chained entry is as likely as a lone
    /// one. `cap` is the longest gathered chain in a small dict; in a big
    /// one it is 2 (an entry of a longer chain, rare at Redis's load
    /// factors, is slightly less likely), so about 1 to 2 entries are read.
    pub fn fair_random(&self, rng: &mut crate::util::Rng) -> Option<(&[u8], &V)> {
        const WANT: usize = 15;
        if self.len == 0 {
            return None;
        }
        let mut heads: [Link<V>; WANT] = [None; WANT];
        let mut found = 0;
        let big = self.t0.len().max(self.t1.len());
        let mask = big - 1;
        let mut i = rng.next() as usize & mask;
        // At most one lap: a bucket gathered twice would count double.
        let (mut steps, mut empty) = ((WANT * 10).min(big), 0);
        while found < WANT && steps > 0 {
            steps -= 1;
            let mut any = false;
            for ti in 0..2 {
                let t = if ti == 0 { &self.t0 } else { &self.t1 };
                if t.is_empty() || i >= t.len() {
                    continue;
                }
                if ti == 0
                    && let Some(r) = self.rehash_idx
                    && i < r
                {
                    // Moved already. Past the end of the new table, the
                    // rest of the old one is where the entries are.
                    if i >= self.t1.len() {
                        i = r;
                    } else {
                        continue;
                    }
                }
                if t[i].is_some() && found < WANT {
                    heads[found] = t[i];
                    found += 1;
                    any = true;
                }
            }
            if any {
                empty = 0;
            } else {
                empty += 1;
                // Redis jumps after max(5, count) empty buckets in a row.
                if empty > WANT {
                    i = rng.next() as usize & mask;
                    empty = 0;
                    continue;
                }
            }
            i = (i + 1) & mask;
        }
        if found == 0 {
            return self.random(rng);
        }
        // Small dicts are in cache: measure every gathered chain and draw
        // below the longest, which is exactly fair among the gathered.
        let mut cap = 2;
        if self.len <= 4096 {
            for h in &heads[..found] {
                cap = cap.max(chain(h).count());
            }
        }
        loop {
            let h = heads[(rng.next() % found as u64) as usize];
            let walk = || Chain::<'_, V> {
                cur: h,
                _d: PhantomData,
            };
            let len = walk().count();
            let j = (rng.next() % len.max(cap) as u64) as usize;
            if let Some(n) = walk().nth(j) {
                return Some((n.key(), &n.val));
            }
        }
    }

    /// A random entry: a random non-empty bucket, then a random element.
    pub fn random(&self, rng: &mut crate::util::Rng) -> Option<(&[u8], &V)> {
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
                return Some((n.key(), &n.val));
            }
        }
    }

    fn table_stats(t: &[Link<V>], idx: usize, out: &mut String) {
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
    pub fn retain(&mut self, mut f: impl FnMut(&[u8], &mut V) -> bool) {
        let mut removed = 0;
        for slot in self.t0.iter_mut().chain(self.t1.iter_mut()) {
            let mut cur = slot.take();
            while let Some(n) = cur {
                let raw = n.as_ptr();
                // SAFETY: the chain was taken out of the table, so each
                // entry is owned here exactly once: relinked or freed.
                unsafe {
                    cur = (*raw).next;
                    let key = std::slice::from_raw_parts(
                        (raw as *const u8).add(Node::<V>::KEY_OFFSET),
                        (*raw).klen as usize,
                    );
                    let keep = f(key, &mut (*raw).val);
                    if keep {
                        (*raw).next = *slot;
                        *slot = Some(n);
                    } else {
                        drop(Node::free(n));
                        removed += 1;
                    }
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
                    seen.insert(k.to_vec());
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
    fn values_are_dropped_once() {
        use std::rc::Rc;
        let tracker = Rc::new(());
        let mut d = Dict::new();
        for i in 0..500 {
            d.insert(format!("key-{i}").as_bytes(), Rc::clone(&tracker));
        }
        assert_eq!(Rc::strong_count(&tracker), 501);
        d.insert(b"key-1", Rc::clone(&tracker));
        assert_eq!(Rc::strong_count(&tracker), 501, "replaced value dropped");
        assert!(d.remove(b"key-2").is_some());
        assert_eq!(Rc::strong_count(&tracker), 500);
        d.retain(|k, _| !k.ends_with(b"7"));
        assert_eq!(Rc::strong_count(&tracker), 1 + d.len());
        drop(d);
        assert_eq!(Rc::strong_count(&tracker), 1);
    }

    #[test]
    fn keys_of_any_length_round_trip() {
        let mut d = Dict::new();
        let keys: Vec<Vec<u8>> = (0..300).map(|n| vec![b'x'; n]).collect();
        for (i, k) in keys.iter().enumerate() {
            d.insert(k, i);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(d.get_key_value(k), Some((&k[..], &i)));
        }
        let mut all: Vec<_> = d.iter().map(|(k, v)| (k.len(), *v)).collect();
        all.sort();
        assert_eq!(all, (0..300).map(|n| (n, n)).collect::<Vec<_>>());
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
