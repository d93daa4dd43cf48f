//! `SmallBytes`: an immutable byte string in 16 bytes, the size of a
//! `Box<[u8]>`, holding up to 15 bytes inline.
//!
//! Hash field values are mostly short. As a `Box<[u8]>` each one is a
//! malloc chunk of its own (32 bytes of heap for a 10-byte value, plus a
//! pointer chase on every read); inline, it lives in the dict entry that
//! already holds its field.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::ptr::NonNull;

/// Longest string kept inline.
pub const INLINE: usize = 15;

/// Byte 0 tells the forms apart. Inline: `len << 1 | 1`, then the bytes.
/// Heap: a pointer (allocated with alignment 2, so byte 0 is even) and
/// the length, as two native words (little-endian: the pointer's low
/// byte is byte 0).
#[repr(C, align(8))]
pub struct SmallBytes {
    w: [u8; 16],
}

// The tag is the low bit of the pointer word only where that is byte 0.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "SmallBytes assumes little-endian"
);

// SAFETY: SmallBytes owns its heap bytes exclusively and never shares them.
unsafe impl Send for SmallBytes {}
unsafe impl Sync for SmallBytes {}

impl SmallBytes {
    pub fn new(b: &[u8]) -> SmallBytes {
        let mut w = [0u8; 16];
        if b.len() <= INLINE {
            w[0] = (b.len() as u8) << 1 | 1;
            w[1..1 + b.len()].copy_from_slice(b);
            return SmallBytes { w };
        }
        let layout = Self::layout(b.len());
        // SAFETY: the layout has a non-zero size (len > INLINE).
        let p =
            NonNull::new(unsafe { alloc(layout) }).unwrap_or_else(|| handle_alloc_error(layout));
        // SAFETY: fresh allocation of b.len() bytes; no overlap.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), p.as_ptr(), b.len()) };
        let s = SmallBytes { w };
        // SAFETY: `w` is 8-aligned and 16 bytes: two usize words.
        unsafe {
            let words = s.w.as_ptr() as *mut usize;
            words.write(p.as_ptr() as usize);
            words.add(1).write(b.len());
        }
        s
    }

    fn layout(len: usize) -> Layout {
        // Lengths come from strings already in memory, far below isize::MAX.
        Layout::from_size_align(len, 2).expect("length fits a layout")
    }

    #[inline]
    fn is_inline(&self) -> bool {
        self.w[0] & 1 == 1
    }

    /// The heap form's pointer and length.
    #[inline]
    fn heap(&self) -> (*mut u8, usize) {
        // SAFETY: `w` is 8-aligned and 16 bytes: two usize words.
        unsafe {
            let words = self.w.as_ptr() as *const usize;
            (words.read() as *mut u8, words.add(1).read())
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        if self.is_inline() {
            &self.w[1..1 + (self.w[0] >> 1) as usize]
        } else {
            let (p, len) = self.heap();
            // SAFETY: the heap form owns `len` initialised bytes at `p`.
            unsafe { std::slice::from_raw_parts(p, len) }
        }
    }

    /// Heap bytes owned beyond the 16 bytes of the value itself.
    pub fn heap_size(&self) -> usize {
        if self.is_inline() { 0 } else { self.heap().1 }
    }
}

impl Drop for SmallBytes {
    fn drop(&mut self) {
        if !self.is_inline() {
            let (p, len) = self.heap();
            // SAFETY: allocated in `new` with this very layout.
            unsafe { dealloc(p, Self::layout(len)) }
        }
    }
}

impl Clone for SmallBytes {
    fn clone(&self) -> Self {
        SmallBytes::new(self.as_slice())
    }
}

impl std::ops::Deref for SmallBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(b: &[u8]) -> Self {
        SmallBytes::new(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_across_the_inline_limit() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 16);
        for len in 0..64usize {
            let b: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37) | 1).collect();
            let s = SmallBytes::new(&b);
            assert_eq!(s.as_slice(), &b[..]);
            assert_eq!(s.heap_size(), if len <= INLINE { 0 } else { len });
            let c = s.clone();
            drop(s);
            assert_eq!(&*c, &b[..]);
        }
    }
}
