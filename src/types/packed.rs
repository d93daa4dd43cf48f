//! `Packed`: a sequence of byte strings stored many to a buffer, the
//! element store behind lists.
//!
//! Elements live in chunks of at most `CHUNK_MAX` bytes (one larger
//! element gets a chunk of its own). Inside a chunk each entry is
//! `varint(len) bytes reverse(varint(len))`: the leading length walks
//! forward, the trailing one (its bytes in reverse order) walks backward,
//! as a listpack's encoding and back-length do. An element shorter than
//! 128 bytes thus costs two bytes more than its payload, and a chunk's
//! bookkeeping (a `Vec` header and a count) is spread over its entries,
//! against a pointer, a length and an allocation per element in a
//! `VecDeque<Box<[u8]>>`.
//!
//! Indexing walks chunk counts, then entries within one chunk, so access
//! near either end is cheap and access in the middle of a long list costs
//! what a quicklist's does.

use std::collections::VecDeque;

/// Bytes a chunk may grow to before a new one is started.
const CHUNK_MAX: usize = 8192;

/// Bytes of the varint encoding `len`.
fn varint_len(mut len: usize) -> usize {
    let mut n = 1;
    while len >= 0x80 {
        len >>= 7;
        n += 1;
    }
    n
}

/// Bytes one entry of `len` payload bytes takes.
fn entry_size(len: usize) -> usize {
    len + 2 * varint_len(len)
}

/// Appends the encoded entry for `e` to `out`.
fn encode_into(out: &mut Vec<u8>, e: &[u8]) {
    let mut hdr = [0u8; 10];
    let mut n = 0;
    let mut len = e.len();
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            hdr[n] = b;
            n += 1;
            break;
        }
        hdr[n] = b | 0x80;
        n += 1;
    }
    out.extend_from_slice(&hdr[..n]);
    out.extend_from_slice(e);
    out.extend(hdr[..n].iter().rev());
}

/// (payload start, payload len) of the entry starting at `pos`.
#[inline]
pub(crate) fn read_fwd(buf: &[u8], pos: usize) -> (usize, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut p = pos;
    loop {
        let b = buf[p];
        p += 1;
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (p, len)
}

/// (payload start, payload len) of the entry ending at `end` (exclusive).
#[inline]
fn read_back(buf: &[u8], end: usize) -> (usize, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut p = end;
    loop {
        p -= 1;
        let b = buf[p];
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (p - len, len)
}

#[derive(Clone, Debug, Default)]
struct Chunk {
    buf: Vec<u8>,
    count: usize,
}

impl Chunk {
    /// Byte offset of entry `k` (may be `count`: the end).
    fn offset_of(&self, k: usize) -> usize {
        if k <= self.count / 2 {
            let mut p = 0;
            for _ in 0..k {
                let (s, l) = read_fwd(&self.buf, p);
                p = s + l + varint_len(l);
            }
            p
        } else {
            let mut p = self.buf.len();
            for _ in k..self.count {
                p = read_fwd_from_back(&self.buf, p).0;
            }
            p
        }
    }

    /// Makes room for `extra` more bytes with little slack: chunks are
    /// many, so doubling capacity would cost a quarter of the memory, and
    /// a small list's only chunk should be about its payload's size.
    fn reserve(&mut self, extra: usize) {
        let need = self.buf.len() + extra;
        if need > self.buf.capacity() {
            let grow = (self.buf.len() / 8).max(8);
            let target = (need + grow).min(CHUNK_MAX.max(need));
            self.buf.reserve_exact(target - self.buf.len());
        }
    }

    fn insert_at(&mut self, off: usize, e: &[u8]) {
        self.reserve(entry_size(e.len()));
        if off == self.buf.len() {
            encode_into(&mut self.buf, e);
        } else {
            let mut tmp = Vec::with_capacity(entry_size(e.len()));
            encode_into(&mut tmp, e);
            self.buf.splice(off..off, tmp);
        }
        self.count += 1;
    }

    fn shrink_if_slack(&mut self) {
        if self.buf.capacity() > 64 && self.buf.len() < self.buf.capacity() / 2 {
            self.buf.shrink_to(self.buf.len() + self.buf.len() / 8);
        }
    }
}

/// Start of the entry that ends at `end`.
#[inline]
fn read_fwd_from_back(buf: &[u8], end: usize) -> (usize, usize) {
    let (s, l) = read_back(buf, end);
    (s - varint_len(l), l)
}

/// A packed sequence of byte strings.
#[derive(Clone, Debug, Default)]
pub struct Packed {
    chunks: VecDeque<Chunk>,
    len: usize,
}

impl Packed {
    pub fn new() -> Packed {
        Packed::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes (buffers' capacities plus chunk records).
    pub fn mem_usage(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.chunks.iter().map(|c| c.buf.capacity()).sum::<usize>()
    }

    /// (chunk, entry within it) of element `i` < len; for `i == len`,
    /// one past the last entry of the last chunk.
    fn locate(&self, i: usize) -> (usize, usize) {
        if i >= self.len / 2 {
            let mut end = self.len;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                let start = end - c.count;
                if i >= start {
                    return (ci, i - start);
                }
                end = start;
            }
            (0, 0)
        } else {
            let mut start = 0;
            for (ci, c) in self.chunks.iter().enumerate() {
                if i < start + c.count {
                    return (ci, i - start);
                }
                start += c.count;
            }
            (self.chunks.len().saturating_sub(1), 0)
        }
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len {
            return None;
        }
        let (ci, k) = self.locate(i);
        let c = &self.chunks[ci];
        let (s, l) = read_fwd(&c.buf, c.offset_of(k));
        Some(&c.buf[s..s + l])
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            p: self,
            fc: 0,
            fo: 0,
            bc: self.chunks.len(),
            bo: 0,
            left: self.len,
        }
    }

    /// Elements `s..=e` (valid indexes, s <= e).
    pub fn range(&self, s: usize, e: usize) -> Iter<'_> {
        if s > e || e >= self.len {
            return Iter {
                p: self,
                fc: 0,
                fo: 0,
                bc: 0,
                bo: 0,
                left: 0,
            };
        }
        let (fc, fk) = self.locate(s);
        let (bc, bk) = self.locate(e);
        let fo = self.chunks[fc].offset_of(fk);
        let bo = self.chunks[bc].offset_of(bk + 1);
        Iter {
            p: self,
            fc,
            fo,
            bc: bc + 1,
            bo,
            left: e - s + 1,
        }
    }

    fn fits(c: &Chunk, e: &[u8]) -> bool {
        c.buf.len() + entry_size(e.len()) <= CHUNK_MAX
    }

    pub fn push_back(&mut self, e: &[u8]) {
        match self.chunks.back_mut() {
            Some(c) if Self::fits(c, e) => c.insert_at(c.buf.len(), e),
            _ => {
                if let Some(c) = self.chunks.back_mut() {
                    c.buf.shrink_to_fit();
                }
                let mut c = Chunk::default();
                c.insert_at(0, e);
                // A one-chunk sequence keeps a one-slot deque.
                if self.chunks.is_empty() {
                    self.chunks.reserve_exact(1);
                }
                self.chunks.push_back(c);
            }
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, e: &[u8]) {
        match self.chunks.front_mut() {
            Some(c) if Self::fits(c, e) => c.insert_at(0, e),
            _ => {
                if let Some(c) = self.chunks.front_mut() {
                    c.buf.shrink_to_fit();
                }
                let mut c = Chunk::default();
                c.insert_at(0, e);
                if self.chunks.is_empty() {
                    self.chunks.reserve_exact(1);
                }
                self.chunks.push_front(c);
            }
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let c = self.chunks.front_mut()?;
        let (s, l) = read_fwd(&c.buf, 0);
        let v = c.buf[s..s + l].to_vec();
        c.buf.drain(..s + l + varint_len(l));
        c.count -= 1;
        if c.count == 0 {
            self.chunks.pop_front();
        } else {
            c.shrink_if_slack();
        }
        self.len -= 1;
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let c = self.chunks.back_mut()?;
        let (s, l) = read_back(&c.buf, c.buf.len());
        let v = c.buf[s..s + l].to_vec();
        c.buf.truncate(s - varint_len(l));
        c.count -= 1;
        if c.count == 0 {
            self.chunks.pop_back();
        } else {
            c.shrink_if_slack();
        }
        self.len -= 1;
        Some(v)
    }

    /// Merges chunk `ci` into its neighbours when they fit together, so
    /// deletions in the middle do not leave many small chunks.
    fn compact_around(&mut self, ci: usize) {
        if ci >= self.chunks.len() {
            return;
        }
        if ci + 1 < self.chunks.len()
            && self.chunks[ci].buf.len() + self.chunks[ci + 1].buf.len() <= CHUNK_MAX
        {
            let n = self.chunks.remove(ci + 1).unwrap_or_default();
            let c = &mut self.chunks[ci];
            c.buf.extend_from_slice(&n.buf);
            c.count += n.count;
        }
        if ci > 0 && self.chunks[ci - 1].buf.len() + self.chunks[ci].buf.len() <= CHUNK_MAX {
            let n = self.chunks.remove(ci).unwrap_or_default();
            let c = &mut self.chunks[ci - 1];
            c.buf.extend_from_slice(&n.buf);
            c.count += n.count;
        }
    }

    /// Removes `count` elements starting at `start` (clamped to the end).
    pub fn remove_range(&mut self, start: usize, count: usize) {
        let count = count.min(self.len.saturating_sub(start));
        if count == 0 {
            return;
        }
        let (mut ci, mut k) = self.locate(start);
        let mut left = count;
        let mut touched = None;
        while left > 0 {
            let c = &mut self.chunks[ci];
            let del = (c.count - k).min(left);
            if del == c.count {
                self.chunks.remove(ci);
            } else {
                let from = c.offset_of(k);
                let mut to = from;
                for _ in 0..del {
                    let (s, l) = read_fwd(&c.buf, to);
                    to = s + l + varint_len(l);
                }
                c.buf.drain(from..to);
                c.count -= del;
                c.shrink_if_slack();
                touched = Some(ci);
                ci += 1;
            }
            left -= del;
            k = 0;
        }
        self.len -= count;
        if let Some(t) = touched {
            self.compact_around(t);
            if t > 0 {
                self.compact_around(t - 1);
            }
        } else if ci > 0 {
            self.compact_around(ci - 1);
        }
    }

    /// Inserts `e` so that it becomes element `at` (0..=len).
    pub fn insert(&mut self, at: usize, e: &[u8]) {
        if at == 0 {
            return self.push_front(e);
        }
        if at >= self.len {
            return self.push_back(e);
        }
        let (ci, k) = self.locate(at);
        let c = &mut self.chunks[ci];
        let off = c.offset_of(k);
        if Self::fits(c, e) {
            c.insert_at(off, e);
        } else {
            // Split the chunk at the insertion point; the element joins
            // the left half (or starts its own chunk when too big).
            let tail = c.buf.split_off(off);
            let tail_count = c.count - k;
            c.count = k;
            c.buf.shrink_to_fit();
            let right = Chunk {
                buf: tail,
                count: tail_count,
            };
            self.chunks.insert(ci + 1, right);
            let c = &mut self.chunks[ci];
            if c.count > 0 && Self::fits(c, e) {
                let end = c.buf.len();
                c.insert_at(end, e);
            } else {
                let mut n = Chunk::default();
                n.insert_at(0, e);
                self.chunks.insert(ci + 1, n);
            }
            if self.chunks[ci].count == 0 {
                self.chunks.remove(ci);
            }
        }
        self.len += 1;
    }

    /// Replaces element `i` (< len).
    pub fn set(&mut self, i: usize, e: &[u8]) {
        let (ci, k) = self.locate(i);
        let c = &mut self.chunks[ci];
        let off = c.offset_of(k);
        let (s, l) = read_fwd(&c.buf, off);
        let end = s + l + varint_len(l);
        if l == e.len() {
            c.buf[s..s + l].copy_from_slice(e);
            return;
        }
        let mut tmp = Vec::with_capacity(entry_size(e.len()));
        encode_into(&mut tmp, e);
        c.buf.splice(off..end, tmp);
        c.shrink_if_slack();
        if c.buf.len() > CHUNK_MAX && c.count > 1 {
            // Too big now: move the element to a chunk of its own.
            self.len -= 1;
            let cc = &mut self.chunks[ci];
            let off = cc.offset_of(k);
            let (s, l) = read_fwd(&cc.buf, off);
            cc.buf.drain(off..s + l + varint_len(l));
            cc.count -= 1;
            if cc.count == 0 {
                self.chunks.remove(ci);
            }
            self.insert(i, e);
        }
    }
}

/// Double-ended iterator over a range of a `Packed`.
pub struct Iter<'a> {
    p: &'a Packed,
    /// Front position: chunk and byte offset of the next entry.
    fc: usize,
    fo: usize,
    /// Back position: one past the chunk, and the byte end of the entry
    /// `next_back` returns in chunk `bc - 1` (0 meaning its whole buffer).
    bc: usize,
    bo: usize,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let mut c = &self.p.chunks[self.fc];
        if self.fo >= c.buf.len() {
            self.fc += 1;
            self.fo = 0;
            c = &self.p.chunks[self.fc];
        }
        let (s, l) = read_fwd(&c.buf, self.fo);
        self.fo = s + l + varint_len(l);
        self.left -= 1;
        Some(&c.buf[s..s + l])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    #[inline]
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let c = &self.p.chunks[self.bc - 1];
        if self.bo == 0 {
            self.bo = c.buf.len();
        }
        let (s, l) = read_back(&c.buf, self.bo);
        let item = &c.buf[s..s + l];
        self.bo = s - varint_len(l);
        if self.bo == 0 {
            self.bc -= 1;
        }
        self.left -= 1;
        Some(item)
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_check(p: &Packed, m: &VecDeque<Vec<u8>>) {
        assert_eq!(p.len(), m.len());
        let a: Vec<&[u8]> = p.iter().collect();
        let b: Vec<&[u8]> = m.iter().map(|v| &v[..]).collect();
        assert_eq!(a, b);
        let a: Vec<&[u8]> = p.iter().rev().collect();
        let b: Vec<&[u8]> = m.iter().rev().map(|v| &v[..]).collect();
        assert_eq!(a, b);
        assert_eq!(p.chunks.iter().map(|c| c.count).sum::<usize>(), m.len());
        assert!(p.chunks.iter().all(|c| c.count > 0));
    }

    #[test]
    fn varints_round_trip() {
        for len in [0usize, 1, 127, 128, 300, 16383, 16384, 70000] {
            let e = vec![b'x'; len];
            let mut b = Vec::new();
            encode_into(&mut b, &e);
            assert_eq!(b.len(), entry_size(len));
            assert_eq!(read_fwd(&b, 0), (varint_len(len), len));
            assert_eq!(read_back(&b, b.len()), (varint_len(len), len));
        }
    }

    #[test]
    fn matches_a_deque_model() {
        let mut rng = crate::util::Rng::new();
        let mut p = Packed::new();
        let mut m: VecDeque<Vec<u8>> = VecDeque::new();
        for step in 0..20000u64 {
            let r = rng.next();
            let len = match r % 10 {
                0 => (r >> 8) as usize % 9000,
                1 => 0,
                _ => (r >> 8) as usize % 40,
            };
            let e: Vec<u8> = (0..len).map(|j| (step as usize + j) as u8).collect();
            match (r >> 32) % 9 {
                0 | 1 => {
                    p.push_back(&e);
                    m.push_back(e);
                }
                2 => {
                    p.push_front(&e);
                    m.push_front(e);
                }
                3 => assert_eq!(p.pop_front(), m.pop_front()),
                4 => assert_eq!(p.pop_back(), m.pop_back()),
                5 if !m.is_empty() => {
                    let i = (r >> 40) as usize % m.len();
                    p.set(i, &e);
                    m[i] = e;
                }
                6 => {
                    let i = (r >> 40) as usize % (m.len() + 1);
                    p.insert(i, &e);
                    m.insert(i, e);
                }
                7 if !m.is_empty() => {
                    let i = (r >> 40) as usize % m.len();
                    let n = (r >> 20) as usize % 50;
                    p.remove_range(i, n);
                    let n = n.min(m.len() - i);
                    m.drain(i..i + n);
                }
                _ if !m.is_empty() => {
                    let i = (r >> 40) as usize % m.len();
                    assert_eq!(p.get(i), Some(&m[i][..]));
                    let j = i + (r >> 20) as usize % (m.len() - i);
                    let a: Vec<&[u8]> = p.range(i, j).collect();
                    let b: Vec<&[u8]> = m.range(i..=j).map(|v| &v[..]).collect();
                    assert_eq!(a, b);
                    let a: Vec<&[u8]> = p.range(i, j).rev().collect();
                    let b: Vec<&[u8]> = m.range(i..=j).rev().map(|v| &v[..]).collect();
                    assert_eq!(a, b);
                }
                _ => {}
            }
            if step % 997 == 0 {
                model_check(&p, &m);
            }
        }
        model_check(&p, &m);
    }
}
