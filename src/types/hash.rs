//! `Hash`: the hash type with Redis's two encodings (`t_hash.c`).
//!
//! - `listpack`: field/value pairs in insertion order while there are at
//!   most `hash-max-listpack-entries` of them and every field and value is
//!   at most `hash-max-listpack-value` bytes.
//! - `hashtable`: a `Dict` (reverse-binary cursor for HSCAN).
//!
//! A hash never goes back from hashtable to listpack, except when reloaded.

use super::{Limits, dict_fair_random, distinct_indexes};
use crate::db::Dict;
use crate::util::Rng;

pub enum Hash {
    Listpack(Vec<(Vec<u8>, Vec<u8>)>),
    Hashtable(Dict<Vec<u8>>),
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        match self {
            Hash::Listpack(v) => Hash::Listpack(v.clone()),
            Hash::Hashtable(d) => {
                let mut n = Dict::new();
                for (k, v) in d.iter() {
                    n.insert(k, v.clone());
                }
                Hash::Hashtable(n)
            }
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
        Hash::Listpack(Vec::new())
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Hashtable(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(v) => v.len(),
            Hash::Hashtable(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn make_hashtable(&mut self) {
        if let Hash::Listpack(v) = self {
            let mut d = Dict::new();
            for (f, val) in std::mem::take(v) {
                d.insert(&f, val);
            }
            *self = Hash::Hashtable(d);
        }
    }

    /// Redis's `hashTypeTryConversion` before writing the pairs in `args`
    /// (field, value, field, value...): too many new fields or one too
    /// long argument converts to a hashtable up front.
    pub fn try_conversion<T: AsRef<[u8]>>(&mut self, args: &[T], lim: &Limits) {
        if !matches!(self, Hash::Listpack(_)) {
            return;
        }
        if args.len() / 2 > lim.hash_lp_entries
            || args.iter().any(|a| a.as_ref().len() > lim.hash_lp_value)
        {
            self.make_hashtable();
        }
    }

    pub fn get(&self, f: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Listpack(v) => v.iter().find(|(k, _)| k[..] == *f).map(|(_, v)| &v[..]),
            Hash::Hashtable(d) => d.get(f).map(|v| &v[..]),
        }
    }

    pub fn contains(&self, f: &[u8]) -> bool {
        self.get(f).is_some()
    }

    /// Sets `f` to `v`; true when the field is new. Converts as Redis's
    /// `hashTypeSet` does (long field or value, too many fields).
    pub fn set(&mut self, f: &[u8], v: &[u8], lim: &Limits) -> bool {
        if matches!(self, Hash::Listpack(_))
            && (f.len() > lim.hash_lp_value || v.len() > lim.hash_lp_value)
        {
            self.make_hashtable();
        }
        match self {
            Hash::Listpack(pairs) => {
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
            Hash::Hashtable(d) => d.insert(f, v.to_vec()).is_none(),
        }
    }

    /// Removes `f`; true when it was there.
    pub fn remove(&mut self, f: &[u8]) -> bool {
        match self {
            Hash::Listpack(v) => match v.iter().position(|(k, _)| k[..] == *f) {
                Some(p) => {
                    v.remove(p);
                    true
                }
                None => false,
            },
            Hash::Hashtable(d) => d.remove(f).is_some(),
        }
    }

    /// Calls `f` on every pair, in the encoding's order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &[u8])) {
        match self {
            Hash::Listpack(v) => v.iter().for_each(|(k, val)| f(k, val)),
            Hash::Hashtable(d) => d.iter().for_each(|(k, val)| f(k, val)),
        }
    }

    pub fn pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|k, v| out.push((k.to_vec(), v.to_vec())));
        out
    }

    /// A uniformly random pair.
    pub fn random(&self, rng: &mut Rng) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Listpack(v) if !v.is_empty() => {
                let (k, val) = &v[(rng.next() % v.len() as u64) as usize];
                Some((k, val))
            }
            Hash::Listpack(_) => None,
            Hash::Hashtable(d) => dict_fair_random(d, rng).map(|(k, v)| (&k[..], &v[..])),
        }
    }

    /// `count` distinct random pairs (all of them when count >= len).
    pub fn random_distinct(&self, count: usize, rng: &mut Rng) -> Vec<(Vec<u8>, Vec<u8>)> {
        let n = self.len();
        if count >= n {
            return self.pairs();
        }
        match self {
            Hash::Listpack(v) => distinct_indexes(n, count, rng)
                .into_iter()
                .map(|i| v[i].clone())
                .collect(),
            Hash::Hashtable(d) => {
                if count * 3 > n {
                    let all = self.pairs();
                    let mut out = Vec::with_capacity(count);
                    let mut it = all.into_iter();
                    let mut prev = 0;
                    for i in distinct_indexes(n, count, rng) {
                        if let Some(p) = it.nth(i - prev) {
                            out.push(p);
                        }
                        prev = i + 1;
                    }
                    out
                } else {
                    let mut seen = std::collections::HashSet::with_capacity(count);
                    let mut out = Vec::with_capacity(count);
                    while out.len() < count {
                        if let Some((k, v)) = dict_fair_random(d, rng)
                            && seen.insert(k.clone())
                        {
                            out.push((k.to_vec(), v.clone()));
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
        match self {
            Hash::Hashtable(d) => d.scan(cursor, |k, v| f(k, v)),
            Hash::Listpack(_) => {
                self.for_each(f);
                0
            }
        }
    }

    /// The pairs of a listpack hash, in order (for the RDB listpack blob).
    pub fn as_listpack(&self) -> Option<&[(Vec<u8>, Vec<u8>)]> {
        match self {
            Hash::Listpack(v) => Some(v),
            Hash::Hashtable(_) => None,
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
            Hash::Listpack(Vec::with_capacity(pairs.len()))
        } else {
            Hash::Hashtable(Dict::new())
        };
        for (f, v) in pairs {
            match &mut h {
                Hash::Listpack(lp) => {
                    if !lp.iter().any(|(k, _)| *k == f) {
                        lp.push((f, v));
                    }
                }
                Hash::Hashtable(d) => {
                    if !d.contains(&f) {
                        d.insert(&f, v);
                    }
                }
            }
        }
        h
    }

    /// Approximate heap footprint.
    pub fn mem_usage(&self) -> usize {
        match self {
            Hash::Listpack(v) => {
                16 + v
                    .iter()
                    .map(|(k, val)| 4 + k.len() + val.len())
                    .sum::<usize>()
            }
            Hash::Hashtable(d) => {
                64 + d.slots() * 24
                    + d.iter()
                        .map(|(k, v)| 48 + k.len() + v.capacity())
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
}
