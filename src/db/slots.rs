//! Per-slot tables for cluster mode, in the manner of Redis's `kvstore`:
//! one small `Dict` per non-empty hash slot, freed when the slot empties.
//!
//! Two uses, both only when cluster mode is on:
//! - `SlotIndex`, the keys of the keyspace grouped by slot (the keyspace
//!   itself stays one `Dict`). It makes CLUSTER COUNTKEYSINSLOT O(1),
//!   CLUSTER GETKEYSINSLOT proportional to the keys returned, and lets SCAN
//!   and KEYS with a pattern pinned to one slot (`{tag}*`) visit only that
//!   slot's keys.
//! - `Expires::Slotted`, the TTL table split by slot as Redis splits it, so
//!   active expiry walks slot by slot and skips a slot whose table is
//!   nearly empty buckets (sampling it would be slow) until it shrinks.
//!
//! Outside cluster mode a `Db` has no `SlotIndex` (one `None` check per key
//! added or removed) and `Expires::Flat` is the plain `Dict` (one match).
//!
//! Scans over all slots use Redis's cursor layout: the slot in the low 14
//! bits, the slot table's own reverse-binary cursor above them.

use super::dict::Dict;
use crate::cluster::{SLOTS, key_hash_slot};

const SLOT_BITS: u32 = 14;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;

/// One `Dict<V>` per non-empty slot.
pub struct SlotDicts<V> {
    slots: Vec<Option<Box<Dict<V>>>>,
    len: usize,
    resize_allowed: bool,
}

/// The keyspace's keys by slot.
pub type SlotIndex = SlotDicts<()>;

impl<V> Default for SlotDicts<V> {
    fn default() -> Self {
        SlotDicts::new()
    }
}

impl<V> SlotDicts<V> {
    pub fn new() -> SlotDicts<V> {
        let mut slots = Vec::with_capacity(SLOTS);
        slots.resize_with(SLOTS, || None);
        SlotDicts {
            slots,
            len: 0,
            resize_allowed: true,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.slots[key_hash_slot(key)].as_ref()?.get(key)
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: &[u8], v: V) -> Option<V> {
        let allowed = self.resize_allowed;
        let d = self.slots[key_hash_slot(key)].get_or_insert_with(|| {
            let mut d = Dict::new();
            d.resize_allowed = allowed;
            Box::new(d)
        });
        let old = d.insert(key, v);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        let slot = key_hash_slot(key);
        let d = self.slots[slot].as_mut()?;
        let old = d.remove(key)?;
        self.len -= 1;
        if d.is_empty() {
            self.slots[slot] = None;
        }
        Some(old)
    }

    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.len = 0;
    }

    /// Entries in `slot`.
    pub fn count(&self, slot: usize) -> usize {
        self.slots[slot].as_ref().map_or(0, |d| d.len())
    }

    /// The keys of `slot`, in table order.
    pub fn keys(&self, slot: usize) -> impl Iterator<Item = &[u8]> {
        self.slots[slot]
            .iter()
            .flat_map(|d| d.iter().map(|(k, _)| k))
    }

    /// Every entry, slot by slot.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.slots.iter().flatten().flat_map(|d| d.iter())
    }

    /// One SCAN step over `slot`'s entries (see `Dict::scan`).
    pub fn scan_slot<'a>(
        &'a self,
        slot: usize,
        cursor: u64,
        f: impl FnMut(&'a [u8], &'a V),
    ) -> u64 {
        match &self.slots[slot] {
            Some(d) => d.scan(cursor, f),
            None => 0,
        }
    }

    /// One step of a scan over all slots (Redis's `kvstoreScan`): visits
    /// one bucket of the cursor's slot, unless `skip` rejects that slot's
    /// table, then moves on to the next non-empty slot when the slot is
    /// done. Returns 0 when every slot was visited.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        skip: impl Fn(&Dict<V>) -> bool,
        f: impl FnMut(&'a [u8], &'a V),
    ) -> u64 {
        let mut slot = (cursor & SLOT_MASK) as usize;
        let mut next = 0;
        let table = self.slots[slot].as_deref();
        let skipped = table.is_none_or(&skip);
        if let Some(d) = table
            && !skipped
        {
            next = d.scan(cursor >> SLOT_BITS, f);
        }
        if next == 0 || skipped {
            match (slot + 1..SLOTS).find(|&s| self.slots[s].is_some()) {
                Some(s) => {
                    slot = s;
                    next = 0;
                }
                None => return 0,
            }
        }
        (next << SLOT_BITS) | slot as u64
    }

    /// DEBUG DICT-RESIZING for every slot table.
    pub fn set_resize_allowed(&mut self, on: bool) {
        self.resize_allowed = on;
        for d in self.slots.iter_mut().flatten() {
            d.resize_allowed = on;
        }
    }

    /// Applies the resize policy to every slot table (the cron's
    /// `tryResizeHashTables`).
    pub fn resize_all(&mut self) {
        for d in self.slots.iter_mut().flatten() {
            d.resize_now();
        }
    }

    /// Moves every slot table's rehashing along, for up to `us_each`.
    pub fn rehash_for(&mut self, us_each: u64) {
        for d in self.slots.iter_mut().flatten() {
            d.rehash_for(us_each);
        }
    }

    /// DEBUG HTSTATS: the tables' sizes summed over slots, in the format of
    /// a single table's stats.
    pub fn stats(&self) -> String {
        let (mut size, mut used) = (0usize, 0usize);
        for d in self.slots.iter().flatten() {
            size += d.slots();
            used += d.len();
        }
        if used == 0 {
            return "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n".to_string();
        }
        format!(
            "Hash table 0 stats (main hash table):\n table size: {size}\n number of elements: {used}\n"
        )
    }
}

impl SlotDicts<()> {
    /// Records a key just added to the keyspace.
    pub fn add(&mut self, key: &[u8]) {
        self.insert(key, ());
    }
}

/// The TTL table of a database: one `Dict` (standalone), or one per slot
/// (cluster mode).
pub enum Expires {
    Flat(Dict<i64>),
    Slotted(Box<SlotDicts<i64>>),
}

impl Default for Expires {
    fn default() -> Self {
        Expires::Flat(Dict::new())
    }
}

impl Expires {
    /// Splits the table by slot (cluster mode).
    pub fn make_slotted(&mut self) {
        if let Expires::Flat(d) = self {
            let mut s = Box::new(SlotDicts::new());
            s.set_resize_allowed(d.resize_allowed);
            for (k, &v) in d.iter() {
                s.insert(k, v);
            }
            *self = Expires::Slotted(s);
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Expires::Flat(d) => d.len(),
            Expires::Slotted(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `Dict::table_bytes` over the table(s).
    pub fn table_bytes(&self) -> (usize, usize) {
        match self {
            Expires::Flat(d) => d.table_bytes(),
            Expires::Slotted(s) => s
                .slots
                .iter()
                .flatten()
                .map(|d| d.table_bytes())
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<&i64> {
        match self {
            Expires::Flat(d) => d.get(key),
            Expires::Slotted(s) => s.get(key),
        }
    }

    pub fn insert(&mut self, key: &[u8], when: i64) -> Option<i64> {
        match self {
            Expires::Flat(d) => d.insert(key, when),
            Expires::Slotted(s) => s.insert(key, when),
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<i64> {
        match self {
            Expires::Flat(d) => d.remove(key),
            Expires::Slotted(s) => s.remove(key),
        }
    }

    pub fn clear(&mut self) {
        match self {
            Expires::Flat(d) => d.clear(),
            Expires::Slotted(s) => s.clear(),
        }
    }

    /// One step of the active-expiry scan. Split by slot, a slot table with
    /// fewer than 1% of its buckets used is skipped, as Redis's
    /// `isExpiryDictValidForSamplingCb` does: it will shrink first.
    pub fn scan<'a>(&'a self, cursor: u64, f: impl FnMut(&'a [u8], &'a i64)) -> u64 {
        match self {
            Expires::Flat(d) => d.scan(cursor, f),
            Expires::Slotted(s) => s.scan(
                cursor,
                |d| d.slots() > 4 && d.len() * 100 / d.slots() < 1,
                f,
            ),
        }
    }

    pub fn set_resize_allowed(&mut self, on: bool) {
        match self {
            Expires::Flat(d) => d.resize_allowed = on,
            Expires::Slotted(s) => s.set_resize_allowed(on),
        }
    }

    /// Applies the resize policy (the cron's `tryResizeHashTables`).
    pub fn resize_now(&mut self) {
        match self {
            Expires::Flat(d) => d.resize_now(),
            Expires::Slotted(s) => s.resize_all(),
        }
    }

    /// Moves a resize along for up to `us` (per slot table when split).
    pub fn rehash_for(&mut self, us: u64) {
        match self {
            Expires::Flat(d) => d.rehash_for(us),
            Expires::Slotted(s) => s.rehash_for(us.min(10)),
        }
    }

    pub fn stats(&self) -> String {
        match self {
            Expires::Flat(d) => d.stats(),
            Expires::Slotted(s) => s.stats(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_scans_one_slot() {
        let mut ix = SlotIndex::new();
        for j in 0..100 {
            ix.add(format!("{{foo}}-{j}").as_bytes());
            ix.add(format!("{{bar}}-{j}").as_bytes());
        }
        assert_eq!(ix.len(), 200);
        assert_eq!(ix.count(12182), 100);
        assert_eq!(ix.count(5061), 100);
        assert_eq!(ix.keys(12182).count(), 100);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = ix.scan_slot(12182, cursor, |k, _| {
                assert!(k.starts_with(b"{foo}"));
                seen.insert(k.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 100);
        for j in 0..100 {
            ix.remove(format!("{{foo}}-{j}").as_bytes());
        }
        assert_eq!(ix.count(12182), 0);
        assert_eq!(ix.scan_slot(12182, 0, |_, _| panic!("empty")), 0);
        ix.clear();
        assert_eq!(ix.count(5061), 0);
        assert!(ix.is_empty());
    }

    #[test]
    fn scan_over_slots_visits_all_and_skips_sparse() {
        let mut e = Expires::default();
        e.make_slotted();
        e.insert(b"alice", 1);
        for j in 1..=100 {
            e.insert(format!("{{foo}}{j}").as_bytes(), 1);
        }
        e.insert(b"key", 1);
        let all = |e: &Expires| {
            let mut seen = Vec::new();
            let mut c = 0;
            loop {
                c = e.scan(c, |k, _| seen.push(k.to_vec()));
                if c == 0 {
                    break;
                }
            }
            seen.sort();
            seen
        };
        assert_eq!(all(&e).len(), 102);
        // Freeze sizes, then leave one key in a 128-bucket table: skipped.
        e.set_resize_allowed(false);
        for j in 1..=99 {
            e.remove(format!("{{foo}}{j}").as_bytes());
        }
        assert_eq!(all(&e), vec![b"alice".to_vec(), b"key".to_vec()]);
        // Once it may shrink, the slot is sampled again.
        e.set_resize_allowed(true);
        e.resize_now();
        e.rehash_for(1000);
        assert_eq!(all(&e).len(), 3);
    }
}
