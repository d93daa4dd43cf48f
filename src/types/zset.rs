//! Sorted sets: members ordered by (score, member), with rank queries.
//!
//! Two encodings, named and switched exactly as Redis's (`t_zset.c`):
//! - `listpack`: a small sorted `Vec` of (member, score), searched linearly
//!   or by binary search; used while the set has at most
//!   `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes.
//! - `skiplist`: a skiplist with spans (so rank queries are O(log n)) over
//!   an arena of nodes, plus a `Dict` member -> score for O(1) lookups and
//!   a SCAN cursor with Redis's guarantees.
//!
//! Commands see one API (`ZSet`); they never look at the encoding. Ranges
//! are expressed as rank intervals: `count_before(pred)` counts the leading
//! members for which a monotone predicate holds, which turns score and lex
//! bounds into ranks, and `for_range` walks a rank interval either way.

use crate::db::Dict;
use std::cmp::Ordering;

/// Conversion thresholds (`zset-max-listpack-entries` / `-value`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            entries: 128,
            value: 64,
        }
    }
}

impl Limits {
    /// The thresholds in force (`crate::types::limits`).
    pub fn current() -> Limits {
        let l = crate::types::limits();
        Limits {
            entries: l.zset_lp_entries,
            value: l.zset_lp_value,
        }
    }
}

/// Orders two (score, member) pairs as a sorted set does.
#[inline]
pub fn cmp_entry(s1: f64, e1: &[u8], s2: f64, e2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => e1.cmp(e2),
        Some(o) => o,
    }
}

// ---------------------------------------------------------------------------
// Skiplist with spans
// ---------------------------------------------------------------------------

const NIL: u32 = u32::MAX;
const MAX_LEVEL: usize = 32;
const HEAD: u32 = 0;

#[derive(Clone, Copy, Debug)]
struct Level {
    fwd: u32,
    span: u32,
}

/// A node's levels: the first two inline (3 nodes in 4 have one level,
/// 15 in 16 at most two), the rest in one allocation, so a walk along
/// the lower levels reads one cache line per node.
#[derive(Debug, Default)]
struct Levels {
    first: [Level; 2],
    more: Option<Box<[Level]>>,
}

const NO_LEVEL: Level = Level { fwd: NIL, span: 0 };

impl Levels {
    fn new(n: usize) -> Levels {
        Levels {
            first: [NO_LEVEL; 2],
            more: (n > 2).then(|| vec![NO_LEVEL; n - 2].into_boxed_slice()),
        }
    }
}

impl std::ops::Index<usize> for Levels {
    type Output = Level;
    #[inline]
    fn index(&self, i: usize) -> &Level {
        if i < 2 {
            &self.first[i]
        } else {
            &self.more.as_ref().expect("level in range")[i - 2]
        }
    }
}

impl std::ops::IndexMut<usize> for Levels {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Level {
        if i < 2 {
            &mut self.first[i]
        } else {
            &mut self.more.as_mut().expect("level in range")[i - 2]
        }
    }
}

impl Default for Level {
    fn default() -> Self {
        NO_LEVEL
    }
}

#[derive(Debug)]
// One cache line per node (the struct is exactly 64 bytes): a skiplist
// walk is a chain of cache misses, and a node straddling two lines costs
// two of them.
#[repr(align(64))]
struct Node {
    ele: Box<[u8]>,
    score: f64,
    back: u32,
    lv: Levels,
}
const _: () = assert!(std::mem::size_of::<Node>() == 64);

/// A skiplist whose links carry spans (how many nodes they jump), as
/// Redis's `zskiplist`: rank of a node and node at a rank in O(log n).
/// Nodes live in an arena indexed by `u32`; node 0 is the header.
#[derive(Debug)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    len: usize,
    level: usize,
    seed: u64,
}

impl Default for SkipList {
    fn default() -> Self {
        SkipList::new()
    }
}

impl SkipList {
    pub fn new() -> SkipList {
        SkipList {
            nodes: vec![Node {
                ele: Box::new([]),
                score: 0.0,
                back: NIL,
                lv: Levels::new(MAX_LEVEL),
            }],
            free: Vec::new(),
            tail: NIL,
            len: 0,
            level: 1,
            seed: 0x9E37_79B9_7F4A_7C15 ^ (crate::util::now_us() as u64),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn random_level(&mut self) -> usize {
        let mut l = 1;
        loop {
            let mut x = self.seed;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.seed = x;
            // p = 1/4, as ZSKIPLIST_P.
            if l < MAX_LEVEL && (x & 3) == 0 {
                l += 1;
            } else {
                return l;
            }
        }
    }

    #[inline]
    fn before(&self, n: u32, score: f64, ele: &[u8]) -> bool {
        let x = &self.nodes[n as usize];
        cmp_entry(x.score, &x.ele, score, ele) == Ordering::Less
    }

    /// Inserts a member known to be absent.
    pub fn insert(&mut self, score: f64, ele: &[u8]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let f = self.nodes[x as usize].lv[i].fwd;
                if f != NIL && self.before(f, score, ele) {
                    rank[i] += self.nodes[x as usize].lv[i].span;
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let lvl = self.random_level();
        if lvl > self.level {
            for i in self.level..lvl {
                rank[i] = 0;
                update[i] = HEAD;
                self.nodes[HEAD as usize].lv[i].span = self.len as u32;
            }
            self.level = lvl;
        }
        let node = Node {
            ele: ele.into(),
            score,
            back: NIL,
            lv: Levels::new(lvl),
        };
        let n = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        for i in 0..lvl {
            let u = update[i] as usize;
            let ul = self.nodes[u].lv[i];
            self.nodes[n as usize].lv[i] = Level {
                fwd: ul.fwd,
                span: ul.span - (rank[0] - rank[i]),
            };
            self.nodes[u].lv[i] = Level {
                fwd: n,
                span: (rank[0] - rank[i]) + 1,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(lvl) {
            self.nodes[u as usize].lv[i].span += 1;
        }
        self.nodes[n as usize].back = if update[0] == HEAD { NIL } else { update[0] };
        let f = self.nodes[n as usize].lv[0].fwd;
        if f != NIL {
            self.nodes[f as usize].back = n;
        } else {
            self.tail = n;
        }
        self.len += 1;
    }

    /// Removes (score, ele); false when it is not there.
    pub fn delete(&mut self, score: f64, ele: &[u8]) -> bool {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.nodes[x as usize].lv[i].fwd;
                if f != NIL && self.before(f, score, ele) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let x = self.nodes[x as usize].lv[0].fwd;
        if x == NIL {
            return false;
        }
        {
            let n = &self.nodes[x as usize];
            if cmp_entry(n.score, &n.ele, score, ele) != Ordering::Equal || *n.ele != *ele {
                return false;
            }
        }
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let u = u as usize;
            if self.nodes[u].lv[i].fwd == x {
                let xl = self.nodes[x as usize].lv[i];
                self.nodes[u].lv[i].span += xl.span;
                self.nodes[u].lv[i].span -= 1;
                self.nodes[u].lv[i].fwd = xl.fwd;
            } else {
                self.nodes[u].lv[i].span -= 1;
            }
        }
        let f = self.nodes[x as usize].lv[0].fwd;
        let b = self.nodes[x as usize].back;
        if f != NIL {
            self.nodes[f as usize].back = b;
        } else {
            self.tail = b;
        }
        while self.level > 1 && self.nodes[HEAD as usize].lv[self.level - 1].fwd == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let n = &mut self.nodes[x as usize];
        n.ele = Box::new([]);
        n.lv = Levels::default();
        self.free.push(x);
        true
    }

    /// Number of leading nodes for which `pred(score, ele)` holds; `pred`
    /// must be true on a prefix of the order and false after it.
    pub fn count_before(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.nodes[x as usize].lv[i];
                if l.fwd != NIL && {
                    let n = &self.nodes[l.fwd as usize];
                    pred(n.score, &n.ele)
                } {
                    rank += l.span as usize;
                    x = l.fwd;
                } else {
                    break;
                }
            }
        }
        rank
    }

    /// The node at 1-based `rank`.
    fn node_at(&self, rank: usize) -> u32 {
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.nodes[x as usize].lv[i];
                if l.fwd != NIL && traversed + l.span as usize <= rank {
                    traversed += l.span as usize;
                    x = l.fwd;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return x;
            }
        }
        NIL
    }

    /// Visits the members at 0-based ranks `start..end`, in order or in
    /// reverse; `f` returns false to stop.
    pub fn for_range(
        &self,
        start: usize,
        end: usize,
        rev: bool,
        mut f: impl FnMut(&[u8], f64) -> bool,
    ) {
        if start >= end || end > self.len {
            return;
        }
        let mut x = if rev {
            self.node_at(end)
        } else {
            self.node_at(start + 1)
        };
        for _ in start..end {
            if x == NIL || x == HEAD {
                return;
            }
            let n = &self.nodes[x as usize];
            if !f(&n.ele, n.score) {
                return;
            }
            x = if rev { n.back } else { n.lv[0].fwd };
        }
    }

    pub fn at(&self, rank: usize) -> Option<(&[u8], f64)> {
        if rank >= self.len {
            return None;
        }
        let n = &self.nodes[self.node_at(rank + 1) as usize];
        Some((&n.ele, n.score))
    }
}

// ---------------------------------------------------------------------------
// The sorted set type
// ---------------------------------------------------------------------------

/// The skiplist encoding: ordered index plus member -> score table.
#[derive(Default)]
pub struct Big {
    sl: SkipList,
    dict: Dict<f64>,
}

impl std::fmt::Debug for Big {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Big({} members)", self.sl.len())
    }
}

/// What `ZSet::add` did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AddResult {
    Added(f64),
    Updated(f64),
    /// Present with that very score: nothing changed.
    Same(f64),
    /// NX/XX/GT/LT ruled the change out.
    Nop,
    /// The (incremented) score is NaN.
    Nan,
}

/// ZADD's conditions.
#[derive(Clone, Copy, Debug, Default)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub incr: bool,
}

#[derive(Debug)]
pub enum ZSet {
    Listpack(Vec<(Box<[u8]>, f64)>),
    Skiplist(Box<Big>),
}

impl Clone for ZSet {
    fn clone(&self) -> Self {
        match self {
            ZSet::Listpack(v) => ZSet::Listpack(v.clone()),
            ZSet::Skiplist(_) => {
                let mut z = ZSet::Skiplist(Box::default());
                self.for_range(0, self.len(), false, |e, s| {
                    z.insert_new(e, s);
                    true
                });
                z
            }
        }
    }
}

impl ZSet {
    /// Redis's `zsetTypeCreate`: the encoding for a set about to receive
    /// `size_hint` members of about `val_len` bytes.
    pub fn with_hint(size_hint: usize, val_len: usize, lim: Limits) -> ZSet {
        if size_hint <= lim.entries && val_len <= lim.value {
            ZSet::Listpack(Vec::new())
        } else {
            ZSet::Skiplist(Box::default())
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Listpack(_) => "listpack",
            ZSet::Skiplist(_) => "skiplist",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Listpack(v) => v.len(),
            ZSet::Skiplist(b) => b.sl.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, ele: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(v) => v.iter().find(|(e, _)| **e == *ele).map(|(_, s)| *s),
            ZSet::Skiplist(b) => b.dict.get(ele).copied(),
        }
    }

    /// Converts to the skiplist encoding.
    pub fn to_skiplist(&mut self) {
        if let ZSet::Listpack(v) = self {
            let v = std::mem::take(v);
            let mut b = Box::<Big>::default();
            for (e, s) in v {
                b.sl.insert(s, &e);
                b.dict.insert(&e, s);
            }
            *self = ZSet::Skiplist(b);
        }
    }

    /// Redis's `zsetTypeMaybeConvert`: a listpack about to receive
    /// `size_hint` more members converts when that would be too many.
    pub fn maybe_convert(&mut self, size_hint: usize, lim: Limits) {
        if matches!(self, ZSet::Listpack(_)) && size_hint > lim.entries {
            self.to_skiplist();
        }
    }

    /// Redis's `zsetConvertToListpackIfNeeded`: a skiplist small enough in
    /// count and member length becomes a listpack again.
    pub fn shrink_if_fits(&mut self, lim: Limits) {
        if let ZSet::Skiplist(b) = self
            && b.sl.len() <= lim.entries
        {
            let mut maxlen = 0;
            b.sl.for_range(0, b.sl.len(), false, |e, _| {
                maxlen = maxlen.max(e.len());
                true
            });
            if maxlen <= lim.value {
                let mut v = Vec::with_capacity(b.sl.len());
                b.sl.for_range(0, b.sl.len(), false, |e, s| {
                    v.push((Box::from(e), s));
                    true
                });
                *self = ZSet::Listpack(v);
            }
        }
    }

    /// A set from members already in order and distinct, in the encoding
    /// Redis gives a computed result (`zsetConvertToListpackIfNeeded`).
    pub fn from_sorted(v: Vec<(Vec<u8>, f64)>, lim: Limits) -> ZSet {
        let maxlen = v.iter().map(|(e, _)| e.len()).max().unwrap_or(0);
        if v.len() <= lim.entries && maxlen <= lim.value {
            ZSet::Listpack(
                v.into_iter()
                    .map(|(e, s)| (e.into_boxed_slice(), s))
                    .collect(),
            )
        } else {
            let mut z = ZSet::Skiplist(Box::default());
            for (e, s) in v {
                z.insert_new(&e, s);
            }
            z
        }
    }

    /// Builds a set from (member, score) pairs in any order, as the RDB
    /// loader does; None on a duplicate member.
    pub fn from_pairs(mut v: Vec<(Vec<u8>, f64)>, lim: Limits) -> Option<ZSet> {
        v.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        let mut seen = std::collections::HashSet::with_capacity(v.len());
        if !v.iter().all(|(e, _)| seen.insert(&e[..])) {
            return None;
        }
        drop(seen);
        Some(ZSet::from_sorted(v, lim))
    }

    /// Inserts a member known to be absent, without any conversion.
    fn insert_new(&mut self, ele: &[u8], score: f64) {
        match self {
            ZSet::Listpack(v) => {
                let i = v.partition_point(|(e, s)| cmp_entry(*s, e, score, ele).is_lt());
                v.insert(i, (ele.into(), score));
            }
            ZSet::Skiplist(b) => {
                b.sl.insert(score, ele);
                b.dict.insert(ele, score);
            }
        }
    }

    /// Redis's `zsetAdd`: adds or updates `ele` under ZADD's flags,
    /// converting to a skiplist when the listpack would outgrow `lim`.
    pub fn add(&mut self, ele: &[u8], score: f64, fl: AddFlags, lim: Limits) -> AddResult {
        if score.is_nan() {
            return AddResult::Nan;
        }
        match self.score(ele) {
            Some(cur) => {
                if fl.nx {
                    return AddResult::Nop;
                }
                let mut score = score;
                if fl.incr {
                    score += cur;
                    if score.is_nan() {
                        return AddResult::Nan;
                    }
                }
                if (fl.lt && score >= cur) || (fl.gt && score <= cur) {
                    return AddResult::Nop;
                }
                if score == cur {
                    return AddResult::Same(score);
                }
                self.update(ele, cur, score);
                AddResult::Updated(score)
            }
            None => {
                if fl.xx {
                    return AddResult::Nop;
                }
                if let ZSet::Listpack(v) = self
                    && (v.len() + 1 > lim.entries || ele.len() > lim.value)
                {
                    self.to_skiplist();
                }
                self.insert_new(ele, score);
                AddResult::Added(score)
            }
        }
    }

    /// Moves a present member from score `old` to `new`.
    fn update(&mut self, ele: &[u8], old: f64, new: f64) {
        match self {
            ZSet::Listpack(v) => {
                if let Some(i) = v.iter().position(|(e, _)| **e == *ele) {
                    let (e, _) = v.remove(i);
                    let j = v.partition_point(|(x, s)| cmp_entry(*s, x, new, &e).is_lt());
                    v.insert(j, (e, new));
                }
            }
            ZSet::Skiplist(b) => {
                b.sl.delete(old, ele);
                b.sl.insert(new, ele);
                if let Some(s) = b.dict.get_mut(ele) {
                    *s = new;
                }
            }
        }
    }

    /// Removes `ele`; false when absent.
    pub fn remove(&mut self, ele: &[u8]) -> bool {
        match self {
            ZSet::Listpack(v) => match v.iter().position(|(e, _)| **e == *ele) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            ZSet::Skiplist(b) => match b.dict.remove(ele) {
                Some(s) => {
                    b.sl.delete(s, ele);
                    true
                }
                None => false,
            },
        }
    }

    /// 0-based rank in ascending order, and score.
    pub fn rank(&self, ele: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSet::Listpack(v) => v.iter().position(|(e, _)| **e == *ele).map(|i| (i, v[i].1)),
            ZSet::Skiplist(b) => {
                let s = *b.dict.get(ele)?;
                let r =
                    b.sl.count_before(|ns, ne| cmp_entry(ns, ne, s, ele).is_le());
                Some((r - 1, s))
            }
        }
    }

    /// Number of leading members (in ascending order) for which
    /// `pred(score, member)` holds; `pred` must be monotone.
    pub fn count_before(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Listpack(v) => v.partition_point(|(e, s)| pred(*s, e)),
            ZSet::Skiplist(b) => b.sl.count_before(pred),
        }
    }

    /// Visits the members at ranks `start..end` ascending (or descending
    /// when `rev`); `f` returns false to stop early.
    pub fn for_range(
        &self,
        start: usize,
        end: usize,
        rev: bool,
        mut f: impl FnMut(&[u8], f64) -> bool,
    ) {
        let end = end.min(self.len());
        if start >= end {
            return;
        }
        match self {
            ZSet::Listpack(v) => {
                let s = &v[start..end];
                if rev {
                    for (e, sc) in s.iter().rev() {
                        if !f(e, *sc) {
                            return;
                        }
                    }
                } else {
                    for (e, sc) in s {
                        if !f(e, *sc) {
                            return;
                        }
                    }
                }
            }
            ZSet::Skiplist(b) => b.sl.for_range(start, end, rev, f),
        }
    }

    /// The member at ascending rank `i`.
    pub fn at(&self, i: usize) -> Option<(&[u8], f64)> {
        match self {
            ZSet::Listpack(v) => v.get(i).map(|(e, s)| (&e[..], *s)),
            ZSet::Skiplist(b) => b.sl.at(i),
        }
    }

    /// Removes the members at ranks `start..end`; returns them in order.
    pub fn remove_range(&mut self, start: usize, end: usize) -> Vec<(Vec<u8>, f64)> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        match self {
            ZSet::Listpack(v) => v
                .drain(start..end)
                .map(|(e, s)| (e.into_vec(), s))
                .collect(),
            ZSet::Skiplist(b) => {
                let mut out = Vec::with_capacity(end - start);
                b.sl.for_range(start, end, false, |e, s| {
                    out.push((e.to_vec(), s));
                    true
                });
                for (e, s) in &out {
                    b.sl.delete(*s, e);
                    b.dict.remove(e);
                }
                out
            }
        }
    }

    /// One ZSCAN step: small sets return everything with cursor 0.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Listpack(v) => {
                for (e, s) in v {
                    f(e, *s);
                }
                0
            }
            ZSet::Skiplist(b) => b.dict.scan(cursor, |k, s| f(k, *s)),
        }
    }

    /// Approximate heap footprint.
    pub fn mem_usage(&self) -> usize {
        match self {
            ZSet::Listpack(v) => 16 + v.iter().map(|(e, _)| 24 + e.len()).sum::<usize>(),
            ZSet::Skiplist(b) => {
                let mut n = 64;
                b.sl.for_range(0, b.sl.len(), false, |e, _| {
                    n += 2 * e.len() + 96;
                    true
                });
                n
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::new();
        z.for_range(0, z.len(), false, |e, s| {
            v.push((e.to_vec(), s));
            true
        });
        v
    }

    #[test]
    fn skiplist_ranks_match_a_sorted_vec() {
        let mut sl = SkipList::new();
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        let mut x: u64 = 12345;
        for i in 0..3000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let score = ((x >> 33) % 50) as f64;
            let ele = format!("m{}", (x >> 40) % 400).into_bytes();
            if let Some(p) = model.iter().position(|(_, e)| *e == ele) {
                let (s, e) = model.remove(p);
                assert!(sl.delete(s, &e));
            } else if i % 3 != 0 {
                sl.insert(score, &ele);
                model.push((score, ele));
            }
            model.sort_by(|a, b| cmp_entry(a.0, &a.1, b.0, &b.1));
            assert_eq!(sl.len(), model.len());
        }
        for (i, (s, e)) in model.iter().enumerate() {
            assert_eq!(sl.at(i), Some((&e[..], *s)));
            let r = sl.count_before(|ns, ne| cmp_entry(ns, ne, *s, e).is_le());
            assert_eq!(r, i + 1);
        }
        let mut rev = Vec::new();
        sl.for_range(3, model.len(), true, |e, _| {
            rev.push(e.to_vec());
            true
        });
        let want: Vec<Vec<u8>> = model[3..].iter().rev().map(|(_, e)| e.clone()).collect();
        assert_eq!(rev, want);
        assert!(!sl.delete(1e9, b"nope"));
    }

    #[test]
    fn encodings_agree_and_convert() {
        let lim = Limits {
            entries: 4,
            value: 8,
        };
        let mut a = ZSet::with_hint(1, 1, lim);
        let mut b = ZSet::Skiplist(Box::default());
        for (i, m) in ["c", "a", "b", "d"].iter().enumerate() {
            let s = (i % 2) as f64;
            assert_eq!(
                a.add(m.as_bytes(), s, AddFlags::default(), lim),
                AddResult::Added(s)
            );
            b.add(m.as_bytes(), s, AddFlags::default(), lim);
        }
        assert_eq!(a.encoding(), "listpack");
        assert_eq!(members(&a), members(&b));
        assert_eq!(a.rank(b"b"), b.rank(b"b"));
        let incr = AddFlags {
            incr: true,
            ..Default::default()
        };
        assert_eq!(a.add(b"a", 5.0, incr, lim), AddResult::Updated(6.0));
        assert_eq!(
            a.add(b"e", 1.0, AddFlags::default(), lim),
            AddResult::Added(1.0)
        );
        assert_eq!(a.encoding(), "skiplist");
        assert_eq!(a.rank(b"a"), Some((4, 6.0)));
        assert_eq!(a.remove_range(0, 2).len(), 2);
        a.shrink_if_fits(lim);
        assert_eq!(a.encoding(), "listpack");
        assert_eq!(a.len(), 3);
        let gt = AddFlags {
            gt: true,
            ..Default::default()
        };
        assert_eq!(a.add(b"a", 1.0, gt, lim), AddResult::Nop);
        assert_eq!(
            a.add(b"x", f64::NAN, AddFlags::default(), lim),
            AddResult::Nan
        );
    }
}
