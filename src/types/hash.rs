//! `Hash`: the hash type with Redis's two encodings (`t_hash.c`).
//!
//! - `listpack`: field/value pairs in insertion order while there are at
//!   most `hash-max-listpack-entries` of them and every field and value is
//!   at most `hash-max-listpack-value` bytes.
//! - `hashtable`: a `Dict` (reverse-binary cursor for HSCAN).
//!
//! A hash never goes back from hashtable to listpack, except when reloaded.

use super::bytes::SmallBytes;
use super::{Limits, dict_fair_random, distinct_indexes, pick_distinct};
use crate::db::Dict;
use crate::util::Rng;
use std::collections::HashMap;

enum Data {
    Listpack(Vec<(Vec<u8>, Vec<u8>)>),
    Hashtable(Dict<SmallBytes>),
}

/// A hash plus the absolute expire times (unix ms) of its volatile fields.
/// A listpack that ever had a field TTL reports `listpackex` (Redis
/// converts it to its listpack-with-TTL form and never back).
pub struct Hash {
    d: Data,
    ttl: HashMap<Vec<u8>, i64>,
    ex: bool,
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        let d = match &self.d {
            Data::Listpack(v) => Data::Listpack(v.clone()),
            Data::Hashtable(d) => {
                let mut n = Dict::new();
                for (k, v) in d.iter() {
                    n.insert(k, v.clone());
                }
                Data::Hashtable(n)
            }
        };
        Hash {
            d,
            ttl: self.ttl.clone(),
            ex: self.ex,
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
            d: Data::Listpack(Vec::new()),
            ttl: HashMap::new(),
            ex: false,
        }
    }

    pub fn encoding(&self) -> &'static str {
        match &self.d {
            Data::Listpack(_) if self.ex => "listpackex",
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
        if let Data::Listpack(v) = &mut self.d {
            let mut d = Dict::new();
            for (f, val) in std::mem::take(v) {
                d.insert(&f, SmallBytes::new(&val));
            }
            self.d = Data::Hashtable(d);
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
            Data::Listpack(v) => v.iter().find(|(k, _)| k[..] == *f).map(|(_, v)| &v[..]),
            Data::Hashtable(d) => d.get(f).map(|v| &v[..]),
        }
    }

    pub fn contains(&self, f: &[u8]) -> bool {
        self.get(f).is_some()
    }

    /// Sets `f` to `v`; true when the field is new. Converts as Redis's
    /// `hashTypeSet` does (long field or value, too many fields).
    pub fn set(&mut self, f: &[u8], v: &[u8], lim: &Limits) -> bool {
        let had_ttl = !self.ttl.is_empty() && self.ttl.remove(f).is_some();
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
            Data::Listpack(pairs) => {
                if let Some(p) = pairs.iter_mut().find(|(k, _)| k[..] == *f) {
                    p.1 = v.to_vec();
                    return false;
                }
                pairs.push((f.to_vec(), v.to_vec()));
                if pairs.len() > lim.hash_lp_entries {
                    self.make_hashtable();
                }
                true
            }
            Data::Hashtable(d) => d.insert(f, SmallBytes::new(v)).is_none(),
        }
    }

    /// Removes `f`; true when it was there.
    pub fn remove(&mut self, f: &[u8]) -> bool {
        if !self.ttl.is_empty() {
            self.ttl.remove(f);
        }
        match &mut self.d {
            Data::Listpack(v) => match v.iter().position(|(k, _)| k[..] == *f) {
                Some(p) => {
                    v.remove(p);
                    true
                }
                None => false,
            },
            Data::Hashtable(d) => d.remove(f).is_some(),
        }
    }

    /// Calls `f` on every pair, in the encoding's order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &[u8])) {
        match &self.d {
            Data::Listpack(v) => v.iter().for_each(|(k, val)| f(k, val)),
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
                let (k, val) = &v[(rng.next() % v.len() as u64) as usize];
                Some((k, val))
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
            Data::Listpack(v) => distinct_indexes(n, count, rng)
                .into_iter()
                .map(|i| v[i].clone())
                .collect(),
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

    /// The pairs of a listpack hash, in order (for the RDB listpack blob).
    pub fn as_listpack(&self) -> Option<&[(Vec<u8>, Vec<u8>)]> {
        if !self.ttl.is_empty() {
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
        let mut h = if fits {
            Data::Listpack(Vec::with_capacity(pairs.len()))
        } else {
            Data::Hashtable(Dict::new())
        };
        for (f, v) in pairs {
            match &mut h {
                Data::Listpack(lp) => {
                    if !lp.iter().any(|(k, _)| *k == f) {
                        lp.push((f, v));
                    }
                }
                Data::Hashtable(d) => {
                    if !d.contains(&f) {
                        d.insert(&f, SmallBytes::new(&v));
                    }
                }
            }
        }
        Hash {
            d: h,
            ttl: HashMap::new(),
            ex: false,
        }
    }

    /// `from_pairs` for a hash loaded with field expire times: a small one
    /// is `listpackex`, as Redis's loader makes it.
    pub fn from_triples(t: Vec<(Vec<u8>, Vec<u8>, Option<i64>)>, lim: &Limits) -> Hash {
        let ttls: Vec<(Vec<u8>, i64)> = t
            .iter()
            .filter_map(|(f, _, w)| w.map(|w| (f.clone(), w)))
            .collect();
        let mut h = Hash::from_pairs(t.into_iter().map(|(f, v, _)| (f, v)).collect(), lim);
        h.ex = true;
        for (f, w) in ttls {
            if h.contains(&f) {
                h.ttl.insert(f, w);
            }
        }
        if let Data::Listpack(v) = &mut h.d {
            v.sort_by_key(|(f, _)| h.ttl.get(f).copied().unwrap_or(i64::MAX));
        }
        h
    }

    // ---- Field expiry -------------------------------------------------

    /// True when some field has a TTL.
    pub fn has_ttls(&self) -> bool {
        !self.ttl.is_empty()
    }

    /// The absolute expire time (unix ms) of `f`, if it has one.
    pub fn ttl_of(&self, f: &[u8]) -> Option<i64> {
        self.ttl.get(f).copied()
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
        matches!(self.ttl.get(f), Some(&w) if w <= now)
    }

    /// Gives `f` (which must exist) the expire time `when`. A listpack
    /// becomes `listpackex` for good.
    pub fn set_ttl(&mut self, f: &[u8], when: i64) {
        self.ex = true;
        self.ttl.insert(f.to_vec(), when);
        self.reposition(f);
    }

    /// Keeps a `listpackex` ordered as Redis's: fields by expire time,
    /// soonest first (after those with an equal time), then the fields
    /// without TTL in insertion order.
    fn reposition(&mut self, f: &[u8]) {
        let Data::Listpack(v) = &mut self.d else {
            return;
        };
        if !self.ex {
            return;
        }
        let Some(pos) = v.iter().position(|(k, _)| k[..] == *f) else {
            return;
        };
        let pair = v.remove(pos);
        let at = match self.ttl.get(f) {
            None => v.len(),
            Some(&t) => v
                .iter()
                .position(|(k, _)| self.ttl.get(k).is_none_or(|&o| o > t))
                .unwrap_or(v.len()),
        };
        v.insert(at, pair);
    }

    /// Marks a listpack as `listpackex` (Redis converts before it sets TTLs).
    pub fn make_ex(&mut self) {
        self.ex = true;
    }

    /// Drops the TTL of `f`; true when it had one.
    pub fn persist(&mut self, f: &[u8]) -> bool {
        let had = self.ttl.remove(f).is_some();
        if had {
            self.reposition(f);
        }
        had
    }

    /// Removes every field whose TTL has passed at `now` (at most `max`);
    /// returns the removed fields.
    pub fn expire_due(&mut self, now: i64, max: usize) -> Vec<Vec<u8>> {
        if self.ttl.is_empty() {
            return Vec::new();
        }
        let mut due: Vec<(i64, Vec<u8>)> = self
            .ttl
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
        self.ttl.values().min().copied()
    }

    /// Number of fields not expired at `now`.
    pub fn live_len(&self, now: i64) -> usize {
        if self.ttl.is_empty() {
            return self.len();
        }
        self.len() - self.ttl.values().filter(|&&w| w <= now).count()
    }

    /// Calls `f` on every pair not expired at `now`.
    pub fn for_each_live(&self, now: i64, mut f: impl FnMut(&[u8], &[u8])) {
        if self.ttl.is_empty() {
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
        self.for_each(|k, v| out.push((k.to_vec(), v.to_vec(), self.ttl.get(k).copied())));
        out
    }

    /// Approximate heap footprint.
    pub fn mem_usage(&self) -> usize {
        let ttls = self.ttl.keys().map(|f| 24 + f.len()).sum::<usize>();
        ttls + match &self.d {
            Data::Listpack(v) => {
                16 + v
                    .iter()
                    .map(|(k, val)| 4 + k.len() + val.len())
                    .sum::<usize>()
            }
            Data::Hashtable(d) => {
                64 + d.slots() * 24
                    + d.iter()
                        .map(|(k, v)| 48 + k.len() + v.heap_size())
                        .sum::<usize>()
            }
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
        assert_eq!(order(&h), b"dcab".to_vec());
        h.persist(b"d");
        assert_eq!(order(&h), b"cabd".to_vec());
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
}
