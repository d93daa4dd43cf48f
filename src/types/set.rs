//! `Set`: the set type with Redis's three encodings and its conversion
//! rules (`t_set.c`).
//!
//! - `intset`: only integers, at most `set-max-intset-entries`; kept sorted,
//!   so iteration is in ascending numeric order, as Redis's intset is.
//! - `listpack`: at most `set-max-listpack-entries` members of at most
//!   `set-max-listpack-value` bytes, in insertion order.
//! - `hashtable`: a `Dict`, whose reverse-binary cursor gives SSCAN its
//!   guarantees.
//!
//! Conversions only go "up" on writes (intset -> listpack -> hashtable),
//! except where Redis re-encodes a fresh result set (`maybe_to_intset` after
//! SINTERSTORE, the rebuilt remainder of SPOP with a large count).

use super::{Limits, dict_fair_random, distinct_indexes, pick_distinct};
use crate::db::Dict;
use crate::util::{Rng, fmt_i64, parse_i64};

// Small sets keep a small box: the hashtable's dict lives behind its own.
const _: () = assert!(std::mem::size_of::<Set>() <= 32);

pub enum Set {
    Intset(Vec<i64>),
    Listpack(Lp),
    Hashtable(Box<Dict<()>>),
}

impl Clone for Set {
    fn clone(&self) -> Self {
        match self {
            Set::Intset(v) => Set::Intset(v.clone()),
            Set::Listpack(v) => Set::Listpack(v.clone()),
            Set::Hashtable(d) => {
                let mut n = Dict::new();
                for (k, _) in d.iter() {
                    n.insert(k, ());
                }
                Set::Hashtable(Box::new(n))
            }
        }
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Content, in a canonical (sorted) order: equal sets print alike
        // whatever their encoding or insertion order.
        let mut m = self.members();
        m.sort();
        let m: Vec<_> = m.iter().map(|e| String::from_utf8_lossy(e)).collect();
        write!(f, "Set({m:?})")
    }
}

/// Characters of the decimal form of `v` (sign included), Redis's
/// `sdigits10`.
fn digits(v: i64) -> usize {
    let mut t = [0u8; 20];
    fmt_i64(v, &mut t).len()
}

/// A small set's members in insertion order, in one exactly sized buffer
/// of `varint(len) bytes` entries: scanned linearly, as Redis scans its
/// listpack (at most `set-max-listpack-entries` members).
#[derive(Clone, Default)]
pub struct Lp {
    buf: Box<[u8]>,
    n: u32,
}

/// The members of a listpack set, in order.
#[derive(Clone)]
pub struct LpIter<'a> {
    buf: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for LpIter<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let b = self.buf[self.pos];
            self.pos += 1;
            len |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let e = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        self.left -= 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for LpIter<'_> {}

fn lp_encode(out: &mut Vec<u8>, m: &[u8]) {
    let mut len = m.len();
    while len >= 0x80 {
        out.push((len & 0x7f) as u8 | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(m);
}

impl Lp {
    fn len(&self) -> usize {
        self.n as usize
    }

    pub fn iter(&self) -> LpIter<'_> {
        LpIter {
            buf: &self.buf,
            pos: 0,
            left: self.len(),
        }
    }

    /// Byte range of member `m`.
    fn find(&self, m: &[u8]) -> Option<(usize, usize)> {
        let mut it = self.iter();
        loop {
            let at = it.pos;
            let e = it.next()?;
            if e == m {
                return Some((at, it.pos));
            }
        }
    }

    fn push(&mut self, m: &[u8]) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        v.reserve_exact(m.len() + 2);
        lp_encode(&mut v, m);
        self.buf = v.into_boxed_slice();
        self.n += 1;
    }

    fn remove_bytes(&mut self, from: usize, to: usize) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        v.drain(from..to);
        self.buf = v.into_boxed_slice();
        self.n -= 1;
    }

    fn from_members<'a>(it: impl Iterator<Item = &'a [u8]>) -> Lp {
        let mut v = Vec::new();
        let mut n = 0;
        for m in it {
            lp_encode(&mut v, m);
            n += 1;
        }
        Lp {
            buf: v.into_boxed_slice(),
            n,
        }
    }
}

impl Set {
    /// An empty intset.
    pub fn new_intset() -> Set {
        Set::Intset(Vec::new())
    }

    /// An empty listpack set.
    pub fn new_listpack() -> Set {
        Set::Listpack(Lp::default())
    }

    /// An empty hashtable set.
    pub fn new_hashtable() -> Set {
        Set::Hashtable(Box::default())
    }

    /// Redis's `setTypeCreate`: a set that can hold `first`, sized for
    /// about `size_hint` members.
    pub fn create(first: &[u8], size_hint: usize, lim: &Limits) -> Set {
        if parse_i64(first).is_some() && size_hint <= lim.set_intset_entries {
            Set::new_intset()
        } else if size_hint <= lim.set_lp_entries {
            Set::new_listpack()
        } else {
            Set::Hashtable(Box::default())
        }
    }

    /// Redis's `setTypeMaybeConvert`: goes straight to a hashtable when
    /// `size_hint` members could not fit the current encoding.
    pub fn maybe_convert(&mut self, size_hint: usize, lim: &Limits) {
        let over = match self {
            Set::Listpack(_) => size_hint > lim.set_lp_entries,
            Set::Intset(_) => size_hint > intset_max(lim),
            Set::Hashtable(_) => false,
        };
        if over {
            self.make_hashtable();
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Listpack(_) => "listpack",
            Set::Hashtable(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset(v) => v.len(),
            Set::Listpack(v) => v.len(),
            Set::Hashtable(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An empty set of the kind SINTERSTORE starts its result with: an
    /// intset if this one is, a listpack otherwise.
    pub fn empty_like(&self) -> Set {
        match self {
            Set::Intset(_) => Set::new_intset(),
            _ => Set::new_listpack(),
        }
    }

    fn make_hashtable(&mut self) {
        let mut d = Dict::new();
        self.for_each(|m| {
            d.insert(m, ());
        });
        *self = Set::Hashtable(Box::new(d));
    }

    fn make_listpack(&mut self) {
        if let Set::Intset(v) = self {
            let mut buf = Vec::new();
            let mut t = [0u8; 20];
            for &i in v.iter() {
                lp_encode(&mut buf, fmt_i64(i, &mut t));
            }
            *self = Set::Listpack(Lp {
                buf: buf.into_boxed_slice(),
                n: v.len() as u32,
            });
        }
    }

    /// Adds `m`; true when it was not a member. Converts the encoding as
    /// Redis's `setTypeAddAux` does.
    pub fn add(&mut self, m: &[u8], lim: &Limits) -> bool {
        match self {
            Set::Hashtable(d) => {
                if d.contains(m) {
                    return false;
                }
                d.insert(m, ());
                true
            }
            Set::Listpack(v) => {
                if v.find(m).is_some() {
                    return false;
                }
                if v.len() < lim.set_lp_entries && m.len() <= lim.set_lp_value {
                    v.push(m);
                } else {
                    self.make_hashtable();
                    if let Set::Hashtable(d) = self {
                        d.insert(m, ());
                    }
                }
                true
            }
            Set::Intset(v) => {
                if let Some(i) = parse_i64(m) {
                    match v.binary_search(&i) {
                        Ok(_) => false,
                        Err(pos) => {
                            v.insert(pos, i);
                            if v.len() > intset_max(lim) {
                                self.make_hashtable();
                            }
                            true
                        }
                    }
                } else {
                    let maxlen = match (v.first(), v.last()) {
                        (Some(&a), Some(&b)) => digits(a).max(digits(b)),
                        _ => 0,
                    };
                    if v.len() < lim.set_lp_entries
                        && m.len() <= lim.set_lp_value
                        && maxlen <= lim.set_lp_value
                    {
                        self.make_listpack();
                        if let Set::Listpack(v) = self {
                            v.push(m);
                        }
                    } else {
                        self.make_hashtable();
                        if let Set::Hashtable(d) = self {
                            d.insert(m, ());
                        }
                    }
                    true
                }
            }
        }
    }

    /// Removes `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Hashtable(d) => d.remove(m).is_some(),
            Set::Listpack(v) => match v.find(m) {
                Some((a, b)) => {
                    v.remove_bytes(a, b);
                    true
                }
                None => false,
            },
            Set::Intset(v) => match parse_i64(m).map(|i| v.binary_search(&i)) {
                Some(Ok(p)) => {
                    v.remove(p);
                    true
                }
                _ => false,
            },
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Hashtable(d) => d.contains(m),
            Set::Listpack(v) => v.find(m).is_some(),
            Set::Intset(v) => parse_i64(m).is_some_and(|i| v.binary_search(&i).is_ok()),
        }
    }

    /// Calls `f` on every member, in the encoding's order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        match self {
            Set::Hashtable(d) => d.iter().for_each(|(k, _)| f(k)),
            Set::Listpack(v) => v.iter().for_each(&mut f),
            Set::Intset(v) => {
                let mut t = [0u8; 20];
                for &i in v {
                    f(fmt_i64(i, &mut t));
                }
            }
        }
    }

    pub fn members(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m| out.push(m.to_vec()));
        out
    }

    /// The member at position `i` of an intset or listpack.
    fn nth(&self, i: usize) -> Vec<u8> {
        match self {
            Set::Intset(v) => {
                let mut t = [0u8; 20];
                fmt_i64(v[i], &mut t).to_vec()
            }
            Set::Listpack(v) => v.iter().nth(i).map(<[u8]>::to_vec).unwrap_or_default(),
            Set::Hashtable(_) => unreachable!("nth on a hashtable set"),
        }
    }

    /// One uniformly random member (None when empty).
    pub fn random(&self, rng: &mut Rng) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        match self {
            Set::Hashtable(d) => dict_fair_random(d, rng).map(|(k, _)| k.to_vec()),
            _ => Some(self.nth((rng.next() % self.len() as u64) as usize)),
        }
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self, rng: &mut Rng) -> Option<Vec<u8>> {
        let m = self.random(rng)?;
        self.remove(&m);
        Some(m)
    }

    /// `count` distinct random members (all of them when count >= len).
    pub fn random_distinct(&self, count: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
        let n = self.len();
        if count >= n {
            return self.members();
        }
        match self {
            Set::Hashtable(d) => {
                if count * 3 > n {
                    // Most members are wanted: pick the indexes to keep.
                    pick_distinct(self.members(), count, rng)
                } else {
                    let mut seen = std::collections::HashSet::with_capacity(count);
                    let mut out = Vec::with_capacity(count);
                    while out.len() < count {
                        if let Some((k, _)) = dict_fair_random(d, rng)
                            && seen.insert(k)
                        {
                            out.push(k.to_vec());
                        }
                    }
                    out
                }
            }
            _ => distinct_indexes(n, count, rng)
                .into_iter()
                .map(|i| self.nth(i))
                .collect(),
        }
    }

    /// Redis's `maybeConvertToIntset`: a set known to hold only integers
    /// becomes an intset if it is small enough.
    pub fn maybe_to_intset(&mut self, lim: &Limits) {
        if matches!(self, Set::Intset(_)) || self.len() > intset_max(lim) {
            return;
        }
        let mut v = Vec::with_capacity(self.len());
        let mut all = true;
        self.for_each(|m| match parse_i64(m) {
            Some(i) => v.push(i),
            None => all = false,
        });
        if all {
            v.sort_unstable();
            *self = Set::Intset(v);
        }
    }

    /// One SSCAN step: a hashtable visits one bucket and returns the next
    /// cursor; the small encodings hand over everything with cursor 0.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8])) -> u64 {
        match self {
            Set::Hashtable(d) => d.scan(cursor, |k, _| f(k)),
            _ => {
                self.for_each(f);
                0
            }
        }
    }

    /// True for the encodings SSCAN returns in one go.
    pub fn scan_is_single_pass(&self) -> bool {
        !matches!(self, Set::Hashtable(_))
    }

    /// The sorted integers of an intset (for the RDB intset blob).
    pub fn as_intset(&self) -> Option<&[i64]> {
        match self {
            Set::Intset(v) => Some(v),
            _ => None,
        }
    }

    /// The members of a listpack set, in order (for the RDB listpack blob).
    pub fn as_listpack(&self) -> Option<LpIter<'_>> {
        match self {
            Set::Listpack(v) => Some(v.iter()),
            _ => None,
        }
    }

    /// Builds a set from loaded members with the encoding Redis's loader
    /// would pick for an RDB plain set of `n` members.
    pub fn from_plain(members: Vec<Vec<u8>>, lim: &Limits) -> Set {
        let mut s = if members.len() > intset_max(lim) {
            Set::Hashtable(Box::default())
        } else {
            Set::new_intset()
        };
        // Duplicates are looked up in `seen` while the set is a listpack,
        // not by the listpack's linear search: loading n members would
        // otherwise cost n²/2 comparisons.
        let mut seen: Option<std::collections::HashSet<Vec<u8>>> = None;
        for m in &members {
            if let Set::Listpack(lp) = &mut s
                && lp.len() < lim.set_lp_entries
                && m.len() <= lim.set_lp_value
            {
                let seen = seen.get_or_insert_with(|| lp.iter().map(<[u8]>::to_vec).collect());
                if seen.insert(m.clone()) {
                    lp.push(m);
                }
                continue;
            }
            s.add(m, lim);
        }
        s
    }

    /// An intset loaded as such (converted if over the limit).
    pub fn from_intset(mut v: Vec<i64>, lim: &Limits) -> Set {
        v.sort_unstable();
        v.dedup();
        let mut s = Set::Intset(v);
        if s.len() > intset_max(lim) {
            s.make_hashtable();
        }
        s
    }

    /// A listpack set loaded as such (converted if over the limit).
    /// Duplicates are dropped.
    pub fn from_listpack(v: Vec<Vec<u8>>, lim: &Limits) -> Set {
        let mut seen = std::collections::HashSet::new();
        let lp = Lp::from_members(v.iter().filter(|m| seen.insert(&m[..])).map(|m| &m[..]));
        let mut s = Set::Listpack(lp);
        if s.len() > lim.set_lp_entries {
            s.make_hashtable();
        }
        s
    }

    /// Approximate heap footprint.
    pub fn mem_usage(&self) -> usize {
        match self {
            Set::Intset(v) => 16 + v.capacity() * 8,
            Set::Listpack(v) => 24 + v.buf.len(),
            Set::Hashtable(d) => {
                64 + d.slots() * 24 + d.iter().map(|(k, _)| 24 + k.len()).sum::<usize>()
            }
        }
    }
}

/// Redis caps intsets at 1G entries whatever the config says.
fn intset_max(lim: &Limits) -> usize {
    lim.set_intset_entries.min(1 << 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits {
            set_intset_entries: 4,
            set_lp_entries: 3,
            set_lp_value: 5,
            ..Limits::DEFAULT
        }
    }

    #[test]
    fn intset_sorted_then_listpack_then_hashtable() {
        let l = lim();
        let mut s = Set::create(b"3", 1, &l);
        assert!(s.add(b"3", &l));
        assert!(s.add(b"-1", &l));
        assert!(!s.add(b"3", &l));
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.members(), vec![b"-1".to_vec(), b"3".to_vec()]);
        assert!(s.add(b"abc", &l));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"-1") && s.contains(b"abc") && !s.contains(b"x"));
        assert!(s.add(b"d", &l));
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 4);
        assert!(s.remove(b"abc"));
        assert!(!s.remove(b"abc"));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn loading_plain_members_matches_adding_them() {
        let limits = [
            lim(),
            Limits {
                set_intset_entries: 8,
                set_lp_entries: 6,
                set_lp_value: 3,
                ..Limits::DEFAULT
            },
        ];
        let pool: [&[u8]; 9] = [b"1", b"2", b"-7", b"a", b"bb", b"1", b"toolong", b"3", b"a"];
        let mut x = 0x9e37_79b9u32;
        for round in 0..2000 {
            let l = &limits[round % 2];
            let n = round % 11;
            let members: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    pool[x as usize % pool.len()].to_vec()
                })
                .collect();
            let mut want = if n > intset_max(l) {
                Set::new_hashtable()
            } else {
                Set::new_intset()
            };
            for m in &members {
                want.add(m, l);
            }
            let got = Set::from_plain(members.clone(), l);
            assert_eq!(got.encoding(), want.encoding(), "{members:?}");
            let (mut a, mut b) = (got.members(), want.members());
            if got.encoding() == "hashtable" {
                // Each table's order is its own (seeded per table).
                a.sort();
                b.sort();
            }
            assert_eq!(a, b, "{members:?}");
        }
    }

    #[test]
    fn intset_overflow_and_long_values() {
        let l = lim();
        let mut s = Set::new_intset();
        for i in 0..4 {
            s.add(i.to_string().as_bytes(), &l);
        }
        assert_eq!(s.encoding(), "intset");
        s.add(b"9", &l);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = Set::new_intset();
        s.add(b"1", &l);
        s.add(b"toolongvalue", &l);
        assert_eq!(s.encoding(), "hashtable");
        // An integer wider than the listpack value limit blocks listpack.
        let mut s = Set::new_intset();
        s.add(b"-123456", &l);
        s.add(b"a", &l);
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn listpack_keeps_insertion_order_and_long_members() {
        let l = Limits::DEFAULT;
        let mut s = Set::new_listpack();
        let long = vec![b'z'; 60];
        for m in [&b"b"[..], b"a", &long, b"", b"c"] {
            assert!(s.add(m, &l));
        }
        assert!(!s.add(b"", &l));
        assert!(s.remove(b"a"));
        assert!(!s.remove(b"a"));
        assert_eq!(
            s.members(),
            vec![b"b".to_vec(), long.clone(), vec![], b"c".to_vec()]
        );
        let it = s.as_listpack().unwrap();
        assert_eq!(it.len(), 4);
        assert_eq!(s.nth(1), long);
        let lp = Lp::from_members([&[b'q'; 200][..], b"r"].into_iter());
        assert_eq!(lp.iter().map(|m| m.len()).collect::<Vec<_>>(), vec![200, 1]);
    }

    #[test]
    fn back_to_intset_and_random() {
        let l = lim();
        let mut s = Set::new_listpack();
        s.add(b"2", &l);
        s.add(b"1", &l);
        s.maybe_to_intset(&l);
        assert_eq!(s.encoding(), "intset");
        let mut rng = Rng::new();
        let r = s.random_distinct(1, &mut rng);
        assert_eq!(r.len(), 1);
        assert!(s.contains(&r[0]));
        assert!(s.pop_random(&mut rng).is_some());
        assert_eq!(s.len(), 1);
    }
}
