//! `Hash`: the hash type with Redis's two encodings (`t_hash.c`).
//!
//! - `listpack`: field/value pairs in insertion order while there are at
//!   most `hash-max-listpack-entries` of them and every field and value is
//!   at most `hash-max-listpack-value` bytes. They live in one flat,
//!   exactly-sized byte buffer (`Lp`), scanned linearly as Redis does.
//! - `hashtable`: a `Dict` (reverse-binary cursor for HSCAN).
//!
//! A hash never goes back from hashtable to listpack, except when reloaded.

use super::bytes::SmallBytes;
use super::{Limits, dict_fair_random, distinct_indexes, pick_distinct};
use crate::db::Dict;
use crate::util::Rng;
use std::collections::HashMap;

enum Data {
    Listpack(Lp),
    Hashtable(Box<Dict<SmallBytes>>),
}

/// Absolute expire times (unix ms) of the volatile fields.
type Ttls = HashMap<Vec<u8>, i64>;

/// A hash plus the expire times of its volatile fields. `ttl` is `None`
/// until a field first gets a TTL (most hashes never do); once `Some`, a
/// listpack reports `listpackex` for good (Redis converts it to its
/// listpack-with-TTL form and never back), even if the map empties.
pub struct Hash {
    d: Data,
    ttl: Option<Box<Ttls>>,
}

// A small hash is this struct (boxed in `Value`) plus one buffer.
const _: () = assert!(std::mem::size_of::<Hash>() <= 24);

impl Clone for Hash {
    fn clone(&self) -> Self {
        let d = match &self.d {
            Data::Listpack(v) => Data::Listpack(v.clone()),
            Data::Hashtable(d) => {
                let mut n = Dict::new();
                for (k, v) in d.iter() {
                    n.insert(k, v.clone());
                }
                Data::Hashtable(Box::new(n))
            }
        };
        Hash {
            d,
            ttl: self.ttl.clone(),
        }
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Content, in a canonical (sorted) order: equal hashes print alike
        // whatever their encoding or insertion order.
        let mut p = self.pairs();
        p.sort();
        let p: Vec<_> = p
            .iter()
            .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v)))
            .collect();
        write!(f, "Hash({p:?})")
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

impl Hash {
    /// An empty listpack hash (`createHashObject`).
    pub fn new() -> Hash {
        Hash {
            d: Data::Listpack(Lp::default()),
            ttl: None,
        }
    }

    /// The TTL map when some field has a TTL.
    #[inline]
    fn ttls(&self) -> Option<&Ttls> {
        self.ttl.as_deref().filter(|m| !m.is_empty())
    }

    pub fn encoding(&self) -> &'static str {
        match &self.d {
            Data::Listpack(_) if self.ttl.is_some() => "listpackex",
            Data::Listpack(_) => "listpack",
            Data::Hashtable(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match &self.d {
            Data::Listpack(v) => v.len(),
            Data::Hashtable(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn make_hashtable(&mut self) {
        if let Data::Listpack(v) = &self.d {
            let mut d = Dict::new();
            for (f, val) in v.pairs() {
                d.insert(f, SmallBytes::new(val));
            }
            self.d = Data::Hashtable(Box::new(d));
        }
    }

    /// Redis's `hashTypeTryConversion` before writing the pairs in `args`
    /// (field, value, field, value...): too many new fields or one too
    /// long argument converts to a hashtable up front.
    pub fn try_conversion<T: AsRef<[u8]>>(&mut self, args: &[T], lim: &Limits) {
        if !matches!(self.d, Data::Listpack(_)) {
            return;
        }
        if args.len() / 2 > lim.hash_lp_entries
            || args.iter().any(|a| a.as_ref().len() > lim.hash_lp_value)
        {
            self.make_hashtable();
        }
    }

    pub fn get(&self, f: &[u8]) -> Option<&[u8]> {
        match &self.d {
            Data::Listpack(v) => v.find(f).map(|(v, _)| v),
            Data::Hashtable(d) => d.get(f).map(|v| &v[..]),
        }
    }

    pub fn contains(&self, f: &[u8]) -> bool {
        self.get(f).is_some()
    }

    /// Sets `f` to `v`; true when the field is new. Converts as Redis's
    /// `hashTypeSet` does (long field or value, too many fields).
    pub fn set(&mut self, f: &[u8], v: &[u8], lim: &Limits) -> bool {
        let had_ttl = match &mut self.ttl {
            Some(m) if !m.is_empty() => m.remove(f).is_some(),
            _ => false,
        };
        let new = self.set_keep_ttl(f, v, lim);
        if had_ttl {
            self.reposition(f);
        }
        new
    }

    /// `set` that keeps the field's TTL (HINCRBY, HSETEX KEEPTTL).
    pub fn set_keep_ttl(&mut self, f: &[u8], v: &[u8], lim: &Limits) -> bool {
        if matches!(self.d, Data::Listpack(_))
            && (f.len() > lim.hash_lp_value || v.len() > lim.hash_lp_value)
        {
            self.make_hashtable();
        }
        match &mut self.d {
            Data::Listpack(lp) => {
                let new = lp.set(f, v);
                // Checked after an update too: a limit lowered by CONFIG SET
                // converts the hash on its next write, as in hashTypeSet.
                if lp.len() > lim.hash_lp_entries {
                    self.make_hashtable();
                }
                new
            }
            Data::Hashtable(d) => d.insert(f, SmallBytes::new(v)).is_none(),
        }
    }

    /// Removes `f`; true when it was there.
    pub fn remove(&mut self, f: &[u8]) -> bool {
        if let Some(m) = &mut self.ttl
            && !m.is_empty()
        {
            m.remove(f);
        }
        match &mut self.d {
            Data::Listpack(v) => v.remove(f),
            Data::Hashtable(d) => d.remove(f).is_some(),
        }
    }

    /// Calls `f` on every pair, in the encoding's order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &[u8])) {
        match &self.d {
            Data::Listpack(v) => {
                let b = &v.0[..];
                let mut at = LP_HDR;
                while at < b.len() {
                    let k = get_entry(b, &mut at);
                    f(k, get_entry(b, &mut at));
                }
            }
            Data::Hashtable(d) => d.iter().for_each(|(k, val)| f(k, val)),
        }
    }

    pub fn pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|k, v| out.push((k.to_vec(), v.to_vec())));
        out
    }

    /// A uniformly random pair.
    pub fn random(&self, rng: &mut Rng) -> Option<(&[u8], &[u8])> {
        match &self.d {
            Data::Listpack(v) if !v.is_empty() => {
                let i = (rng.next() % v.len() as u64) as usize;
                v.pairs().nth(i)
            }
            Data::Listpack(_) => None,
            Data::Hashtable(d) => dict_fair_random(d, rng).map(|(k, v)| (k, &v[..])),
        }
    }

    /// `count` distinct random pairs (all of them when count >= len).
    pub fn random_distinct(&self, count: usize, rng: &mut Rng) -> Vec<(Vec<u8>, Vec<u8>)> {
        let n = self.len();
        if count >= n {
            return self.pairs();
        }
        match &self.d {
            Data::Listpack(v) => {
                let all: Vec<(&[u8], &[u8])> = v.pairs().collect();
                distinct_indexes(n, count, rng)
                    .into_iter()
                    .map(|i| (all[i].0.to_vec(), all[i].1.to_vec()))
                    .collect()
            }
            Data::Hashtable(d) => {
                if count * 3 > n {
                    pick_distinct(self.pairs(), count, rng)
                } else {
                    let mut seen = std::collections::HashSet::with_capacity(count);
                    let mut out = Vec::with_capacity(count);
                    while out.len() < count {
                        if let Some((k, v)) = dict_fair_random(d, rng)
                            && seen.insert(k)
                        {
                            out.push((k.to_vec(), v.to_vec()));
                        }
                    }
                    out
                }
            }
        }
    }

    /// One HSCAN step: a hashtable visits one bucket and returns the next
    /// cursor; a listpack hands over everything with cursor 0.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.d {
            Data::Hashtable(d) => d.scan(cursor, |k, v| f(k, v)),
            Data::Listpack(_) => {
                self.for_each(f);
                0
            }
        }
    }

    /// The pairs of a listpack hash without field TTLs, in order (for the
    /// RDB listpack blob).
    pub fn as_listpack(&self) -> Option<&Lp> {
        if self.ttls().is_some() {
            return None;
        }
        match &self.d {
            Data::Listpack(v) => Some(v),
            Data::Hashtable(_) => None,
        }
    }

    /// Builds a hash from loaded pairs with the encoding Redis's loader
    /// picks: listpack when within both limits, hashtable otherwise.
    /// Later duplicates of a field are dropped.
    pub fn from_pairs(pairs: Vec<(Vec<u8>, Vec<u8>)>, lim: &Limits) -> Hash {
        let fits = pairs.len() <= lim.hash_lp_entries
            && pairs
                .iter()
                .all(|(f, v)| f.len() <= lim.hash_lp_value && v.len() <= lim.hash_lp_value);
        let d = if fits {
            // Listpacks are small: a quadratic duplicate check is fine.
            let keep: Vec<bool> = (0..pairs.len())
                .map(|i| !pairs[..i].iter().any(|(k, _)| *k == pairs[i].0))
                .collect();
            let it = pairs
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|((f, v), _)| (&f[..], &v[..]));
            Data::Listpack(Lp::from_distinct(it))
        } else {
            let mut d = Dict::new();
            for (f, v) in pairs {
                if !d.contains(&f) {
                    d.insert(&f, SmallBytes::new(&v));
                }
            }
            Data::Hashtable(Box::new(d))
        };
        Hash { d, ttl: None }
    }

    /// `from_pairs` for a hash loaded with field expire times: a small one
    /// is `listpackex`, as Redis's loader makes it.
    pub fn from_triples(t: Vec<(Vec<u8>, Vec<u8>, Option<i64>)>, lim: &Limits) -> Hash {
        let ttls: Vec<(Vec<u8>, i64)> = t
            .iter()
            .filter_map(|(f, _, w)| w.map(|w| (f.clone(), w)))
            .collect();
        let mut h = Hash::from_pairs(t.into_iter().map(|(f, v, _)| (f, v)).collect(), lim);
        let mut m = Ttls::new();
        for (f, w) in ttls {
            if h.contains(&f) {
                m.insert(f, w);
            }
        }
        if let Data::Listpack(v) = &mut h.d {
            let mut p: Vec<(&[u8], &[u8])> = v.pairs().collect();
            p.sort_by_key(|(f, _)| m.get(*f).copied().unwrap_or(i64::MAX));
            let sorted = Lp::from_distinct(p.into_iter());
            *v = sorted;
        }
        h.ttl = Some(Box::new(m));
        h
    }

    // ---- Field expiry -------------------------------------------------

    /// True when some field has a TTL.
    pub fn has_ttls(&self) -> bool {
        self.ttls().is_some()
    }

    /// The absolute expire time (unix ms) of `f`, if it has one.
    pub fn ttl_of(&self, f: &[u8]) -> Option<i64> {
        self.ttls()?.get(f).copied()
    }

    /// The value of `f` unless its TTL has passed at `now` (a replica
    /// keeps expired fields until its primary deletes them, hidden).
    pub fn get_live(&self, f: &[u8], now: i64) -> Option<&[u8]> {
        if self.is_expired(f, now) {
            return None;
        }
        self.get(f)
    }

    /// Whether `f` exists and its TTL has passed at `now`.
    pub fn is_expired(&self, f: &[u8], now: i64) -> bool {
        matches!(self.ttl_of(f), Some(w) if w <= now)
    }

    /// Gives `f` (which must exist) the expire time `when`. A listpack
    /// becomes `listpackex` for good.
    pub fn set_ttl(&mut self, f: &[u8], when: i64) {
        self.ttl.get_or_insert_default().insert(f.to_vec(), when);
        self.reposition(f);
    }

    /// Keeps a `listpackex` ordered as Redis's: fields by expire time,
    /// soonest first (before those with an equal time: Redis reinserts a
    /// field ahead of the first with a TTL >= its own), then the fields
    /// without TTL in insertion order.
    fn reposition(&mut self, f: &[u8]) {
        let Data::Listpack(v) = &mut self.d else {
            return;
        };
        let Some(m) = self.ttl.as_deref() else {
            return;
        };
        let Some((_, s)) = v.find(f) else {
            return;
        };
        let to = match m.get(f) {
            None => v.0.len(),
            Some(&t) => v
                .iter()
                .find(|(k, _, o)| o.start != s.start && m.get(*k).is_none_or(|&w| w >= t))
                .map_or(v.0.len(), |(_, _, o)| o.start),
        };
        v.move_pair(s, to);
    }

    /// Marks a listpack as `listpackex` (Redis converts before it sets TTLs).
    pub fn make_ex(&mut self) {
        self.ttl.get_or_insert_default();
    }

    /// Drops the TTL of `f`; true when it had one.
    pub fn persist(&mut self, f: &[u8]) -> bool {
        let had = self.ttl.as_mut().is_some_and(|m| m.remove(f).is_some());
        if had {
            self.reposition(f);
        }
        had
    }

    /// Removes every field whose TTL has passed at `now` (at most `max`);
    /// returns the removed fields.
    pub fn expire_due(&mut self, now: i64, max: usize) -> Vec<Vec<u8>> {
        let Some(m) = self.ttls() else {
            return Vec::new();
        };
        let mut due: Vec<(i64, Vec<u8>)> = m
            .iter()
            .filter(|&(_, &w)| w <= now)
            .map(|(f, &w)| (w, f.clone()))
            .collect();
        due.sort();
        due.truncate(max);
        let out: Vec<Vec<u8>> = due.into_iter().map(|(_, f)| f).collect();
        for f in &out {
            self.remove(f);
        }
        out
    }

    /// The earliest field expire time.
    pub fn min_ttl(&self) -> Option<i64> {
        self.ttls()?.values().min().copied()
    }

    /// Number of fields not expired at `now`.
    pub fn live_len(&self, now: i64) -> usize {
        match self.ttls() {
            None => self.len(),
            Some(m) => self.len() - m.values().filter(|&&w| w <= now).count(),
        }
    }

    /// Calls `f` on every pair not expired at `now`.
    pub fn for_each_live(&self, now: i64, mut f: impl FnMut(&[u8], &[u8])) {
        if self.ttls().is_none() {
            return self.for_each(f);
        }
        self.for_each(|k, v| {
            if !self.is_expired(k, now) {
                f(k, v)
            }
        });
    }

    /// (field, value, expire time) of every field (RDB with TTLs).
    pub fn triples(&self) -> Vec<(Vec<u8>, Vec<u8>, Option<i64>)> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|k, v| out.push((k.to_vec(), v.to_vec(), self.ttl_of(k))));
        out
    }

    /// Approximate heap footprint.
    pub fn mem_usage(&self) -> usize {
        let ttls = self
            .ttl
            .as_deref()
            .map_or(0, |m| 48 + m.keys().map(|f| 24 + f.len()).sum::<usize>());
        ttls + match &self.d {
            Data::Listpack(v) => 24 + v.0.len(),
            Data::Hashtable(d) => {
                64 + d.slots() * 24
                    + d.iter()
                        .map(|(k, v)| 48 + k.len() + v.heap_size())
                        .sum::<usize>()
            }
        }
    }
}

// ---- Flat listpack buffer ---------------------------------------------

/// A small hash's pairs in one exactly-sized allocation: a little-endian
/// u32 pair count, then per pair the field and the value, each as a
/// LEB128 length and its bytes. An empty hash owns no buffer at all.
#[derive(Clone, Default)]
pub struct Lp(Box<[u8]>);

/// Bytes of the pair-count header.
const LP_HDR: usize = 4;

/// Bytes of the LEB128 encoding of `n`.
#[inline]
fn varint_len(mut n: usize) -> usize {
    let mut l = 1;
    while n >= 0x80 {
        n >>= 7;
        l += 1;
    }
    l
}

/// Writes `n` as LEB128 at `dst[*at..]`, advancing `at`.
#[inline]
fn put_varint(dst: &mut [u8], at: &mut usize, mut n: usize) {
    while n >= 0x80 {
        dst[*at] = (n as u8) | 0x80;
        n >>= 7;
        *at += 1;
    }
    dst[*at] = n as u8;
    *at += 1;
}

/// Writes one entry (length, bytes) at `dst[*at..]`, advancing `at`.
#[inline]
fn put_entry(dst: &mut [u8], at: &mut usize, b: &[u8]) {
    put_varint(dst, at, b.len());
    dst[*at..*at + b.len()].copy_from_slice(b);
    *at += b.len();
}

#[inline]
fn entry_len(b: &[u8]) -> usize {
    varint_len(b.len()) + b.len()
}

/// Reads the entry at `b[*at..]`, advancing `at` past it. The buffer is
/// only ever written by this module, so it is well formed.
#[inline]
fn get_entry<'a>(b: &'a [u8], at: &mut usize) -> &'a [u8] {
    let c = b[*at];
    if c < 0x80 {
        let s = &b[*at + 1..*at + 1 + c as usize];
        *at += 1 + c as usize;
        return s;
    }
    get_long_entry(b, at)
}

/// `get_entry` for lengths of 128 bytes and more.
#[cold]
fn get_long_entry<'a>(b: &'a [u8], at: &mut usize) -> &'a [u8] {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let c = b[*at];
        *at += 1;
        n |= ((c & 0x7f) as usize) << shift;
        if c < 0x80 {
            break;
        }
        shift += 7;
    }
    let s = &b[*at..*at + n];
    *at += n;
    s
}

/// Where a pair sits in the buffer: its start, the start of its value
/// entry, and its end.
#[derive(Clone, Copy)]
struct Slot {
    start: usize,
    vstart: usize,
    end: usize,
}

/// Iterator over a listpack's pairs with their slots.
#[derive(Clone)]
struct LpIter<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Iterator for LpIter<'a> {
    type Item = (&'a [u8], &'a [u8], Slot);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.b.len() {
            return None;
        }
        let start = self.at;
        let f = get_entry(self.b, &mut self.at);
        let vstart = self.at;
        let v = get_entry(self.b, &mut self.at);
        Some((
            f,
            v,
            Slot {
                start,
                vstart,
                end: self.at,
            },
        ))
    }
}

impl Lp {
    /// Number of pairs.
    #[inline]
    pub fn len(&self) -> usize {
        match self.0.get(..LP_HDR) {
            Some(h) => u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize,
            None => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn set_len(&mut self, n: usize) {
        // Pair counts are bounded by hash-max-listpack-entries (or by a
        // loaded listpack's u16 count), far below u32::MAX.
        self.0[..LP_HDR].copy_from_slice(&(n as u32).to_le_bytes());
    }

    #[inline]
    fn iter(&self) -> LpIter<'_> {
        LpIter {
            b: &self.0,
            at: LP_HDR,
        }
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> + Clone {
        self.iter().map(|(f, v, _)| (f, v))
    }

    /// Fields and values, flattened (field, value, field, value...).
    pub fn entries(&self) -> impl Iterator<Item = &[u8]> {
        self.pairs().flat_map(|(f, v)| [f, v])
    }

    #[inline]
    fn find(&self, f: &[u8]) -> Option<(&[u8], Slot)> {
        let b = &self.0[..];
        let mut at = LP_HDR;
        while at < b.len() {
            let start = at;
            let k = get_entry(b, &mut at);
            let vstart = at;
            let v = get_entry(b, &mut at);
            if k == f {
                let end = at;
                return Some((v, Slot { start, vstart, end }));
            }
        }
        None
    }

    /// Replaces bytes `start..end` with `new_len` bytes written by `w`
    /// (given the destination slice), keeping the buffer exactly sized.
    fn splice(&mut self, start: usize, end: usize, new_len: usize, w: impl FnOnce(&mut [u8])) {
        let old = end - start;
        if new_len == old {
            w(&mut self.0[start..end]);
            return;
        }
        let mut v = std::mem::take(&mut self.0).into_vec();
        let len = v.len();
        if new_len > old {
            let grow = new_len - old;
            v.reserve_exact(grow);
            v.resize(len + grow, 0);
            v.copy_within(end..len, start + new_len);
        } else {
            v.copy_within(end..len, start + new_len);
            v.truncate(len - (old - new_len));
        }
        w(&mut v[start..start + new_len]);
        self.0 = v.into_boxed_slice();
    }

    /// Appends a pair (the field must not be there yet).
    fn push(&mut self, f: &[u8], v: &[u8]) {
        if self.0.is_empty() {
            self.0 = vec![0u8; LP_HDR].into_boxed_slice();
        }
        let n = self.len();
        let at = self.0.len();
        let add = entry_len(f) + entry_len(v);
        self.splice(at, at, add, |d| {
            let mut i = 0;
            put_entry(d, &mut i, f);
            put_entry(d, &mut i, v);
        });
        self.set_len(n + 1);
    }

    /// Sets `f` to `v`; true when the field is new.
    fn set(&mut self, f: &[u8], v: &[u8]) -> bool {
        match self.find(f) {
            Some((_, s)) => {
                self.splice(s.vstart, s.end, entry_len(v), |d| {
                    put_entry(d, &mut 0, v);
                });
                false
            }
            None => {
                self.push(f, v);
                true
            }
        }
    }

    /// Removes `f`; true when it was there.
    fn remove(&mut self, f: &[u8]) -> bool {
        let Some((_, s)) = self.find(f) else {
            return false;
        };
        let n = self.len();
        self.splice(s.start, s.end, 0, |_| {});
        self.set_len(n - 1);
        true
    }

    /// Builds a listpack from pairs with distinct fields.
    fn from_distinct<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone) -> Lp {
        let mut n = 0;
        let mut size = LP_HDR;
        for (f, v) in pairs.clone() {
            n += 1;
            size += entry_len(f) + entry_len(v);
        }
        if n == 0 {
            return Lp::default();
        }
        let mut b = vec![0u8; size].into_boxed_slice();
        let mut i = LP_HDR;
        for (f, v) in pairs {
            put_entry(&mut b, &mut i, f);
            put_entry(&mut b, &mut i, v);
        }
        let mut lp = Lp(b);
        lp.set_len(n);
        lp
    }

    /// Moves the pair at `s` so that it starts where byte offset `to`
    /// (a pair boundary outside `s`, or the buffer's end) was.
    fn move_pair(&mut self, s: Slot, to: usize) {
        let w = s.end - s.start;
        if to <= s.start {
            self.0[to..s.end].rotate_right(w);
        } else if to >= s.end {
            self.0[s.start..to].rotate_left(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits {
            hash_lp_entries: 2,
            hash_lp_value: 4,
            ..Limits::DEFAULT
        }
    }

    #[test]
    fn listpack_until_limits() {
        let l = lim();
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", &l));
        assert!(!h.set(b"a", b"2", &l));
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        assert!(h.set(b"b", b"2", &l));
        assert_eq!(h.encoding(), "listpack");
        assert!(h.set(b"c", b"3", &l));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 3);
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        let mut h = Hash::new();
        h.set(b"a", b"12345", &l);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::new();
        h.try_conversion(&[b"a", b"b", b"c", b"d", b"e", b"f"], &l);
        assert_eq!(h.encoding(), "hashtable");
        // hash-max-listpack-entries lowered below the size: an update of
        // an existing field converts too (Redis 8.0.6: HSET h b 5).
        let mut h = Hash::new();
        for f in [b"a", b"b", b"c"] {
            h.set(f, b"1", &Limits::DEFAULT);
        }
        assert!(!h.set(b"b", b"5", &l));
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn random_distinct_pairs() {
        let l = Limits::DEFAULT;
        let mut h = Hash::new();
        for i in 0..10 {
            h.set(format!("f{i}").as_bytes(), b"v", &l);
        }
        let mut rng = Rng::new();
        let r = h.random_distinct(4, &mut rng);
        assert_eq!(r.len(), 4);
        let mut ks: Vec<_> = r.iter().map(|p| p.0.clone()).collect();
        ks.sort();
        ks.dedup();
        assert_eq!(ks.len(), 4);
        assert_eq!(h.random_distinct(20, &mut rng).len(), 10);
    }

    #[test]
    fn field_ttls() {
        let l = Limits::DEFAULT;
        let mut h = Hash::new();
        h.set(b"a", b"1", &l);
        h.set(b"b", b"2", &l);
        assert_eq!(h.encoding(), "listpack");
        h.set_ttl(b"a", 100);
        assert_eq!(h.encoding(), "listpackex");
        assert!(h.has_ttls());
        assert!(h.as_listpack().is_none());
        assert!(!h.is_expired(b"a", 99));
        assert!(h.is_expired(b"a", 100));
        assert_eq!(h.live_len(100), 1);
        let mut live = Vec::new();
        h.for_each_live(100, |k, _| live.push(k.to_vec()));
        assert_eq!(live, vec![b"b".to_vec()]);
        // HINCRBY-style writes keep the TTL; HSET-style ones drop it.
        h.set_keep_ttl(b"a", b"5", &l);
        assert_eq!(h.ttl_of(b"a"), Some(100));
        h.set(b"a", b"6", &l);
        assert_eq!(h.ttl_of(b"a"), None);
        h.set_ttl(b"a", 50);
        h.set_ttl(b"b", 70);
        assert_eq!(h.min_ttl(), Some(50));
        assert_eq!(h.expire_due(60, 10), vec![b"a".to_vec()]);
        assert!(h.persist(b"b"));
        assert!(!h.has_ttls());
        assert_eq!(h.encoding(), "listpackex");
        assert!(h.expire_due(1000, 10).is_empty());
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn listpackex_is_ordered_by_ttl() {
        let l = Limits::DEFAULT;
        let mut h = Hash::new();
        for f in [b"a", b"b", b"c", b"d"] {
            h.set(f, b"v", &l);
        }
        h.set_ttl(b"c", 20);
        h.set_ttl(b"d", 10);
        h.set_ttl(b"a", 20);
        let order = |h: &Hash| h.pairs().into_iter().map(|p| p.0[0]).collect::<Vec<u8>>();
        // `a` goes ahead of `c`, whose TTL is equal (Redis reinserts
        // before the first field with a TTL >= its own).
        assert_eq!(order(&h), b"dacb".to_vec());
        h.persist(b"d");
        assert_eq!(order(&h), b"acbd".to_vec());
        h.set(b"c", b"w", &l);
        assert_eq!(order(&h), b"abdc".to_vec());
    }

    #[test]
    fn from_triples_keeps_ttls() {
        let h = Hash::from_triples(
            vec![
                (b"a".to_vec(), b"1".to_vec(), Some(10)),
                (b"b".to_vec(), b"2".to_vec(), None),
            ],
            &Limits::DEFAULT,
        );
        assert_eq!(h.encoding(), "listpackex");
        assert_eq!(h.ttl_of(b"a"), Some(10));
        assert_eq!(h.ttl_of(b"b"), None);
    }

    #[test]
    fn flat_listpack_ops() {
        let mut lp = Lp::default();
        assert_eq!(lp.len(), 0);
        assert!(lp.set(b"a", b"1"));
        let long = vec![b'x'; 300];
        assert!(lp.set(&long, b""));
        assert!(lp.set(b"c", &long));
        assert_eq!(lp.len(), 3);
        assert_eq!(lp.0.len(), 4 + 2 + 2 + (2 + 300) + 1 + 2 + (2 + 300));
        assert!(!lp.set(b"a", b"longer"));
        assert!(!lp.set(b"c", b"s"));
        let got: Vec<_> = lp.pairs().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(
            got,
            vec![
                (b"a".to_vec(), b"longer".to_vec()),
                (long.clone(), Vec::new()),
                (b"c".to_vec(), b"s".to_vec())
            ]
        );
        let flat: Vec<&[u8]> = lp.entries().collect();
        assert_eq!(flat.len(), 6);
        assert!(lp.remove(&long));
        assert!(!lp.remove(&long));
        assert_eq!(lp.len(), 2);
        assert_eq!(lp.0.len(), 4 + 2 + 7 + 2 + 2);
        assert_eq!(lp.find(b"c").map(|p| p.0), Some(&b"s"[..]));
        let copy = Lp::from_distinct(lp.pairs());
        assert_eq!(copy.0, lp.0);
    }

    #[test]
    fn from_pairs_drops_later_duplicates() {
        let h = Hash::from_pairs(
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"2".to_vec()),
                (b"a".to_vec(), b"3".to_vec()),
            ],
            &Limits::DEFAULT,
        );
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.len(), 2);
        assert_eq!(h.get(b"a"), Some(&b"1"[..]));
        assert_eq!(h.as_listpack().map(|l| l.len()), Some(2));
    }
}
