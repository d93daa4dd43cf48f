//! Streams: an append-only log of entries keyed by `<ms>-<seq>` IDs, plus
//! consumer groups with their pending entries lists (PEL).
//!
//! Layout, after Redis's radix tree of listpacks: entries live in nodes of
//! up to `stream-node-max-entries` entries (and about
//! `stream-node-max-bytes`), kept in a `BTreeMap` keyed by each node's first
//! ID. An entry's fields and values are packed into one byte buffer. A
//! deleted entry is only flagged in its node (a tombstone) until the whole
//! node is empty, which is what makes approximate (`~`) trimming remove
//! whole nodes only, as Redis does.
//!
//! Everything here is pure: no replies, no keyspace.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

static NODE_MAX_ENTRIES: AtomicUsize = AtomicUsize::new(100);
static NODE_MAX_BYTES: AtomicUsize = AtomicUsize::new(4096);

/// `stream-node-max-entries` / `stream-node-max-bytes` (0: no limit).
pub fn set_node_limits(entries: usize, bytes: usize) {
    NODE_MAX_ENTRIES.store(entries, Ordering::Relaxed);
    NODE_MAX_BYTES.store(bytes, Ordering::Relaxed);
}

pub fn node_max_entries() -> usize {
    NODE_MAX_ENTRIES.load(Ordering::Relaxed)
}

/// Largest total size of one entry's fields and values (Redis's
/// `STREAM_LISTPACK_MAX_SIZE`).
pub const MAX_ENTRY_BYTES: usize = 1 << 30;

/// A stream entry ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID, or None at the maximum.
    pub fn incr(&self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID, or None at 0-0.
    pub fn decr(&self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// The longest `ms-seq` text: two 20-digit numbers and the dash.
    pub const TEXT_MAX: usize = 41;

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = [0u8; StreamId::TEXT_MAX];
        self.fmt_into(&mut b).to_vec()
    }

    /// Formats `ms-seq` into `buf`, returning the used tail.
    pub fn fmt_into<'a>(&self, buf: &'a mut [u8; StreamId::TEXT_MAX]) -> &'a [u8] {
        fn put(buf: &mut [u8], mut n: u64, i: &mut usize) {
            loop {
                *i -= 1;
                buf[*i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
        }
        let mut i = buf.len();
        put(buf, self.seq, &mut i);
        i -= 1;
        buf[i] = b'-';
        put(buf, self.ms, &mut i);
        &buf[i..]
    }

    /// Parses `ms[-seq]`; a missing sequence is `missing_seq`. `-` and `+`
    /// are the extremes unless `strict`. With `allow_star`, `ms-*` parses
    /// with `seq_given` false. Returns (id, seq_given).
    pub fn parse(
        b: &[u8],
        missing_seq: u64,
        strict: bool,
        allow_star: bool,
    ) -> Option<(StreamId, bool)> {
        if b.len() > 127 {
            return None;
        }
        match b {
            b"-" if !strict => return Some((StreamId::MIN, true)),
            b"+" if !strict => return Some((StreamId::MAX, true)),
            _ => {}
        }
        let (ms, seq) = match b.iter().position(|&c| c == b'-') {
            Some(p) => (&b[..p], Some(&b[p + 1..])),
            None => (b, None),
        };
        let ms = parse_u64(ms)?;
        match seq {
            None => Some((StreamId::new(ms, missing_seq), true)),
            Some(b"*") if allow_star => Some((StreamId::new(ms, 0), false)),
            Some(s) => Some((StreamId::new(ms, parse_u64(s)?), true)),
        }
    }
}

/// Redis's `string2ull`: plain decimal digits, no sign, no overflow.
fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 || !b.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        // string2ull accepts leading zeros through strtoull.
        return std::str::from_utf8(b).ok()?.parse().ok();
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// The fields and values of one entry, read in place from its node:
/// `field, value, field, value...`, with no allocation.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    /// The node's master field names, when the entry uses them.
    master: Option<&'a [Box<[u8]>]>,
    /// The entry's packed strings: values only with `master`, else
    /// field/value pairs; each a varint length and the bytes.
    data: &'a [u8],
    pairs: usize,
}

impl<'a> Fields<'a> {
    /// Fields plus values.
    pub fn len(&self) -> usize {
        self.pairs * 2
    }

    pub fn is_empty(&self) -> bool {
        self.pairs == 0
    }

    pub fn iter(&self) -> FieldsIter<'a> {
        FieldsIter {
            f: *self,
            p: 0,
            i: 0,
        }
    }
}

impl<'a> IntoIterator for Fields<'a> {
    type Item = &'a [u8];
    type IntoIter = FieldsIter<'a>;
    fn into_iter(self) -> FieldsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Fields<'a> {
    type Item = &'a [u8];
    type IntoIter = FieldsIter<'a>;
    fn into_iter(self) -> FieldsIter<'a> {
        self.iter()
    }
}

/// Walks one entry's fields and values in order.
pub struct FieldsIter<'a> {
    f: Fields<'a>,
    /// Read offset in `f.data`.
    p: usize,
    /// Strings yielded so far.
    i: usize,
}

impl<'a> Iterator for FieldsIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.i >= self.f.pairs * 2 {
            return None;
        }
        let i = self.i;
        self.i += 1;
        match self.f.master {
            Some(m) if i.is_multiple_of(2) => Some(&m[i / 2][..]),
            _ => Some(get_str(self.f.data, &mut self.p)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.f.pairs * 2 - self.i;
        (n, Some(n))
    }
}

impl ExactSizeIterator for FieldsIter<'_> {}

const F_DELETED: u8 = 1;
const F_SAMEFIELDS: u8 = 2;

fn put_varint(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

fn get_varint(b: &[u8], p: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&x) = b.get(*p) {
        *p += 1;
        v |= ((x & 0x7F) as u64) << shift;
        if x & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

fn get_str<'a>(b: &'a [u8], p: &mut usize) -> &'a [u8] {
    let n = get_varint(b, p) as usize;
    let s = &b[*p..*p + n];
    *p += n;
    s
}

fn skip_str(b: &[u8], p: &mut usize) {
    let n = get_varint(b, p) as usize;
    *p += n;
}

/// A node: up to `stream-node-max-entries` entries packed in one buffer,
/// as a Redis listpack node is. The first entry's field names are kept
/// once (the "master" fields); an entry with the same field names stores
/// only its values. Each entry is: flags byte, ms delta and seq (varints,
/// the seq relative to the node's first ID when the ms is the same), then
/// either the values or a field count and the field/value pairs, each a
/// varint length and the bytes.
#[derive(Clone, Debug, Default)]
struct Node {
    master: Vec<Box<[u8]>>,
    buf: Vec<u8>,
    /// Entries in `buf`, deleted ones included.
    total: usize,
    live: usize,
    last: StreamId,
}

/// Collects the live entries of node `n` (first ID `k`) within `range`
/// into `out`; true once `out` holds `count` (0: no limit) entries.
fn visit_node<'a>(
    k: StreamId,
    n: &'a Node,
    range: (StreamId, StreamId),
    rev: bool,
    count: usize,
    out: &mut Vec<(StreamId, Fields<'a>)>,
) -> bool {
    let (start, end) = range;
    if n.last < start {
        return false;
    }
    let mut take = |e: Decoded<'a>| {
        out.push((e.id, e.fields));
        count != 0 && out.len() >= count
    };
    if rev {
        // Entries only chain forwards: find the ones in range, then walk
        // them backwards.
        let es: Vec<Decoded<'a>> = n
            .iter(k)
            .skip_while(|e| e.id < start)
            .take_while(|e| e.id <= end)
            .filter(|e| !e.deleted)
            .collect();
        for e in es.into_iter().rev() {
            if take(e) {
                return true;
            }
        }
    } else {
        for e in n.iter(k) {
            if e.id > end {
                break;
            }
            if !e.deleted && e.id >= start && take(e) {
                return true;
            }
        }
    }
    false
}

/// One entry of a node, read in place.
#[derive(Clone, Copy)]
struct Decoded<'a> {
    id: StreamId,
    /// Offset of the flags byte in the node buffer.
    at: usize,
    deleted: bool,
    fields: Fields<'a>,
}

/// Walks a node's entries, deleted ones included, in order.
struct NodeIter<'a> {
    node: &'a Node,
    first: StreamId,
    p: usize,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = Decoded<'a>;

    fn next(&mut self) -> Option<Decoded<'a>> {
        let b = &self.node.buf[..];
        let mut p = self.p;
        if p >= b.len() {
            return None;
        }
        let at = p;
        let flags = b[p];
        p += 1;
        let msd = get_varint(b, &mut p);
        let seq = get_varint(b, &mut p);
        let first = self.first;
        let id = if msd == 0 {
            StreamId::new(first.ms, first.seq + seq)
        } else {
            StreamId::new(first.ms + msd, seq)
        };
        let (master, pairs, strings) = if flags & F_SAMEFIELDS != 0 {
            let m = &self.node.master[..];
            (Some(m), m.len(), m.len())
        } else {
            let n = get_varint(b, &mut p) as usize;
            (None, n, n * 2)
        };
        let data_at = p;
        for _ in 0..strings {
            skip_str(b, &mut p);
        }
        self.p = p;
        Some(Decoded {
            id,
            at,
            deleted: flags & F_DELETED != 0,
            fields: Fields {
                master,
                data: &b[data_at..p],
                pairs,
            },
        })
    }
}

impl Node {
    fn push(&mut self, first: StreamId, id: StreamId, fields: &[&[u8]]) {
        if self.total == 0 {
            self.master = fields.iter().step_by(2).map(|f| (*f).into()).collect();
        }
        let same = fields.len() == self.master.len() * 2
            && fields
                .iter()
                .step_by(2)
                .zip(&self.master)
                .all(|(a, b)| *a == &b[..]);
        self.buf.push(if same { F_SAMEFIELDS } else { 0 });
        put_varint(&mut self.buf, id.ms - first.ms);
        put_varint(
            &mut self.buf,
            if id.ms == first.ms {
                id.seq - first.seq
            } else {
                id.seq
            },
        );
        if same {
            for v in fields.iter().skip(1).step_by(2) {
                put_varint(&mut self.buf, v.len() as u64);
                self.buf.extend_from_slice(v);
            }
        } else {
            put_varint(&mut self.buf, (fields.len() / 2) as u64);
            for f in fields {
                put_varint(&mut self.buf, f.len() as u64);
                self.buf.extend_from_slice(f);
            }
        }
        self.total += 1;
        self.live += 1;
        self.last = id;
    }

    /// Every entry, deleted ones included, in order.
    fn iter(&self, first: StreamId) -> NodeIter<'_> {
        NodeIter {
            node: self,
            first,
            p: 0,
        }
    }

    /// Flags the entry at offset `at` deleted; true if it was live.
    fn mark_deleted(&mut self, at: usize) -> bool {
        if self.buf[at] & F_DELETED != 0 {
            return false;
        }
        self.buf[at] |= F_DELETED;
        self.live -= 1;
        true
    }
}

/// A pending entry: delivered to `consumer`, not yet acknowledged.
#[derive(Clone, Debug)]
pub struct Nack {
    pub consumer: Vec<u8>,
    pub delivery_time: i64,
    pub delivery_count: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    pub seen_time: i64,
    /// -1 until the consumer first reads or claims something.
    pub active_time: i64,
    pub pel: BTreeSet<StreamId>,
}

impl Consumer {
    pub fn new(now: i64) -> Consumer {
        Consumer {
            seen_time: now,
            active_time: -1,
            pel: BTreeSet::new(),
        }
    }
}

/// `entries_read` value meaning "unknown".
pub const INVALID_ENTRIES_READ: i64 = -1;

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl Group {
    /// Assigns (or reassigns) pending entry `id` to `consumer`, as a fresh
    /// delivery at `now`. The consumer must exist.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now: i64) {
        if let Some(old) = self.pel.get(&id)
            && let Some(c) = self.consumers.get_mut(&old.consumer)
        {
            c.pel.remove(&id);
        }
        self.pel.insert(
            id,
            Nack {
                consumer: consumer.to_vec(),
                delivery_time: now,
                delivery_count: 1,
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Removes `id` from the PEL; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Deletes a consumer and its pending entries; returns how many were
    /// pending, or None if there was no such consumer.
    pub fn del_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Vec<u8>, Group>,
}

/// Why XADD could not append.
#[derive(Debug, PartialEq)]
pub enum AddError {
    /// The ID is not greater than the last one (or would overflow).
    IdTooSmall,
    TooLarge,
}

/// How to trim: by length or by minimal ID.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Allocations freeing it takes, as Redis estimates them: one per
    /// node, and per group one plus the first group's pending entries.
    pub fn free_effort(&self) -> usize {
        let per_group = self.groups.values().next().map_or(0, |g| 1 + g.pel.len());
        self.nodes.len() + self.groups.len() * per_group
    }

    /// Appends an entry. `id` None is an automatic ID; Some((id, false))
    /// is `ms-*` (sequence chosen here).
    pub fn add(
        &mut self,
        id: Option<(StreamId, bool)>,
        now_ms: u64,
        fields: &[&[u8]],
    ) -> Result<StreamId, AddError> {
        let id = match id {
            Some((id, true)) => id,
            Some((id, false)) => {
                if self.last_id.ms == id.ms {
                    if self.last_id.seq == u64::MAX {
                        return Err(AddError::IdTooSmall);
                    }
                    StreamId::new(id.ms, self.last_id.seq + 1)
                } else {
                    id
                }
            }
            None => {
                if now_ms > self.last_id.ms {
                    StreamId::new(now_ms, 0)
                } else {
                    self.last_id.incr().ok_or(AddError::IdTooSmall)?
                }
            }
        };
        if id <= self.last_id {
            return Err(AddError::IdTooSmall);
        }
        let tot: usize = fields.iter().map(|f| f.len()).sum();
        if tot > MAX_ENTRY_BYTES {
            return Err(AddError::TooLarge);
        }
        let max_entries = node_max_entries();
        let mut max_bytes = NODE_MAX_BYTES.load(Ordering::Relaxed);
        if max_bytes == 0 || max_bytes > MAX_ENTRY_BYTES {
            max_bytes = MAX_ENTRY_BYTES;
        }
        let need_new = match self.nodes.iter().next_back() {
            None => true,
            Some((_, n)) => {
                n.buf.len() + tot >= max_bytes || (max_entries != 0 && n.total >= max_entries)
            }
        };
        if need_new {
            self.nodes.insert(id, Node::default());
        }
        let (&first, node) = self.nodes.iter_mut().next_back().expect("a tail node");
        node.push(first, id, fields);
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// Live entries with `start <= id <= end`, in order (reversed with
    /// `rev`), at most `count` of them (0: all).
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        count: usize,
    ) -> Vec<(StreamId, Fields<'_>)> {
        let cap = if count == 0 {
            0
        } else {
            count.min(self.length as usize)
        };
        let mut out = Vec::with_capacity(cap);
        if start > end {
            return out;
        }
        let first_node = self
            .nodes
            .range(..=start)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(StreamId::MIN);
        let nodes = self.nodes.range(first_node..=end);
        if rev {
            for (k, n) in nodes.rev() {
                if visit_node(*k, n, (start, end), rev, count, &mut out) {
                    break;
                }
            }
        } else {
            for (k, n) in nodes {
                if visit_node(*k, n, (start, end), rev, count, &mut out) {
                    break;
                }
            }
        }
        out
    }

    /// The fields of live entry `id`.
    pub fn get(&self, id: StreamId) -> Option<Fields<'_>> {
        let (k, n) = self.nodes.range(..=id).next_back()?;
        n.iter(*k)
            .take_while(|e| e.id <= id)
            .find(|e| e.id == id && !e.deleted)
            .map(|e| e.fields)
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The first or last live ID (0-0 when empty).
    pub fn edge_id(&self, first: bool) -> StreamId {
        // Empty nodes are removed, so the edge node holds a live entry.
        let node = if first {
            self.nodes.iter().next()
        } else {
            self.nodes.iter().next_back()
        };
        let Some((k, n)) = node else {
            return StreamId::MIN;
        };
        let mut live = n.iter(*k).filter(|e| !e.deleted).map(|e| e.id);
        if first {
            live.next().unwrap_or_default()
        } else if n.live == n.total {
            n.last
        } else {
            live.last().unwrap_or_default()
        }
    }

    /// XDEL of one entry: true if it existed.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&key, n)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let Some(at) = n.iter(key).find(|e| e.id == id).map(|e| e.at) else {
            return false;
        };
        if !n.mark_deleted(at) {
            return false;
        }
        if n.live == 0 {
            self.nodes.remove(&key);
        }
        self.length -= 1;
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        true
    }

    /// After deletions: the first ID is recomputed, as Redis does.
    pub fn refresh_first_id(&mut self) {
        self.first_id = if self.length == 0 {
            StreamId::MIN
        } else {
            self.edge_id(true)
        };
    }

    /// Trims from the head. `approx` removes whole nodes only; `limit`
    /// (0: none) caps the entries removed. Returns how many went.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            if let Trim::MaxLen(m) = how
                && self.length <= m
            {
                break;
            }
            let Some((&key, node)) = self.nodes.iter_mut().next() else {
                break;
            };
            let entries = node.live as u64;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(m) => self.length - entries >= m,
                Trim::MinId(min) => node.last < min,
            };
            if remove_node {
                self.nodes.remove(&key);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let es: Vec<(StreamId, usize)> = node.iter(key).map(|e| (e.id, e.at)).collect();
            let mut from_node = 0;
            for (id, at) in es {
                let stop = match how {
                    Trim::MaxLen(m) => self.length <= m,
                    Trim::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                if node.mark_deleted(at) {
                    from_node += 1;
                    self.length -= 1;
                }
            }
            deleted += from_node as u64;
            if node.live == 0 {
                self.nodes.remove(&key);
            }
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(true);
        }
        deleted
    }

    /// Whether `start..=end` (None: open) may hold a tombstone
    /// (`streamRangeHasTombstones`).
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        let s = start.unwrap_or(StreamId::MIN);
        let e = end.unwrap_or(StreamId::MAX);
        s <= self.max_deleted_id && self.max_deleted_id <= e
    }

    /// The logical read counter of `id` when it can be known
    /// (`streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if !id.is_zero() && id < self.max_deleted_id {
            return INVALID_ENTRIES_READ;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return self.entries_added.saturating_sub(self.length) as i64;
            } else if id == self.first_id {
                return (self.entries_added.saturating_sub(self.length) + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// A group's lag, None when it cannot be computed.
    pub fn group_lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 || self.length == 0 {
            return Some(0);
        }
        if g.last_id < self.first_id && self.max_deleted_id < self.first_id {
            return Some(self.length as i64);
        }
        if g.entries_read != INVALID_ENTRIES_READ
            && !self.range_has_tombstones(Some(g.last_id), None)
        {
            return Some((self.entries_added as i64).saturating_sub(g.entries_read));
        }
        let er = self.estimate_distance(g.last_id);
        (er != INVALID_ENTRIES_READ).then(|| (self.entries_added as i64).saturating_sub(er))
    }

    /// A group delivered `id` (greater than its last ID): its read counter
    /// and last ID advance as in `streamReplyWithRange`.
    pub fn advance_group(&mut self, group: &[u8], id: StreamId) {
        let Some(g) = self.groups.get(group) else {
            return;
        };
        let (last, er) = (g.last_id, g.entries_read);
        let new_er = if er != INVALID_ENTRIES_READ
            && last >= self.first_id
            && !self.range_has_tombstones(Some(last), None)
        {
            er.saturating_add(1)
        } else if self.entries_added != 0 {
            self.estimate_distance(id)
        } else {
            er
        };
        if let Some(g) = self.groups.get_mut(group) {
            g.entries_read = new_er;
            g.last_id = id;
        }
    }

    /// Approximate memory footprint.
    pub fn mem_usage(&self) -> usize {
        let mut n = 64;
        for node in self.nodes.values() {
            n += 64 + node.buf.capacity();
            n += node.master.iter().map(|f| f.len() + 16).sum::<usize>();
        }
        for (name, g) in &self.groups {
            n += 96 + name.len() + g.pel.len() * 64;
            n += g.consumers.keys().map(|k| k.len() + 64).sum::<usize>();
        }
        n
    }
}

/// Listpack element encodings used for stream nodes: small unsigned ints
/// (7 bit), 64-bit ints and strings.
fn lp_int(b: &mut Vec<u8>, v: i64) {
    if (0..128).contains(&v) {
        b.push(v as u8);
        b.push(1);
    } else {
        b.push(0xF4);
        b.extend_from_slice(&v.to_le_bytes());
        b.push(9);
    }
}

/// One node as a Redis stream listpack: a master entry with no fields,
/// then every live entry with its own fields (flags 0).
fn node_listpack(master: StreamId, entries: &[(StreamId, Fields)]) -> Vec<u8> {
    let mut b = vec![0u8; 6];
    let mut n = 0usize;
    lp_int(&mut b, entries.len() as i64);
    lp_int(&mut b, 0);
    lp_int(&mut b, 0);
    lp_int(&mut b, 0);
    n += 4;
    for (id, f) in entries {
        let nf = (f.len() / 2) as i64;
        lp_int(&mut b, 0);
        lp_int(&mut b, (id.ms - master.ms) as i64);
        lp_int(&mut b, id.seq.wrapping_sub(master.seq) as i64);
        lp_int(&mut b, nf);
        for x in f.iter() {
            crate::persist::rdb::listpack_push_str(&mut b, x);
        }
        lp_int(&mut b, 2 * nf + 4);
        n += 5 + f.len();
    }
    b.push(0xFF);
    let total = b.len() as u32;
    b[0..4].copy_from_slice(&total.to_le_bytes());
    b[4..6].copy_from_slice(&(n.min(65535) as u16).to_le_bytes());
    b
}

fn id_raw(id: StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.ms.to_be_bytes());
    k[8..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

/// Writes a stream in RDB_TYPE_STREAM_LISTPACKS_3 layout.
pub fn rdb_save(w: &mut crate::persist::rdb::Writer, s: &Stream) {
    let nodes: Vec<(StreamId, Vec<(StreamId, Fields)>)> = s
        .nodes
        .iter()
        .map(|(k, n)| {
            let live: Vec<(StreamId, Fields)> = n
                .iter(*k)
                .filter(|e| !e.deleted)
                .map(|e| (e.id, e.fields))
                .collect();
            (live.first().map(|e| e.0).unwrap_or_default(), live)
        })
        .filter(|(_, l)| !l.is_empty())
        .collect();
    w.len(nodes.len() as u64);
    for (master, es) in &nodes {
        w.string(&id_raw(*master));
        w.string(&node_listpack(*master, es));
    }
    w.len(s.length);
    w.len(s.last_id.ms);
    w.len(s.last_id.seq);
    w.len(s.first_id.ms);
    w.len(s.first_id.seq);
    w.len(s.max_deleted_id.ms);
    w.len(s.max_deleted_id.seq);
    w.len(s.entries_added);
    w.len(s.groups.len() as u64);
    for (name, g) in &s.groups {
        w.string(name);
        w.len(g.last_id.ms);
        w.len(g.last_id.seq);
        w.len(g.entries_read as u64);
        w.len(g.pel.len() as u64);
        for (id, n) in &g.pel {
            w.buf.extend_from_slice(&id_raw(*id));
            w.buf.extend_from_slice(&n.delivery_time.to_le_bytes());
            w.len(n.delivery_count);
        }
        w.len(g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            w.string(cname);
            w.buf.extend_from_slice(&c.seen_time.to_le_bytes());
            w.buf.extend_from_slice(&c.active_time.to_le_bytes());
            w.len(c.pel.len() as u64);
            for id in &c.pel {
                w.buf.extend_from_slice(&id_raw(*id));
            }
        }
    }
}

use crate::persist::rdb::{LoadError, Reader};

fn bad<T>(m: &str) -> Result<T, LoadError> {
    Err(LoadError(m.to_string()))
}

fn read_raw_id(r: &mut Reader) -> Result<StreamId, LoadError> {
    let b = r.bytes(16)?;
    Ok(StreamId::new(
        u64::from_be_bytes(b[..8].try_into().expect("8 bytes")),
        u64::from_be_bytes(b[8..].try_into().expect("8 bytes")),
    ))
}

fn read_ms(r: &mut Reader) -> Result<i64, LoadError> {
    Ok(i64::from_le_bytes(r.bytes(8)?.try_into().expect("8 bytes")))
}

fn as_int(e: &[u8]) -> Result<i64, LoadError> {
    crate::util::parse_i64(e).ok_or_else(|| LoadError("stream listpack: integer expected".into()))
}

/// Reads one node listpack into `s` (live entries only). Any flaw in it
/// is reported as Redis's `streamValidateListpackIntegrity` failure.
fn load_node(s: &mut Stream, master: StreamId, lp: &[u8]) -> Result<(), LoadError> {
    load_node_entries(s, master, lp)
        .map_err(|_| LoadError("Stream listpack integrity check failed.".into()))
}

fn load_node_entries(s: &mut Stream, master: StreamId, lp: &[u8]) -> Result<(), LoadError> {
    let mut items = std::collections::VecDeque::new();
    crate::persist::rdb::listpack_entries(lp, &mut items)?;
    let mut it = items.into_iter();
    let mut next = || {
        it.next()
            .ok_or_else(|| LoadError("truncated stream listpack".into()))
    };
    let count = as_int(&next()?)?;
    let deleted = as_int(&next()?)?;
    let mfields = as_int(&next()?)?;
    if count < 0 || deleted < 0 || !(0..=1 << 20).contains(&mfields) {
        return bad("bad stream master entry");
    }
    let mut master_fields = Vec::new();
    for _ in 0..mfields {
        master_fields.push(next()?);
    }
    if as_int(&next()?)? != 0 {
        return bad("bad stream master entry terminator");
    }
    for _ in 0..count
        .checked_add(deleted)
        .ok_or(LoadError("bad stream counts".into()))?
    {
        let flags = as_int(&next()?)?;
        let ms = master.ms.wrapping_add(as_int(&next()?)? as u64);
        let seq = master.seq.wrapping_add(as_int(&next()?)? as u64);
        let mut fields: Vec<Vec<u8>> = Vec::new();
        if flags & 2 != 0 {
            for f in &master_fields {
                fields.push(f.clone());
                fields.push(next()?);
            }
        } else {
            let nf = as_int(&next()?)?;
            if !(0..=1 << 30).contains(&nf) {
                return bad("bad stream entry field count");
            }
            for _ in 0..nf * 2 {
                fields.push(next()?);
            }
        }
        // lp-count: the entry's own element count, as its end marker.
        let lp_count = as_int(&next()?)?;
        let nfields = (fields.len() / 2) as i64;
        let want = if flags & 2 != 0 {
            nfields + 3
        } else {
            2 * nfields + 4
        };
        if lp_count != want {
            return bad("bad stream entry lp-count");
        }
        if flags & 1 != 0 {
            continue;
        }
        let id = StreamId::new(ms, seq);
        if id <= s.last_id && s.length > 0 {
            return bad("stream entries out of order");
        }
        let refs: Vec<&[u8]> = fields.iter().map(|f| &f[..]).collect();
        s.add(Some((id, true)), 0, &refs)
            .map_err(|_| LoadError("bad stream entry".into()))?;
    }
    if it.next().is_some() {
        return bad("stream listpack with trailing entries");
    }
    Ok(())
}

/// Reads a stream value of RDB_TYPE_STREAM_LISTPACKS (`ver` 1), _2 or _3.
pub fn rdb_load(r: &mut Reader, ver: u8) -> Result<Stream, LoadError> {
    let mut s = Stream::new();
    let nodes = r.len()?;
    for _ in 0..nodes {
        let key = r.string()?;
        if key.len() != 16 {
            return bad("stream node key is not a 128 bit ID");
        }
        let master = StreamId::new(
            u64::from_be_bytes(key[..8].try_into().expect("8 bytes")),
            u64::from_be_bytes(key[8..].try_into().expect("8 bytes")),
        );
        let lp = r.string()?;
        load_node(&mut s, master, &lp)?;
    }
    let length = r.len()?;
    if length != s.length {
        return bad("stream length mismatch");
    }
    s.last_id = StreamId::new(r.len()?, r.len()?);
    if ver >= 2 {
        s.first_id = StreamId::new(r.len()?, r.len()?);
        s.max_deleted_id = StreamId::new(r.len()?, r.len()?);
        s.entries_added = r.len()?;
        if s.entries_added < s.length {
            return bad("stream entries-added smaller than its length");
        }
    } else {
        s.entries_added = s.length;
        s.first_id = s.edge_id(true);
    }
    if s.length > 0 && s.edge_id(false) > s.last_id {
        return bad("stream last ID smaller than its top entry");
    }
    let ngroups = r.len()?;
    for _ in 0..ngroups {
        let name = r.string()?;
        let last_id = StreamId::new(r.len()?, r.len()?);
        let entries_read = if ver >= 2 {
            r.len()? as i64
        } else {
            s.estimate_distance(last_id)
        };
        let mut g = Group {
            last_id,
            entries_read,
            ..Default::default()
        };
        let npel = r.len()?;
        for _ in 0..npel {
            let id = read_raw_id(r)?;
            let t = read_ms(r)?;
            let cnt = r.len()?;
            g.pel.insert(
                id,
                Nack {
                    consumer: Vec::new(),
                    delivery_time: t,
                    delivery_count: cnt,
                },
            );
        }
        let ncons = r.len()?;
        for _ in 0..ncons {
            let cname = r.string()?;
            let seen = read_ms(r)?;
            let active = if ver >= 3 { read_ms(r)? } else { seen };
            let mut c = Consumer {
                seen_time: seen,
                active_time: active,
                pel: BTreeSet::new(),
            };
            let n = r.len()?;
            for _ in 0..n {
                let id = read_raw_id(r)?;
                let Some(nk) = g.pel.get_mut(&id) else {
                    return bad("consumer PEL entry not in the group PEL");
                };
                if !nk.consumer.is_empty() {
                    return bad("PEL entry owned twice");
                }
                nk.consumer = cname.clone();
                c.pel.insert(id);
            }
            if g.consumers.insert(cname, c).is_some() {
                return bad("Duplicate stream consumer detected.");
            }
        }
        if g.pel.values().any(|n| n.consumer.is_empty()) {
            return bad("group PEL entry without consumer");
        }
        if s.groups.insert(name, g).is_some() {
            return bad("duplicate consumer group");
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(s: &mut Stream, n: u64) {
        for i in 1..=n {
            s.add(Some((StreamId::new(i, 0), true)), 0, &[b"f", b"v"])
                .unwrap();
        }
    }

    #[test]
    fn ids_parse_and_step() {
        assert_eq!(
            StreamId::parse(b"1-2", 0, true, false),
            Some((StreamId::new(1, 2), true))
        );
        assert_eq!(
            StreamId::parse(b"5", 9, true, false),
            Some((StreamId::new(5, 9), true))
        );
        assert_eq!(
            StreamId::parse(b"5-*", 0, true, true),
            Some((StreamId::new(5, 0), false))
        );
        assert_eq!(StreamId::parse(b"5-*", 0, true, false), None);
        assert_eq!(StreamId::parse(b"-", 0, true, false), None);
        assert_eq!(
            StreamId::parse(b"+", 0, false, false),
            Some((StreamId::MAX, true))
        );
        assert_eq!(StreamId::parse(b"1-x", 0, false, false), None);
        assert_eq!(StreamId::parse(b"-1", 0, false, false), None);
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
    }

    #[test]
    fn add_ids_and_range() {
        let mut s = Stream::new();
        assert_eq!(
            s.add(None, 10, &[b"a", b"1"]).unwrap(),
            StreamId::new(10, 0)
        );
        assert_eq!(s.add(None, 5, &[b"a", b"2"]).unwrap(), StreamId::new(10, 1));
        assert_eq!(
            s.add(Some((StreamId::new(10, 0), false)), 0, &[b"a", b"3"])
                .unwrap(),
            StreamId::new(10, 2)
        );
        assert_eq!(
            s.add(Some((StreamId::new(3, 0), true)), 0, &[b"a", b"3"]),
            Err(AddError::IdTooSmall)
        );
        let r = s.range(StreamId::MIN, StreamId::MAX, true, 2);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].0, StreamId::new(10, 2));
        assert_eq!(r[0].1.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"3"]);
    }

    #[test]
    fn fields_read_in_place_and_edges() {
        let mut s = Stream::new();
        let id = |ms| Some((StreamId::new(ms, 0), true));
        s.add(id(1), 0, &[b"f", b"1", b"g", b"x"]).unwrap();
        // Same field names as the master entry: stored as values only.
        s.add(id(2), 0, &[b"f", b"2", b"g", b""]).unwrap();
        // Different field names: stored in full.
        s.add(id(3), 0, &[b"h", b"3"]).unwrap();
        s.add(id(4), 0, &[b"f", b"4", b"g", b"y"]).unwrap();
        let all: Vec<(u64, Vec<&[u8]>)> = s
            .range(StreamId::MIN, StreamId::MAX, false, 0)
            .into_iter()
            .map(|(i, f)| (i.ms, f.iter().collect()))
            .collect();
        let want: Vec<(u64, Vec<&[u8]>)> = vec![
            (1, vec![b"f", b"1", b"g", b"x"]),
            (2, vec![b"f", b"2", b"g", b""]),
            (3, vec![b"h", b"3"]),
            (4, vec![b"f", b"4", b"g", b"y"]),
        ];
        assert_eq!(all, want);
        let f = s.get(StreamId::new(3, 0)).unwrap();
        assert_eq!((f.len(), f.iter().len()), (2, 2));
        assert!(s.get(StreamId::new(3, 1)).is_none());
        // Reverse, bounded on both sides, with a count.
        let r: Vec<u64> = s
            .range(StreamId::new(2, 0), StreamId::new(3, 0), true, 5)
            .iter()
            .map(|e| e.0.ms)
            .collect();
        assert_eq!(r, vec![3, 2]);
        assert!(s.delete(StreamId::new(4, 0)));
        assert!(s.delete(StreamId::new(1, 0)));
        assert_eq!(s.edge_id(true), StreamId::new(2, 0));
        assert_eq!(s.edge_id(false), StreamId::new(3, 0));
    }

    #[test]
    fn id_text() {
        let mut b = [0u8; StreamId::TEXT_MAX];
        assert_eq!(StreamId::new(0, 0).fmt_into(&mut b), b"0-0");
        assert_eq!(
            StreamId::new(1526919030474, 55).fmt_into(&mut b),
            b"1526919030474-55"
        );
        assert_eq!(
            StreamId::MAX.fmt_into(&mut b),
            b"18446744073709551615-18446744073709551615"
        );
    }

    #[test]
    fn nodes_delete_and_trim() {
        set_node_limits(10, 0);
        let mut s = Stream::new();
        fill(&mut s, 25);
        assert_eq!(s.node_count(), 3);
        assert!(s.delete(StreamId::new(3, 0)));
        assert!(!s.delete(StreamId::new(3, 0)));
        assert_eq!(s.len(), 24);
        assert_eq!(s.max_deleted_id, StreamId::new(3, 0));
        // Approximate: only whole nodes go.
        assert_eq!(s.trim(Trim::MaxLen(20), true, 0), 0);
        assert_eq!(s.trim(Trim::MaxLen(10), true, 0), 9);
        assert_eq!(s.first_id, StreamId::new(11, 0));
        assert_eq!(s.trim(Trim::MaxLen(12), false, 0), 3);
        assert_eq!(s.len(), 12);
        assert_eq!(s.trim(Trim::MinId(StreamId::new(20, 0)), false, 0), 6);
        assert_eq!(s.first_id, StreamId::new(20, 0));
        set_node_limits(100, 4096);
    }

    #[test]
    fn rdb_roundtrip() {
        let mut s = Stream::new();
        fill(&mut s, 3);
        s.add(
            Some((StreamId::new(9, 1), true)),
            0,
            &[&[b'x'; 300][..], b"123456789012"],
        )
        .unwrap();
        s.delete(StreamId::new(2, 0));
        let mut g = Group::default();
        g.consumers.insert(b"c".to_vec(), Consumer::new(5));
        g.deliver(StreamId::new(1, 0), b"c", 7);
        s.groups.insert(b"g".to_vec(), g);
        let mut w = crate::persist::rdb::Writer::new(false);
        rdb_save(&mut w, &s);
        let mut r = Reader::new(&w.buf, 1 << 20);
        let t = rdb_load(&mut r, 3).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.max_deleted_id, StreamId::new(2, 0));
        assert_eq!(
            t.get(StreamId::new(9, 1)).unwrap().iter().nth(1).unwrap(),
            b"123456789012"
        );
        assert_eq!(
            t.groups[&b"g".to_vec()].pel[&StreamId::new(1, 0)].consumer,
            b"c"
        );
    }

    #[test]
    fn groups_pel_and_lag() {
        let mut s = Stream::new();
        fill(&mut s, 5);
        let mut g = Group {
            last_id: StreamId::MIN,
            entries_read: 0,
            ..Default::default()
        };
        g.consumers.insert(b"a".to_vec(), Consumer::new(0));
        g.consumers.insert(b"b".to_vec(), Consumer::new(0));
        s.groups.insert(b"g".to_vec(), g);
        assert_eq!(s.group_lag(&s.groups[&b"g".to_vec()]), Some(5));
        s.advance_group(b"g", StreamId::new(1, 0));
        let g = s.groups.get_mut(b"g".as_slice()).unwrap();
        assert_eq!(g.entries_read, 1);
        g.deliver(StreamId::new(1, 0), b"a", 7);
        g.deliver(StreamId::new(1, 0), b"b", 8);
        assert!(g.consumers[&b"a".to_vec()].pel.is_empty());
        assert_eq!(g.del_consumer(b"b"), Some(1));
        assert!(g.pel.is_empty());
        assert!(!g.ack(StreamId::new(1, 0)));
        assert_eq!(s.group_lag(&s.groups[&b"g".to_vec()]), Some(4));
        s.delete(StreamId::new(4, 0));
        assert_eq!(
            s.estimate_distance(StreamId::new(2, 0)),
            INVALID_ENTRIES_READ
        );
        assert_eq!(s.estimate_distance(StreamId::new(5, 0)), 5);
    }
}
