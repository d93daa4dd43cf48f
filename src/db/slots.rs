//! `SlotIndex`: the keys of a database grouped by cluster hash slot, kept
//! only in cluster mode (a `Db` without one pays a single `None` check per
//! key added or removed).
//!
//! Redis keeps one dictionary per slot (`kvstore`); we keep the keyspace in
//! one `Dict` and index it here, one small `Dict<()>` per non-empty slot,
//! freed when the slot empties. That makes CLUSTER COUNTKEYSINSLOT O(1),
//! CLUSTER GETKEYSINSLOT proportional to the keys returned, and lets SCAN
//! and KEYS with a pattern pinned to one slot (`{tag}*`) visit only that
//! slot's keys, with the same reverse-binary cursor guarantees as the
//! keyspace scan.

use super::dict::Dict;
use crate::cluster::{SLOTS, key_hash_slot};

pub struct SlotIndex {
    slots: Vec<Option<Box<Dict<()>>>>,
}

impl Default for SlotIndex {
    fn default() -> Self {
        SlotIndex::new()
    }
}

impl SlotIndex {
    pub fn new() -> SlotIndex {
        let mut slots = Vec::with_capacity(SLOTS);
        slots.resize_with(SLOTS, || None);
        SlotIndex { slots }
    }

    /// Records a key just added to the keyspace.
    pub fn add(&mut self, key: &[u8]) {
        let d = self.slots[key_hash_slot(key)].get_or_insert_with(Default::default);
        d.insert(key, ());
    }

    /// Forgets a key just removed from the keyspace.
    pub fn remove(&mut self, key: &[u8]) {
        let slot = key_hash_slot(key);
        if let Some(d) = &mut self.slots[slot] {
            d.remove(key);
            if d.is_empty() {
                self.slots[slot] = None;
            }
        }
    }

    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }

    /// Keys in `slot`.
    pub fn count(&self, slot: usize) -> usize {
        self.slots[slot].as_ref().map_or(0, |d| d.len())
    }

    /// The keys of `slot`, in table order.
    pub fn keys(&self, slot: usize) -> impl Iterator<Item = &[u8]> {
        self.slots[slot]
            .iter()
            .flat_map(|d| d.iter().map(|(k, _)| k))
    }

    /// One SCAN step over `slot`'s keys (see `Dict::scan`).
    pub fn scan<'a>(&'a self, slot: usize, cursor: u64, mut f: impl FnMut(&'a [u8])) -> u64 {
        match &self.slots[slot] {
            Some(d) => d.scan(cursor, |k, _| f(k)),
            None => 0,
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
        assert_eq!(ix.count(12182), 100);
        assert_eq!(ix.count(5061), 100);
        assert_eq!(ix.keys(12182).count(), 100);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = ix.scan(12182, cursor, |k| {
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
        assert_eq!(ix.scan(12182, 0, |_| panic!("empty")), 0);
        ix.clear();
        assert_eq!(ix.count(5061), 0);
    }
}
