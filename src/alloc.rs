//! A counting global allocator: `used_memory` in INFO is what the process
//! really has allocated. It counts the allocator's usable size of each
//! block (as Redis counts jemalloc's), not the size asked for, so rounding
//! shows up in the figure. One relaxed atomic add per allocation; the
//! server is single-threaded on the hot path, so the counter's cache line
//! stays put.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Counting;

static USED: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded to the system allocator with the same layout.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            USED.fetch_add(usable(p), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        USED.fetch_sub(usable(p), Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) };
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            USED.fetch_add(usable(p), Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let old = usable(p);
        // SAFETY: `p` came from this allocator with layout `l`.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            USED.fetch_sub(old, Ordering::Relaxed);
            USED.fetch_add(usable(q), Ordering::Relaxed);
        }
        q
    }
}

/// The usable size of a block from the system allocator.
#[inline]
fn usable(p: *mut u8) -> usize {
    // SAFETY: `p` is a live block returned by the system allocator (glibc
    // malloc, which `System` uses for these layouts' alignments).
    unsafe { libc::malloc_usable_size(p as *mut libc::c_void) }
}

/// Bytes currently allocated through the global allocator.
pub fn used_memory() -> usize {
    USED.load(Ordering::Relaxed)
}

/// Resident set size from /proc, in bytes.
pub fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<usize>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}
