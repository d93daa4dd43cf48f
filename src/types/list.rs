//! The list type: elements in one ring buffer, plus a shadow of the node
//! layout Redis would have, so `OBJECT ENCODING` answers `listpack` or
//! `quicklist` exactly where Redis does.
//!
//! Redis keeps a small list as one listpack and converts it to a quicklist
//! (a linked list of listpack nodes, plus "plain" nodes holding a single
//! large element) when it outgrows `list-max-listpack-size`; a quicklist
//! goes back to a listpack only when it has shrunk to a single packed node
//! under half the limit. Whether that single-node condition holds depends
//! on how pushes, inserts, splits, merges and deletions shaped the nodes,
//! so this module replays quicklist.c's node decisions on `Node` records
//! (count, listpack byte size, plain flag) while the elements themselves
//! stay in a `VecDeque` with O(1) indexing.
//!
//! Limits follow quicklist.c: a positive fill caps the entries per node
//! (with an 8 KB safety size cap), a negative fill caps node bytes at 4, 8,
//! 16, 32 or 64 KB. Node sizes are exact listpack byte counts
//! (`lp_entry_size`).

use super::packed::Packed;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// `list-max-listpack-size`, mirrored here so every list operation (and
/// the RDB loader) sees the configured fill, as Redis's global does.
static FILL: AtomicI64 = AtomicI64::new(-2);
/// `list-compress-depth` (recorded by each quicklist, as in Redis; we do
/// not compress, but DEBUG OBJECT reports it).
static COMPRESS: AtomicI64 = AtomicI64::new(0);
/// DEBUG QUICKLIST-PACKED-THRESHOLD; 0: the limit derives from the fill.
static PACKED_THRESHOLD: AtomicUsize = AtomicUsize::new(0);

const SIZE_SAFETY_LIMIT: usize = 8192;
const SIZE_ESTIMATE_OVERHEAD: usize = 11;
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Listpack header (6 bytes) plus terminator.
const LP_EMPTY: usize = 7;

/// Sets the configured `list-max-listpack-size`.
pub fn set_fill(fill: i64) {
    FILL.store(
        fill.clamp(i32::MIN as i64, i32::MAX as i64),
        Ordering::Relaxed,
    );
}

/// Sets the configured `list-compress-depth`.
pub fn set_compress_depth(depth: i64) {
    COMPRESS.store(depth, Ordering::Relaxed);
}

fn fill() -> i64 {
    FILL.load(Ordering::Relaxed)
}

/// DEBUG QUICKLIST-PACKED-THRESHOLD: false when above Redis's 4 GB cap.
pub fn set_packed_threshold(sz: u64) -> bool {
    if sz > (1u64 << 32) - (1 << 20) {
        return false;
    }
    PACKED_THRESHOLD.store(sz as usize, Ordering::Relaxed);
    true
}

/// (byte limit, count limit) of one node; usize::MAX means unlimited.
fn node_limit(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        (usize::MAX, (fill.max(1)).min(u32::MAX as i64) as usize)
    } else {
        let off = ((-fill - 1) as usize).min(OPTIMIZATION_LEVEL.len() - 1);
        (OPTIMIZATION_LEVEL[off], usize::MAX)
    }
}

fn exceeds_limit(fill: i64, sz: usize, count: usize) -> bool {
    let (sl, cl) = node_limit(fill);
    if sl != usize::MAX {
        sz > sl
    } else {
        sz > SIZE_SAFETY_LIMIT || count > cl
    }
}

/// Whether an element of `sz` bytes gets a plain node of its own.
fn is_large(sz: usize, fill: i64) -> bool {
    let t = PACKED_THRESHOLD.load(Ordering::Relaxed);
    if t != 0 {
        return sz >= t;
    }
    if fill >= 0 {
        sz > SIZE_SAFETY_LIMIT
    } else {
        sz > node_limit(fill).0
    }
}

/// Bytes one element takes in a listpack: encoding header, payload and
/// back-length. Canonical integers are stored as integers.
pub fn lp_entry_size(e: &[u8]) -> usize {
    let enc = if e.len() <= 20
        && let Some(v) = crate::util::parse_i64(e)
    {
        if (0..=127).contains(&v) {
            1
        } else if (-4096..=4095).contains(&v) {
            2
        } else if (-32768..=32767).contains(&v) {
            3
        } else if (-8388608..=8388607).contains(&v) {
            4
        } else if (-2147483648..=2147483647).contains(&v) {
            5
        } else {
            9
        }
    } else if e.len() < 64 {
        1 + e.len()
    } else if e.len() < 4096 {
        2 + e.len()
    } else {
        5 + e.len()
    };
    let back = match enc {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    };
    enc + back
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    count: usize,
    /// Listpack bytes of a packed node; the element's length for a plain one.
    sz: usize,
    plain: bool,
}

impl Node {
    fn plain(len: usize) -> Node {
        Node {
            count: 1,
            sz: len,
            plain: true,
        }
    }
    fn packed(count: usize, entries: usize) -> Node {
        Node {
            count,
            sz: LP_EMPTY + entries,
            plain: false,
        }
    }
}

fn allow_insert(n: Option<&Node>, fill: i64, sz: usize) -> bool {
    match n {
        None => false,
        Some(n) => {
            !n.plain
                && !is_large(sz, fill)
                && !exceeds_limit(fill, n.sz + sz + SIZE_ESTIMATE_OVERHEAD, n.count + 1)
        }
    }
}

fn allow_merge(a: &Node, b: &Node, fill: i64) -> bool {
    !a.plain && !b.plain && !exceeds_limit(fill, a.sz + b.sz - LP_EMPTY, a.count + b.count)
}

/// A Redis list.
#[derive(Clone, Debug, Default)]
pub struct List {
    /// The elements, packed many to a buffer.
    items: Packed,
    /// The quicklist's bookkeeping; None while listpack-encoded, so a
    /// small list carries one pointer for it.
    q: Option<Box<Quick>>,
    /// Listpack bytes while listpack-encoded.
    lp_bytes: usize,
}

/// What a quicklist-encoded list keeps beside its elements.
#[derive(Clone, Debug, Default)]
struct Quick {
    /// The quicklist node layout.
    nodes: VecDeque<Node>,
    /// The fill the quicklist was created with (Redis keeps it per list).
    fill: i64,
    /// The compress depth the quicklist was created with.
    compress: i64,
}

static NO_NODES: VecDeque<Node> = VecDeque::new();

// A listpack-encoded list's box holds just its elements' handle.
const _: () = assert!(std::mem::size_of::<List>() <= 56);

/// Which end of a list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    Head,
    Tail,
}

impl List {
    pub fn new() -> List {
        List {
            lp_bytes: LP_EMPTY,
            ..Default::default()
        }
    }

    /// Builds a list as Redis does when loading an RDB list or storing a
    /// SORT result: tail pushes into a quicklist, which then picks its best
    /// encoding.
    pub fn from_items<I: IntoIterator<Item = Vec<u8>>>(it: I) -> List {
        let mut l = List::new();
        l.q = Some(Box::new(Quick {
            nodes: VecDeque::new(),
            fill: fill(),
            compress: COMPRESS.load(Ordering::Relaxed),
        }));
        for e in it {
            l.push(End::Tail, &e);
        }
        l.convert_auto();
        l
    }

    fn nodes(&self) -> &VecDeque<Node> {
        self.q.as_ref().map_or(&NO_NODES, |q| &q.nodes)
    }

    fn nodes_mut(&mut self) -> &mut VecDeque<Node> {
        &mut self.q.get_or_insert_with(Box::default).nodes
    }

    fn qfill(&self) -> i64 {
        self.q.as_ref().map_or(0, |q| q.fill)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn encoding(&self) -> &'static str {
        if self.q.is_some() {
            "quicklist"
        } else {
            "listpack"
        }
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.items.get(i)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter()
    }

    /// Elements `s..=e` (valid indexes).
    pub fn range(&self, s: usize, e: usize) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.items.range(s, e)
    }

    /// Index of an element counted from the head, or from the tail when
    /// negative; None when out of range.
    pub fn index(&self, i: i64) -> Option<usize> {
        let n = self.len() as i64;
        let i = if i < 0 { n.checked_add(i)? } else { i };
        (0..n).contains(&i).then_some(i as usize)
    }

    /// Approximate heap footprint.
    pub fn mem_usage(&self) -> usize {
        48 + self.items.mem_usage() + self.nodes().len() * 24
    }

    /// Number of quicklist nodes (1 for a listpack), for DEBUG output.
    pub fn node_count(&self) -> usize {
        if self.q.is_some() {
            self.nodes().len()
        } else {
            1
        }
    }

    /// DEBUG OBJECT's quicklist fields (leading space included), or None
    /// for a listpack.
    pub fn debug_quicklist(&self) -> Option<String> {
        self.q.as_ref()?;
        let nodes = self.nodes().len();
        let avg = self.len() as f64 / nodes as f64;
        let sz: usize = self.nodes().iter().map(|n| n.sz).sum();
        Some(format!(
            " ql_nodes:{nodes} ql_avg_node:{avg:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{sz}",
            self.qfill(),
            (self.q.as_ref().is_some_and(|q| q.compress != 0)) as u8
        ))
    }

    // ----- encoding conversions (t_list.c listTypeTryConversion*) -----

    /// Before adding elements of these lengths: a listpack that would
    /// outgrow one node becomes a quicklist.
    pub fn grow(&mut self, lens: impl Iterator<Item = usize>) {
        if self.q.is_some() {
            return;
        }
        let (mut bytes, mut n) = (0usize, 0usize);
        for l in lens {
            bytes = bytes.saturating_add(l);
            n += 1;
        }
        let f = fill();
        if exceeds_limit(f, self.lp_bytes.saturating_add(bytes), self.len() + n) {
            let mut q = Box::new(Quick {
                nodes: VecDeque::new(),
                fill: f,
                compress: COMPRESS.load(Ordering::Relaxed),
            });
            if !self.items.is_empty() {
                q.nodes.push_back(Node {
                    count: self.items.len(),
                    sz: self.lp_bytes,
                    plain: false,
                });
            }
            self.q = Some(q);
        }
    }

    /// After removing elements: a quicklist down to one packed node under
    /// half the limits becomes a listpack again.
    pub fn shrink(&mut self) {
        self.listpack_if_fits(true);
    }

    /// Picks the best encoding for a freshly built list.
    pub fn convert_auto(&mut self) {
        if self.q.is_some() {
            self.listpack_if_fits(false);
        } else {
            self.grow(std::iter::empty());
        }
    }

    fn listpack_if_fits(&mut self, shrinking: bool) {
        if self.q.is_none() || self.nodes().len() != 1 || self.nodes()[0].plain {
            return;
        }
        let (mut sl, mut cl) = node_limit(fill());
        if shrinking {
            sl /= 2;
            cl /= 2;
        }
        let n = self.nodes()[0];
        if n.sz > sl || n.count > cl {
            return;
        }
        self.q = None;
        self.lp_bytes = n.sz;
    }

    // ----- node bookkeeping -----

    /// (node index, offset in node) of element `i`.
    fn locate(&self, i: usize) -> (usize, usize) {
        let total = self.items.len();
        if i >= total / 2 {
            let mut end = total;
            for (ni, n) in self.nodes().iter().enumerate().rev() {
                let start = end - n.count;
                if i >= start {
                    return (ni, i - start);
                }
                end = start;
            }
        } else {
            let mut start = 0;
            for (ni, n) in self.nodes().iter().enumerate() {
                if i < start + n.count {
                    return (ni, i - start);
                }
                start += n.count;
            }
        }
        (0, 0)
    }

    /// Listpack bytes of the entries `from..to` of the element buffer.
    fn entries_size(&self, from: usize, to: usize) -> usize {
        if from >= to {
            return 0;
        }
        self.items.range(from, to - 1).map(lp_entry_size).sum()
    }

    fn merge(&mut self, a: usize) {
        let b = self.nodes_mut().remove(a + 1).expect("merge neighbour");
        let n = &mut self.nodes_mut()[a];
        n.count += b.count;
        n.sz = n.sz + b.sz - LP_EMPTY;
    }

    /// quicklist.c `_quicklistMergeNodes` around node `c`.
    fn merge_around(&mut self, mut c: usize) -> usize {
        let f = self.qfill();
        if c >= 2 && allow_merge(&self.nodes()[c - 1], &self.nodes()[c - 2], f) {
            self.merge(c - 2);
            c -= 1;
        }
        if c + 2 < self.nodes().len() && allow_merge(&self.nodes()[c + 1], &self.nodes()[c + 2], f)
        {
            self.merge(c + 1);
        }
        let target = if c >= 1 && allow_merge(&self.nodes()[c], &self.nodes()[c - 1], f) {
            self.merge(c - 1);
            c - 1
        } else {
            c
        };
        if target + 1 < self.nodes().len()
            && allow_merge(&self.nodes()[target], &self.nodes()[target + 1], f)
        {
            self.merge(target);
        }
        target
    }

    /// Splits node `ni` (whose first element is at `base`) into
    /// `[0, at)` and `[at, count)`; returns the index of the second half.
    fn split(&mut self, ni: usize, base: usize, at: usize) -> usize {
        let n = self.nodes()[ni];
        let left = Node::packed(at, self.entries_size(base, base + at));
        let right = Node::packed(n.count - at, self.entries_size(base + at, base + n.count));
        self.nodes_mut()[ni] = left;
        self.nodes_mut().insert(ni + 1, right);
        ni + 1
    }

    // ----- operations -----

    /// Pushes each element at `end`, converting first if the list outgrows
    /// a listpack (LPUSH, RPUSH, LMOVE's destination).
    pub fn push_all(&mut self, end: End, elems: &[&[u8]]) {
        self.grow(elems.iter().map(|e| e.len()));
        for e in elems {
            self.push(end, e);
        }
    }

    fn push(&mut self, end: End, e: &[u8]) {
        let es = lp_entry_size(e);
        if self.q.is_some() {
            let f = self.qfill();
            let ni = match end {
                End::Head => 0,
                End::Tail => self.nodes().len().wrapping_sub(1),
            };
            if is_large(e.len(), f) {
                let n = Node::plain(e.len());
                match end {
                    End::Head => self.nodes_mut().push_front(n),
                    End::Tail => self.nodes_mut().push_back(n),
                }
            } else if allow_insert(self.nodes().get(ni), f, e.len()) {
                let n = &mut self.nodes_mut()[ni];
                n.count += 1;
                n.sz += es;
            } else {
                let n = Node::packed(1, es);
                match end {
                    End::Head => self.nodes_mut().push_front(n),
                    End::Tail => self.nodes_mut().push_back(n),
                }
            }
        } else {
            self.lp_bytes += es;
        }
        match end {
            End::Head => self.items.push_front(e),
            End::Tail => self.items.push_back(e),
        }
    }

    /// Pops one element from `end`. Call `shrink` once done removing.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let e = match end {
            End::Head => self.items.pop_front()?,
            End::Tail => self.items.pop_back()?,
        };
        let es = lp_entry_size(&e);
        if self.q.is_some() {
            let ni = match end {
                End::Head => 0,
                End::Tail => self.nodes().len() - 1,
            };
            let n = &mut self.nodes_mut()[ni];
            n.count -= 1;
            n.sz = n.sz.saturating_sub(es);
            if n.count == 0 {
                self.nodes_mut().remove(ni);
            }
        } else {
            self.lp_bytes -= es;
        }
        Some(e)
    }

    /// Removes `count` elements starting at index `start` (quicklist.c
    /// `quicklistDelRange`: whole nodes go, partial nodes shrink, nothing
    /// merges). Call `shrink` once done removing.
    pub fn remove_range(&mut self, start: usize, count: usize) {
        let count = count.min(self.len().saturating_sub(start));
        if count == 0 {
            return;
        }
        if self.q.is_some() {
            let (mut ni, mut off) = self.locate(start);
            let mut base = start - off;
            let mut left = count;
            while left > 0 {
                let n = self.nodes()[ni];
                let del = (n.count - off).min(left);
                if del == n.count || n.plain {
                    self.nodes_mut().remove(ni);
                    base += n.count;
                    // Elements of a removed node that were not asked for
                    // cannot exist: a plain node holds one element.
                } else {
                    let sz = self.entries_size(base + off, base + off + del);
                    let m = &mut self.nodes_mut()[ni];
                    m.count -= del;
                    m.sz -= sz;
                    base += n.count;
                    ni += 1;
                }
                left -= del;
                off = 0;
            }
        } else {
            let sz = self.entries_size(start, start + count);
            self.lp_bytes -= sz;
        }
        self.items.remove_range(start, count);
    }

    /// Removes the elements at the given ascending indexes (LREM).
    pub fn remove_indexes(&mut self, idx: &[usize]) {
        // From the back, so earlier indexes stay valid.
        for &i in idx.iter().rev() {
            self.remove_range(i, 1);
        }
    }

    /// Inserts `e` before or after the element at `pivot` (LINSERT),
    /// converting first if the list outgrows a listpack.
    pub fn insert(&mut self, pivot: usize, after: bool, e: &[u8]) {
        self.grow(std::iter::once(e.len()));
        let at = pivot + after as usize;
        if self.q.is_some() {
            self.insert_node(pivot, after, e);
        } else {
            self.lp_bytes += lp_entry_size(e);
        }
        self.items.insert(at, e);
    }

    /// quicklist.c `_quicklistInsert` on the node records (before the
    /// element itself is inserted in `items`).
    fn insert_node(&mut self, pivot: usize, after: bool, e: &[u8]) {
        let f = self.qfill();
        let es = lp_entry_size(e);
        let (ni, off) = self.locate(pivot);
        let base = pivot - off;
        let n = self.nodes()[ni];
        let full = !allow_insert(Some(&n), f, e.len());
        let at_tail = after && off == n.count - 1;
        let at_head = !after && off == 0;
        let avail_next = at_tail && allow_insert(self.nodes().get(ni + 1), f, e.len());
        let avail_prev = at_head && ni > 0 && allow_insert(self.nodes().get(ni - 1), f, e.len());
        if is_large(e.len(), f) {
            if n.plain || at_tail || at_head {
                self.nodes_mut()
                    .insert(if after { ni + 1 } else { ni }, Node::plain(e.len()));
            } else {
                let cut = if after { off + 1 } else { off };
                let r = self.split(ni, base, cut);
                self.nodes_mut().insert(r, Node::plain(e.len()));
            }
            return;
        }
        if !full {
            let m = &mut self.nodes_mut()[ni];
            m.count += 1;
            m.sz += es;
        } else if at_tail && avail_next {
            let m = &mut self.nodes_mut()[ni + 1];
            m.count += 1;
            m.sz += es;
        } else if at_head && avail_prev {
            let m = &mut self.nodes_mut()[ni - 1];
            m.count += 1;
            m.sz += es;
        } else if at_tail || at_head {
            self.nodes_mut()
                .insert(if after { ni + 1 } else { ni }, Node::packed(1, es));
        } else {
            let cut = if after { off + 1 } else { off };
            let r = self.split(ni, base, cut);
            // The new element joins the split-off part: the right half
            // when inserting after, the left half when inserting before.
            let target = if after { r } else { r - 1 };
            let m = &mut self.nodes_mut()[target];
            m.count += 1;
            m.sz += es;
            let center = if after { r - 1 } else { r };
            self.merge_around(center);
        }
    }

    /// Replaces the element at `i` (LSET), converting first if the list
    /// outgrows a listpack. Call `shrink` afterwards.
    pub fn set(&mut self, i: usize, e: &[u8]) {
        self.grow(std::iter::once(e.len()));
        let es = lp_entry_size(e);
        let old = self.items.get(i).map_or(0, lp_entry_size);
        if self.q.is_some() {
            let f = self.qfill();
            let (ni, off) = self.locate(i);
            let base = i - off;
            let n = self.nodes()[ni];
            if !n.plain && !is_large(e.len(), f) {
                let m = &mut self.nodes_mut()[ni];
                m.sz = m.sz + es - old;
            } else if n.plain {
                if is_large(e.len(), f) {
                    self.nodes_mut()[ni].sz = e.len();
                } else {
                    // Insert after the plain node, then drop it.
                    if allow_insert(self.nodes().get(ni + 1), f, e.len()) {
                        let m = &mut self.nodes_mut()[ni + 1];
                        m.count += 1;
                        m.sz += es;
                    } else {
                        self.nodes_mut().insert(ni + 1, Node::packed(1, es));
                    }
                    self.nodes_mut().remove(ni);
                }
            } else {
                // A packed node receiving a large element: split after the
                // entry, put the element in its own plain node.
                let mut cur = ni;
                if off != n.count - 1 {
                    self.split(ni, base, off + 1);
                }
                self.nodes_mut().insert(cur + 1, Node::plain(e.len()));
                if self.nodes()[cur].count == 1 {
                    self.nodes_mut().remove(cur);
                } else {
                    let m = &mut self.nodes_mut()[cur];
                    m.count -= 1;
                    m.sz -= old;
                    cur += 1;
                    self.merge_around(cur);
                }
            }
        } else {
            self.lp_bytes = self.lp_bytes + es - old;
        }
        self.items.set(i, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fill is global: tests that change it run one at a time.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn push(l: &mut List, e: &str) {
        l.push_all(End::Tail, &[e.as_bytes()]);
    }

    #[test]
    fn entry_sizes() {
        assert_eq!(lp_entry_size(b"127"), 2);
        assert_eq!(lp_entry_size(b"-1"), 3);
        assert_eq!(lp_entry_size(b"abc"), 5);
        assert_eq!(lp_entry_size(b"9223372036854775808"), 21);
        assert_eq!(lp_entry_size(&[b'x'; 100]), 103);
    }

    #[test]
    fn count_fill_conversions() {
        let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_fill(3);
        let mut l = List::new();
        for e in ["a", "b", "c"] {
            push(&mut l, e);
        }
        assert_eq!(l.encoding(), "listpack");
        push(&mut l, "d");
        assert_eq!(l.encoding(), "quicklist");
        // [a b c][d]: popping d leaves one node of 3 > 3/2: still quicklist.
        assert_eq!(l.pop(End::Tail), Some(b"d".to_vec()));
        l.shrink();
        assert_eq!(l.encoding(), "quicklist");
        l.convert_auto();
        assert_eq!(l.encoding(), "listpack");
        // LTRIM to one element.
        let mut l = List::from_items(["a", "b", "c", "d"].map(|s| s.as_bytes().to_vec()));
        assert_eq!(l.encoding(), "quicklist");
        l.remove_range(0, 1);
        l.remove_range(1, 2);
        l.shrink();
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![b"b"]);
        set_fill(-2);
    }

    #[test]
    fn plain_nodes_and_lset() {
        let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_fill(-1);
        let big = vec![b'x'; 5000];
        let mut l = List::new();
        l.push_all(End::Tail, &[&big]);
        assert_eq!(l.encoding(), "quicklist");
        l.push_all(End::Tail, &[b"a", b"b"]);
        l.pop(End::Tail);
        l.pop(End::Tail);
        l.shrink();
        // A single plain node never converts back.
        assert_eq!(l.encoding(), "quicklist");
        l.set(0, b"c");
        l.shrink();
        assert_eq!(l.encoding(), "listpack");
        assert_eq!(l.get(0), Some(&b"c"[..]));
        set_fill(-2);
    }

    #[test]
    fn inserts_keep_counts() {
        let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        set_fill(2);
        let mut l = List::from_items((0..10).map(|i| i.to_string().into_bytes()));
        for i in 0..10 {
            l.insert(i * 2, i % 2 == 0, b"x");
        }
        assert_eq!(l.len(), 20);
        let total: usize = l.nodes().iter().map(|n| n.count).sum();
        assert_eq!(total, 20);
        assert!(l.nodes().iter().all(|n| n.count <= 2 && n.count > 0));
        l.remove_range(3, 10);
        let total: usize = l.nodes().iter().map(|n| n.count).sum();
        assert_eq!(total, 10);
        set_fill(-2);
    }
}
