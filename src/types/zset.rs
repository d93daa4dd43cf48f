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
use crate::types::packed::read_fwd;
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
const HEAD: u32 = u32::MAX - 1;
const MAX_LEVEL: usize = 32;

/// A node is `HDR + levels` words in its level's arena: the score's bits,
/// the member's address, `back | member length << 32`, then one word per
/// level, `forward | span << 32`.
const HDR: usize = 3;
/// A node id is its level (5 bits, less one) over its index in that
/// level's arena.
const IDX_BITS: u32 = 27;
const IDX_MASK: u32 = (1 << IDX_BITS) - 1;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Level {
    fwd: u32,
    span: u32,
}

impl Level {
    #[inline]
    fn word(self) -> u64 {
        self.fwd as u64 | (self.span as u64) << 32
    }
    #[inline]
    fn of(w: u64) -> Level {
        Level {
            fwd: w as u32,
            span: (w >> 32) as u32,
        }
    }
}

/// Arena chunks double from 16 nodes to 4096, then stay at 4096: a small
/// sorted set wastes little, a big one grows without copying (or
/// stalling on) one huge block, and the chunk of an index is two shifts.
fn chunk_of(idx: u32) -> (usize, usize) {
    if idx < 16 {
        (0, idx as usize)
    } else if idx < 4096 {
        let j = (32 - (idx >> 4).leading_zeros()) as usize;
        (j, (idx - (16 << (j - 1))) as usize)
    } else {
        (
            9 + ((idx - 4096) >> 12) as usize,
            ((idx - 4096) & 4095) as usize,
        )
    }
}

fn chunk_len(j: usize) -> usize {
    match j {
        0 => 16,
        1..=8 => 16 << (j - 1),
        _ => 4096,
    }
}

/// The nodes of one height, with a free list threaded through word 0.
#[derive(Debug)]
struct Arena {
    chunks: Vec<Box<[u64]>>,
    used: u32,
    free: u32,
}

/// A skiplist whose links carry spans (how many nodes they jump), as
/// Redis's `zskiplist`: rank of a node and node at a rank in O(log n).
///
/// Nodes of each height live in their own arena of fixed-size word
/// records, so a node with one level costs 32 bytes and no malloc header,
/// and a walk reads a node's score and its links from one place (a
/// separately allocated tower would cost a second cache miss per step).
/// Members are not copied: a node points at the bytes its owner keeps
/// (the member -> score dict's key), which must outlive the node.
#[derive(Debug)]
pub struct SkipList {
    head: Box<[u64]>,
    arenas: Vec<Arena>,
    tail: u32,
    len: usize,
    level: usize,
    seed: u64,
}

// SAFETY: the raw member addresses point into memory owned by whoever
// owns the skiplist (Big's dict), which moves between threads with it.
unsafe impl Send for SkipList {}

impl Default for SkipList {
    fn default() -> Self {
        SkipList::new()
    }
}

impl SkipList {
    pub fn new() -> SkipList {
        let mut head = vec![0u64; HDR + MAX_LEVEL].into_boxed_slice();
        head[2] = NIL as u64;
        for w in &mut head[HDR..] {
            *w = Level { fwd: NIL, span: 0 }.word();
        }
        SkipList {
            head,
            arenas: Vec::new(),
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

    #[inline]
    fn node(&self, id: u32) -> &[u64] {
        if id == HEAD {
            return &self.head;
        }
        let a = (id >> IDX_BITS) as usize;
        let (j, o) = chunk_of(id & IDX_MASK);
        let s = HDR + a + 1;
        &self.arenas[a].chunks[j][o * s..o * s + s]
    }

    #[inline]
    fn node_mut(&mut self, id: u32) -> &mut [u64] {
        if id == HEAD {
            return &mut self.head;
        }
        let a = (id >> IDX_BITS) as usize;
        let (j, o) = chunk_of(id & IDX_MASK);
        let s = HDR + a + 1;
        &mut self.arenas[a].chunks[j][o * s..o * s + s]
    }

    #[inline]
    fn score(&self, id: u32) -> f64 {
        f64::from_bits(self.node(id)[0])
    }

    #[inline]
    fn ele(&self, id: u32) -> &[u8] {
        Self::member(self.node(id))
    }

    #[inline]
    fn back(&self, id: u32) -> u32 {
        self.node(id)[2] as u32
    }

    #[inline]
    fn set_back(&mut self, id: u32, b: u32) {
        let n = self.node_mut(id);
        n[2] = (n[2] & !0xFFFF_FFFF) | b as u64;
    }

    #[inline]
    fn lv(&self, id: u32, i: usize) -> Level {
        Level::of(self.node(id)[HDR + i])
    }

    #[inline]
    fn set_lv(&mut self, id: u32, i: usize, l: Level) {
        self.node_mut(id)[HDR + i] = l.word();
    }

    /// A free node of `lvl` levels (or taller, if that arena is full:
    /// extra levels cost speed, never correctness).
    fn alloc_node(&mut self, mut lvl: usize) -> (u32, usize) {
        loop {
            let a = lvl - 1;
            if self.arenas.len() <= a {
                self.arenas.resize_with(a + 1, || Arena {
                    chunks: Vec::new(),
                    used: 0,
                    free: NIL,
                });
            }
            let s = HDR + lvl;
            let ar = &mut self.arenas[a];
            if ar.free != NIL {
                let idx = ar.free;
                let (j, o) = chunk_of(idx);
                ar.free = ar.chunks[j][o * s] as u32;
                return ((a as u32) << IDX_BITS | idx, lvl);
            }
            // The two top ids of the last arena are HEAD and NIL.
            if ar.used < IDX_MASK - 1 {
                let idx = ar.used;
                let (j, _) = chunk_of(idx);
                if j == ar.chunks.len() {
                    ar.chunks
                        .push(vec![0u64; chunk_len(j) * s].into_boxed_slice());
                }
                ar.used += 1;
                return ((a as u32) << IDX_BITS | idx, lvl);
            }
            assert!(lvl < MAX_LEVEL, "skiplist arenas exhausted");
            lvl += 1;
        }
    }

    fn free_node(&mut self, id: u32) {
        let a = (id >> IDX_BITS) as usize;
        let idx = id & IDX_MASK;
        let next = self.arenas[a].free;
        self.node_mut(id)[0] = next as u64;
        self.arenas[a].free = idx;
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

    /// Walks down from the head to the last node before (score, ele) on
    /// each level: those nodes, and their ranks. A step reads the next
    /// node's record once, for its score (and member, on a tie) and, when
    /// the walk moves onto it, its links.
    #[inline]
    fn walk(&self, score: f64, ele: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        let mut xn: &[u64] = &self.head;
        let mut r = 0u32;
        for i in (0..self.level).rev() {
            loop {
                let l = Level::of(xn[HDR + i]);
                if l.fwd == NIL {
                    break;
                }
                let f = self.node(l.fwd);
                // Equal scores are rare: only then read the member.
                let before = match f64::from_bits(f[0]).partial_cmp(&score) {
                    Some(Ordering::Less) => true,
                    Some(Ordering::Greater) => false,
                    _ => Self::member(f) < ele,
                };
                if !before {
                    break;
                }
                r += l.span;
                x = l.fwd;
                xn = f;
            }
            update[i] = x;
            rank[i] = r;
        }
        (update, rank)
    }

    /// The member bytes a node record points at.
    #[inline]
    fn member(n: &[u64]) -> &[u8] {
        // SAFETY: insert's contract: the bytes outlive the node.
        unsafe { std::slice::from_raw_parts(n[1] as usize as *const u8, (n[2] >> 32) as usize) }
    }

    /// Inserts a member known to be absent.
    ///
    /// # Safety
    /// `ele` must stay valid and unchanged until the member is deleted or
    /// the skiplist dropped: the node keeps its address, not a copy.
    pub unsafe fn insert(&mut self, score: f64, ele: &[u8]) {
        let (mut update, mut rank) = self.walk(score, ele);
        let want = self.random_level();
        let (n, lvl) = self.alloc_node(want);
        if lvl > self.level {
            for i in self.level..lvl {
                rank[i] = 0;
                update[i] = HEAD;
                self.set_lv(
                    HEAD,
                    i,
                    Level {
                        fwd: NIL,
                        span: self.len as u32,
                    },
                );
            }
            self.level = lvl;
        }
        {
            let w = self.node_mut(n);
            w[0] = score.to_bits();
            w[1] = ele.as_ptr() as usize as u64;
            w[2] = (ele.len() as u64) << 32 | NIL as u64;
        }
        for i in 0..lvl {
            let u = update[i];
            let ul = self.lv(u, i);
            self.set_lv(
                n,
                i,
                Level {
                    fwd: ul.fwd,
                    span: ul.span - (rank[0] - rank[i]),
                },
            );
            self.set_lv(
                u,
                i,
                Level {
                    fwd: n,
                    span: (rank[0] - rank[i]) + 1,
                },
            );
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(lvl) {
            let mut l = self.lv(u, i);
            l.span += 1;
            self.set_lv(u, i, l);
        }
        self.set_back(n, if update[0] == HEAD { NIL } else { update[0] });
        let f = self.lv(n, 0).fwd;
        if f != NIL {
            self.set_back(f, n);
        } else {
            self.tail = n;
        }
        self.len += 1;
    }

    /// The node holding (score, ele) and its predecessor at each level.
    fn find(&self, score: f64, ele: &[u8]) -> Option<(u32, [u32; MAX_LEVEL])> {
        let (update, _) = self.walk(score, ele);
        let x = self.lv(update[0], 0).fwd;
        if x == NIL || self.score(x) != score || self.ele(x) != ele {
            return None;
        }
        Some((x, update))
    }

    /// Removes (score, ele); false when it is not there.
    pub fn delete(&mut self, score: f64, ele: &[u8]) -> bool {
        match self.find(score, ele) {
            Some((x, update)) => {
                self.unlink(x, &update);
                true
            }
            None => false,
        }
    }

    /// Redis's `zslUpdateScore`: moves a present member to score `new`,
    /// in place when its neighbours still bracket it.
    pub fn update_score(&mut self, cur: f64, ele: &[u8], new: f64) {
        let Some((x, update)) = self.find(cur, ele) else {
            debug_assert!(false, "update_score of an absent member");
            return;
        };
        let b = self.back(x);
        let f = self.lv(x, 0).fwd;
        if (b == NIL || cmp_entry(self.score(b), self.ele(b), new, ele).is_lt())
            && (f == NIL || cmp_entry(self.score(f), self.ele(f), new, ele).is_gt())
        {
            self.node_mut(x)[0] = new.to_bits();
            return;
        }
        let (p, len) = {
            let n = self.node(x);
            (n[1] as usize as *const u8, (n[2] >> 32) as usize)
        };
        self.unlink(x, &update);
        // SAFETY: the node's own member bytes, under the contract the
        // node was inserted with.
        unsafe { self.insert(new, std::slice::from_raw_parts(p, len)) }
    }

    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let mut ul = self.lv(u, i);
            if ul.fwd == x {
                let xl = self.lv(x, i);
                ul.span = ul.span + xl.span - 1;
                ul.fwd = xl.fwd;
            } else {
                ul.span -= 1;
            }
            self.set_lv(u, i, ul);
        }
        let f = self.lv(x, 0).fwd;
        let b = self.back(x);
        if f != NIL {
            self.set_back(f, b);
        } else {
            self.tail = b;
        }
        while self.level > 1 && self.lv(HEAD, self.level - 1).fwd == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        self.free_node(x);
    }

    /// Number of leading nodes for which `pred(score, ele)` holds; `pred`
    /// must be true on a prefix of the order and false after it.
    pub fn count_before(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lv(x, i);
                if l.fwd != NIL && pred(self.score(l.fwd), self.ele(l.fwd)) {
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
                let l = self.lv(x, i);
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
            if !f(self.ele(x), self.score(x)) {
                return;
            }
            x = if rev { self.back(x) } else { self.lv(x, 0).fwd };
        }
    }

    pub fn at(&self, rank: usize) -> Option<(&[u8], f64)> {
        if rank >= self.len {
            return None;
        }
        let n = self.node_at(rank + 1);
        Some((self.ele(n), self.score(n)))
    }
}

// ---------------------------------------------------------------------------
// The listpack encoding: one exactly sized buffer
// ---------------------------------------------------------------------------

/// A small sorted set as one buffer of entries in (score, member) order,
/// each `varint(len) member score`, where the score is one byte
/// `b < SC_I32` for the integer `b - SC_BIAS`, `SC_I32` then an i32
/// (little-endian), or `SC_F64` then the double's bits. Like Redis's
/// listpack it is scanned linearly (it holds at most
/// `zset-max-listpack-entries` members) and reallocated to fit on every
/// change, so a set of 8 short members costs one small block.
#[derive(Clone, Default, Debug)]
pub struct Lp {
    buf: Box<[u8]>,
    n: u32,
}

const SC_I32: u8 = 0xFE;
const SC_F64: u8 = 0xFF;
const SC_BIAS: i64 = 16;

/// Appends the encoding of (ele, score) to `out`.
fn lp_encode(out: &mut Vec<u8>, ele: &[u8], score: f64) {
    let mut len = ele.len();
    while len >= 0x80 {
        out.push((len & 0x7f) as u8 | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(ele);
    let i = score as i32;
    if (i as f64).to_bits() == score.to_bits() {
        let b = i as i64 + SC_BIAS;
        if (0..SC_I32 as i64).contains(&b) {
            out.push(b as u8);
        } else {
            out.push(SC_I32);
            out.extend_from_slice(&i.to_le_bytes());
        }
    } else {
        out.push(SC_F64);
        out.extend_from_slice(&score.to_bits().to_le_bytes());
    }
}

/// The entry at `pos`: member, score, and where the next entry starts.
#[inline]
fn lp_entry(buf: &[u8], pos: usize) -> (&[u8], f64, usize) {
    let (mut p, len) = read_fwd(buf, pos);
    let ele = &buf[p..p + len];
    p += len;
    let t = buf[p];
    p += 1;
    let score = match t {
        SC_F64 => {
            let mut w = [0u8; 8];
            w.copy_from_slice(&buf[p..p + 8]);
            p += 8;
            f64::from_bits(u64::from_le_bytes(w))
        }
        SC_I32 => {
            let mut w = [0u8; 4];
            w.copy_from_slice(&buf[p..p + 4]);
            p += 4;
            i32::from_le_bytes(w) as f64
        }
        b => (b as i64 - SC_BIAS) as f64,
    };
    (ele, score, p)
}

/// Iterates a listpack's entries in order, with their offsets.
struct LpIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LpIter<'a> {
    /// (offset, member, score)
    type Item = (usize, &'a [u8], f64);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let at = self.pos;
        let (e, s, next) = lp_entry(self.buf, at);
        self.pos = next;
        Some((at, e, s))
    }
}

impl Lp {
    fn len(&self) -> usize {
        self.n as usize
    }

    fn iter(&self) -> LpIter<'_> {
        LpIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    /// Offset of the entry at rank `i` (the buffer's end for `i == n`).
    fn offset(&self, i: usize) -> usize {
        self.iter().nth(i).map_or(self.buf.len(), |(at, _, _)| at)
    }

    /// (rank, offset, score) of `ele`; skips other entries' scores
    /// without decoding them.
    fn find(&self, ele: &[u8]) -> Option<(usize, usize, f64)> {
        let b = &self.buf;
        let mut p = 0;
        let mut i = 0;
        while p < b.len() {
            let at = p;
            let len;
            (p, len) = read_fwd(b, p);
            if len == ele.len() && b[p..p + len] == *ele {
                return Some((i, at, lp_entry(b, at).1));
            }
            p += len;
            p += match b[p] {
                SC_F64 => 9,
                SC_I32 => 5,
                _ => 1,
            };
            i += 1;
        }
        None
    }

    /// Replaces the bytes `from..to` with `with`, reallocating to fit.
    fn splice(&mut self, from: usize, to: usize, with: &[u8]) {
        let old = self.buf.len();
        let new_len = old - (to - from) + with.len();
        if new_len == old {
            self.buf[from..to].copy_from_slice(with);
            return;
        }
        let mut v = std::mem::take(&mut self.buf).into_vec();
        if new_len > old {
            v.reserve_exact(new_len - old);
            v.resize(new_len, 0);
            v.copy_within(to..old, from + with.len());
        } else {
            v.copy_within(to..old, from + with.len());
            v.truncate(new_len);
        }
        v[from..from + with.len()].copy_from_slice(with);
        self.buf = v.into_boxed_slice();
    }

    /// Inserts a member known to be absent at its place in the order.
    fn insert(&mut self, ele: &[u8], score: f64) {
        let at = self
            .iter()
            .find(|&(_, e, s)| cmp_entry(s, e, score, ele).is_gt())
            .map_or(self.buf.len(), |(at, _, _)| at);
        let mut enc = Vec::with_capacity(ele.len() + 11);
        lp_encode(&mut enc, ele, score);
        self.splice(at, at, &enc);
        self.n += 1;
    }

    /// Moves the entry at bytes `at..end` (member `ele`) to its place for
    /// score `new`: in place, without reallocating, when the encoding's
    /// size does not change.
    fn rescore(&mut self, at: usize, end: usize, ele: &[u8], new: f64) {
        let mut enc = Vec::with_capacity(ele.len() + 11);
        lp_encode(&mut enc, ele, new);
        let w = enc.len();
        if w != end - at {
            self.splice(at, end, &[]);
            self.n -= 1;
            return self.insert(ele, new);
        }
        let tgt = self
            .iter()
            .find(|&(off, e, s)| off != at && cmp_entry(s, e, new, ele).is_gt())
            .map_or(self.buf.len(), |(off, _, _)| off);
        let b = &mut self.buf;
        if tgt <= at {
            b.copy_within(tgt..at, tgt + w);
            b[tgt..tgt + w].copy_from_slice(&enc);
        } else {
            b.copy_within(end..tgt, at);
            b[tgt - w..tgt].copy_from_slice(&enc);
        }
    }

    /// Removes the entries at ranks `start..end`.
    fn remove_ranks(&mut self, start: usize, end: usize) {
        let a = self.offset(start);
        let b = self.offset(end);
        self.splice(a, b, &[]);
        self.n -= (end - start) as u32;
    }

    /// Builds a listpack from pairs already in order.
    fn from_sorted<'a>(it: impl Iterator<Item = (&'a [u8], f64)>) -> Lp {
        let mut v = Vec::new();
        let mut n = 0;
        for (e, s) in it {
            lp_encode(&mut v, e, s);
            n += 1;
        }
        Lp {
            buf: v.into_boxed_slice(),
            n,
        }
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

impl Big {
    /// Adds a member known to be absent: the dict keeps the bytes, the
    /// skiplist node points at them.
    fn insert_new(&mut self, ele: &[u8], score: f64) {
        let k = self.dict.insert_absent(ele, score);
        // SAFETY: the dict entry lives until `remove` (which unlinks the
        // node first) or until Big is dropped with the skiplist.
        unsafe { self.sl.insert(score, k) }
    }

    fn remove(&mut self, ele: &[u8]) -> Option<f64> {
        let s = *self.dict.get(ele)?;
        self.sl.delete(s, ele);
        self.dict.remove(ele);
        Some(s)
    }
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

// The set's box holds the whole small encoding's bookkeeping.
const _: () = assert!(std::mem::size_of::<ZSet>() <= 24);

#[derive(Debug)]
pub enum ZSet {
    Listpack(Lp),
    Skiplist(Box<Big>),
}

impl Clone for ZSet {
    fn clone(&self) -> Self {
        match self {
            ZSet::Listpack(l) => ZSet::Listpack(l.clone()),
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
            ZSet::empty()
        } else {
            ZSet::Skiplist(Box::default())
        }
    }

    /// An empty set in the listpack encoding.
    pub fn empty() -> ZSet {
        ZSet::Listpack(Lp::default())
    }

    /// An empty set in the skiplist encoding.
    pub fn empty_skiplist() -> ZSet {
        ZSet::Skiplist(Box::default())
    }

    /// A listpack's members and scores in order, borrowed; None for a
    /// skiplist. For walks that must step as Redis steps through a
    /// listpack (BYLEX over mixed scores).
    pub fn listpack_entries(&self) -> Option<Vec<(&[u8], f64)>> {
        match self {
            ZSet::Listpack(l) => Some(l.iter().map(|(_, e, s)| (e, s)).collect()),
            ZSet::Skiplist(_) => None,
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
            ZSet::Listpack(l) => l.len(),
            ZSet::Skiplist(b) => b.sl.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, ele: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(l) => l.find(ele).map(|(_, _, s)| s),
            ZSet::Skiplist(b) => b.dict.get(ele).copied(),
        }
    }

    /// Converts to the skiplist encoding.
    pub fn to_skiplist(&mut self) {
        if let ZSet::Listpack(l) = self {
            let mut b = Box::<Big>::default();
            for (_, e, s) in l.iter() {
                b.insert_new(e, s);
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
                let mut v = Vec::new();
                let mut n = 0;
                b.sl.for_range(0, b.sl.len(), false, |e, s| {
                    lp_encode(&mut v, e, s);
                    n += 1;
                    true
                });
                *self = ZSet::Listpack(Lp {
                    buf: v.into_boxed_slice(),
                    n,
                });
            }
        }
    }

    /// A set from members already in order and distinct, in the encoding
    /// Redis gives a computed result (`zsetConvertToListpackIfNeeded`).
    pub fn from_sorted(v: Vec<(Vec<u8>, f64)>, lim: Limits) -> ZSet {
        let maxlen = v.iter().map(|(e, _)| e.len()).max().unwrap_or(0);
        if v.len() <= lim.entries && maxlen <= lim.value {
            ZSet::Listpack(Lp::from_sorted(v.iter().map(|(e, s)| (&e[..], *s))))
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
            ZSet::Listpack(l) => l.insert(ele, score),
            ZSet::Skiplist(b) => b.insert_new(ele, score),
        }
    }

    /// Redis's `zsetAdd`: adds or updates `ele` under ZADD's flags,
    /// converting to a skiplist when the listpack would outgrow `lim`.
    pub fn add(&mut self, ele: &[u8], score: f64, fl: AddFlags, lim: Limits) -> AddResult {
        if score.is_nan() {
            return AddResult::Nan;
        }
        let (found, at) = match self {
            ZSet::Listpack(l) => match l.find(ele) {
                Some((_, at, s)) => (Some(s), Some(at)),
                None => (None, None),
            },
            ZSet::Skiplist(b) => (b.dict.get(ele).copied(), None),
        };
        match found {
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
                match (&mut *self, at) {
                    (ZSet::Listpack(l), Some(at)) => {
                        let (_, _, end) = lp_entry(&l.buf, at);
                        l.rescore(at, end, ele, score);
                    }
                    _ => self.update(ele, cur, score),
                }
                AddResult::Updated(score)
            }
            None => {
                if fl.xx {
                    return AddResult::Nop;
                }
                if let ZSet::Listpack(l) = self
                    && (l.len() + 1 > lim.entries || ele.len() > lim.value)
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
            ZSet::Listpack(l) => {
                if let Some((_, at, _)) = l.find(ele) {
                    let (_, _, end) = lp_entry(&l.buf, at);
                    l.rescore(at, end, ele, new);
                }
            }
            ZSet::Skiplist(b) => {
                b.sl.update_score(old, ele, new);
                if let Some(s) = b.dict.get_mut(ele) {
                    *s = new;
                }
            }
        }
    }

    /// Removes `ele`; false when absent.
    pub fn remove(&mut self, ele: &[u8]) -> bool {
        match self {
            ZSet::Listpack(l) => match l.find(ele) {
                Some((i, _, _)) => {
                    l.remove_ranks(i, i + 1);
                    true
                }
                None => false,
            },
            ZSet::Skiplist(b) => b.remove(ele).is_some(),
        }
    }

    /// 0-based rank in ascending order, and score.
    pub fn rank(&self, ele: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSet::Listpack(l) => l.find(ele).map(|(i, _, s)| (i, s)),
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
            ZSet::Listpack(l) => l.iter().take_while(|&(_, e, s)| pred(s, e)).count(),
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
            ZSet::Listpack(l) => {
                let it = l.iter().skip(start).take(end - start);
                if rev {
                    // No back-links: note the offsets, then walk them back.
                    let mut offs = [0u32; 64];
                    let mut more = Vec::new();
                    let mut k = 0;
                    for (at, _, _) in it {
                        if k < offs.len() {
                            offs[k] = at as u32;
                        } else {
                            more.push(at as u32);
                        }
                        k += 1;
                    }
                    for &at in more.iter().rev().chain(offs[..k.min(64)].iter().rev()) {
                        let (e, s, _) = lp_entry(&l.buf, at as usize);
                        if !f(e, s) {
                            return;
                        }
                    }
                } else {
                    for (_, e, s) in it {
                        if !f(e, s) {
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
            ZSet::Listpack(l) => l.iter().nth(i).map(|(_, e, s)| (e, s)),
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
            ZSet::Listpack(l) => {
                let out = l
                    .iter()
                    .skip(start)
                    .take(end - start)
                    .map(|(_, e, s)| (e.to_vec(), s))
                    .collect();
                l.remove_ranks(start, end);
                out
            }
            ZSet::Skiplist(b) => {
                let mut out = Vec::with_capacity(end - start);
                b.sl.for_range(start, end, false, |e, s| {
                    out.push((e.to_vec(), s));
                    true
                });
                for (e, _) in &out {
                    b.remove(e);
                }
                out
            }
        }
    }

    /// One ZSCAN step: small sets return everything with cursor 0.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Listpack(l) => {
                for (_, e, s) in l.iter() {
                    f(e, s);
                }
                0
            }
            ZSet::Skiplist(b) => b.dict.scan(cursor, |k, s| f(k, *s)),
        }
    }

    /// Approximate heap footprint.
    pub fn mem_usage(&self) -> usize {
        match self {
            ZSet::Listpack(l) => 24 + l.buf.len(),
            ZSet::Skiplist(b) => {
                let mut n = 64;
                b.sl.for_range(0, b.sl.len(), false, |e, _| {
                    n += e.len() + 88;
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
                // SAFETY: the Vec's heap buffer stays put while the model
                // holds it, and it is deleted from `sl` before it is freed.
                unsafe { sl.insert(score, &ele) };
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
    fn arena_chunks_tile_the_index_space() {
        let mut prev = chunk_of(0);
        assert_eq!(prev, (0, 0));
        for idx in 1..20_000u32 {
            let (j, o) = chunk_of(idx);
            assert!(o < chunk_len(j));
            if o == 0 {
                assert_eq!((j, prev.1 + 1), (prev.0 + 1, chunk_len(prev.0)));
            } else {
                assert_eq!((j, o), (prev.0, prev.1 + 1));
            }
            prev = (j, o);
        }
    }

    #[test]
    fn skiplist_updates_and_removals_match_a_model() {
        let lim = Limits::default();
        let mut z = ZSet::Skiplist(Box::default());
        let mut model = std::collections::BTreeMap::new();
        let mut x: u64 = 99;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let ele = format!("member:{}", (x >> 40) % 700).into_bytes();
            let score = ((x >> 20) % 64) as f64;
            if (x >> 10).is_multiple_of(4) {
                assert_eq!(z.remove(&ele), model.remove(&ele).is_some());
            } else {
                z.add(&ele, score, AddFlags::default(), lim);
                model.insert(ele, score);
            }
        }
        let mut want: Vec<(Vec<u8>, f64)> = model.into_iter().collect();
        want.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        assert_eq!(members(&z), want);
        for (i, (e, s)) in want.iter().enumerate() {
            assert_eq!(z.rank(e), Some((i, *s)));
        }
    }

    #[test]
    fn listpack_scores_roundtrip_exactly() {
        let scores = [
            0.0,
            -0.0,
            -16.0,
            -17.0,
            237.0,
            238.0,
            1e9,
            -2147483648.0,
            2147483648.0,
            0.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ];
        let long = vec![b'x'; 300];
        let mut l = Lp::default();
        for (i, s) in scores.iter().enumerate() {
            let m = if i == 3 {
                long.clone()
            } else {
                format!("m{i}").into_bytes()
            };
            l.insert(&m, *s);
        }
        assert_eq!(l.len(), scores.len());
        let got: Vec<(Vec<u8>, u64)> = l
            .iter()
            .map(|(_, e, s)| (e.to_vec(), s.to_bits()))
            .collect();
        let mut want: Vec<(Vec<u8>, f64)> = scores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    if i == 3 {
                        long.clone()
                    } else {
                        format!("m{i}").into_bytes()
                    },
                    *s,
                )
            })
            .collect();
        want.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        let want: Vec<(Vec<u8>, u64)> = want.into_iter().map(|(e, s)| (e, s.to_bits())).collect();
        assert_eq!(got, want);
        assert_eq!(l.find(&long).map(|(_, _, s)| s), Some(-17.0));
        // Rescoring keeps the order, whether the encoding's size changes
        // (0 -> 1e9 -> 0.5) or not (0.5 -> -0.25 -> 3.5).
        for new in [1e9, 0.5, -0.25, 3.5, 2.0, 100.0] {
            let (_, at, _) = l.find(b"m0").unwrap();
            let (_, _, end) = lp_entry(&l.buf, at);
            l.rescore(at, end, b"m0", new);
            let v: Vec<(Vec<u8>, f64)> = l.iter().map(|(_, e, s)| (e.to_vec(), s)).collect();
            assert_eq!(v.len(), l.len());
            assert!(
                v.windows(2)
                    .all(|w| cmp_entry(w[0].1, &w[0].0, w[1].1, &w[1].0).is_lt())
            );
            assert_eq!(l.find(b"m0").map(|(_, _, s)| s), Some(new));
        }
        l.remove_ranks(2, 5);
        assert_eq!(l.len(), scores.len() - 3);
        assert_eq!(l.iter().count(), l.len());
        assert_eq!(l.offset(l.len()), l.buf.len());
    }

    #[test]
    fn listpack_reverse_ranges_past_the_stack_buffer() {
        let lim = Limits::default();
        let mut z = ZSet::empty();
        for i in 0..100 {
            z.add(
                format!("{i:03}").as_bytes(),
                i as f64,
                AddFlags::default(),
                lim,
            );
        }
        assert_eq!(z.encoding(), "listpack");
        let mut got = Vec::new();
        z.for_range(5, 95, true, |e, s| {
            got.push((String::from_utf8(e.to_vec()).unwrap(), s));
            true
        });
        let want: Vec<(String, f64)> = (5..95)
            .rev()
            .map(|i| (format!("{i:03}"), i as f64))
            .collect();
        assert_eq!(got, want);
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
