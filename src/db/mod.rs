//! The keyspace: one `Db` per logical database, each a table of values plus
//! a table of expire times. Expiry is lazy on access and active in the cron
//! (`active_expire_cycle`), as in Redis.

pub mod dict;
pub mod keysizes;
pub mod lazyfree;
pub mod slots;
pub mod value;

pub use dict::{Dict, Key};
pub use slots::{Expires, SlotIndex};
pub use value::{Obj, Str, Value};

use crate::util::Rng;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether keyspace notifications of class `n` are on: keys added to the
/// keyspace are then queued in `Db::new_keys` for the `new` event.
pub static NOTIFY_NEW: AtomicBool = AtomicBool::new(false);

#[derive(Default)]
pub struct Db {
    pub id: usize,
    pub keys: Dict<Obj>,
    /// Absolute unix time in milliseconds at which each volatile key dies.
    pub expires: Expires,
    /// Keys removed by expiry since the last time the server read this.
    pub expired: u64,
    /// Keys expired lazily or actively and not yet propagated as DEL.
    pub expired_keys: Vec<Key>,
    /// Active-expire scan cursor over `expires`.
    pub expire_cursor: u64,
    pub avg_ttl: i64,
    /// Keys that may hold hashes with field TTLs (for active field expiry;
    /// entries may be stale and are dropped when found so).
    pub hfe: std::collections::HashSet<Vec<u8>>,
    /// Keys by cluster hash slot, in cluster mode only.
    pub slots: Option<Box<SlotIndex>>,
    /// Keys added since the `new` events were last sent (only while
    /// `NOTIFY_NEW` is on).
    pub new_keys: Vec<Key>,
    /// INFO keysizes histograms.
    pub keysizes: Box<keysizes::KeySizes>,
}

impl Db {
    pub fn new(id: usize) -> Db {
        Db {
            id,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Deletes `key` if its time has come. Returns true when it was
    /// (or is logically, on a replica) expired.
    pub fn expire_if_needed(&mut self, key: &[u8], now: i64, deleting: bool) -> bool {
        match self.expires.get(key) {
            Some(&when) if when <= now => {
                if deleting {
                    self.expires.remove(key);
                    self.unlink(key);
                    self.expired += 1;
                    self.expired_keys.push(key.into());
                }
                true
            }
            _ => false,
        }
    }

    /// The value at `key` after lazy expiry, without touching access time.
    pub fn peek(&self, key: &[u8], now: i64) -> Option<&Obj> {
        if self.expire_is_due(key, now) {
            return None;
        }
        self.keys.get(key)
    }

    pub fn exists(&self, key: &[u8], now: i64) -> bool {
        self.peek(key, now).is_some()
    }

    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        self.expires.get(key).copied()
    }

    /// Stores `v` at `key`. Unless `keep_ttl`, any previous TTL is dropped.
    pub fn set(&mut self, key: &[u8], v: Value, keep_ttl: bool) {
        self.track_hfe(key, &v);
        self.put(key, Obj::new(v));
        if !keep_ttl {
            self.expires.remove(key);
        }
    }

    /// Adds a key known not to exist.
    pub fn add(&mut self, key: &[u8], v: Value) {
        self.track_hfe(key, &v);
        self.put(key, Obj::new(v));
    }

    /// Stores `o` at `key`, keeping the TTL table as it is. Every key
    /// enters the keyspace through here (or `set`/`add`), so the slot
    /// index sees it.
    pub fn put(&mut self, key: &[u8], mut o: Obj) {
        o.sized = keysizes::class_of(&o.v);
        self.keysizes.shift(keysizes::UNCOUNTED, o.sized);
        if let Some(old) = self.keys.insert(key, o) {
            self.keysizes.shift(old.sized, keysizes::UNCOUNTED);
        } else {
            if let Some(ix) = &mut self.slots {
                ix.add(key);
            }
            if NOTIFY_NEW.load(Ordering::Relaxed) {
                self.new_keys.push(key.into());
            }
        }
    }

    /// Takes the value out of `key`, leaving its TTL to the caller (RENAME,
    /// MOVE). Every key leaves the keyspace through here.
    pub fn unlink(&mut self, key: &[u8]) -> Option<Obj> {
        let o = self.keys.remove(key)?;
        self.keysizes.shift(o.sized, keysizes::UNCOUNTED);
        if let Some(ix) = &mut self.slots {
            ix.remove(key);
        }
        Some(o)
    }

    /// Recounts `key` in the keysizes histograms after its value changed
    /// in place.
    #[inline]
    pub fn refresh_size(&mut self, key: &[u8]) {
        if let Some(o) = self.keys.get_mut(key) {
            let now = keysizes::class_of(&o.v);
            if now != o.sized {
                let was = std::mem::replace(&mut o.sized, now);
                self.keysizes.shift(was, now);
            }
        }
    }

    /// Turns the per-slot key index on and splits the TTL table by slot
    /// (cluster mode), taking in the keys already present.
    pub fn enable_slot_index(&mut self) {
        let mut ix = Box::new(SlotIndex::new());
        for (k, _) in self.keys.iter() {
            ix.add(k);
        }
        self.slots = Some(ix);
        self.expires.make_slotted();
    }

    /// The cron's table upkeep: apply each table's resize policy (Redis's
    /// `tryResizeHashTables`, so a table left sparse while resizing was
    /// off shrinks once it is back on) and, with `rehash`
    /// (`activerehashing`), move resizes along for up to a millisecond.
    pub fn table_cron(&mut self, rehash: bool) {
        self.keys.resize_now();
        self.expires.resize_now();
        if let Some(ix) = &mut self.slots {
            ix.resize_all();
        }
        if rehash {
            self.keys.rehash_for(1000);
            self.expires.rehash_for(1000);
            if let Some(ix) = &mut self.slots {
                ix.rehash_for(10);
            }
        }
    }

    /// DEBUG DICT-RESIZING: freezes (or frees) every table's size.
    pub fn set_resize_allowed(&mut self, on: bool) {
        self.keys.resize_allowed = on;
        self.expires.set_resize_allowed(on);
        if let Some(ix) = &mut self.slots {
            ix.set_resize_allowed(on);
        }
    }

    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.take(key).is_some()
    }

    /// Removes the key and its TTL, handing back its value.
    pub fn take(&mut self, key: &[u8]) -> Option<Obj> {
        let o = self.unlink(key)?;
        self.expires.remove(key);
        Some(o)
    }

    pub fn set_expire(&mut self, key: &[u8], when: i64) {
        self.expires.insert(key, when);
    }

    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key).is_some()
    }

    /// Remembers `key` for active field expiry if `v` is a hash with TTLs.
    pub fn track_hfe(&mut self, key: &[u8], v: &Value) {
        if let Value::Hash(h) = v
            && h.has_ttls()
        {
            self.hfe.insert(key.to_vec());
        }
    }

    /// Hashes that have field TTLs (INFO keyspace `subexpiry`).
    pub fn subexpiry(&self) -> usize {
        self.hfe
            .iter()
            .filter(
                |k| matches!(self.keys.get(k).map(|o| &o.v), Some(Value::Hash(h)) if h.has_ttls()),
            )
            .count()
    }

    pub fn flush(&mut self) {
        drop(self.take_keys());
    }

    /// Empties the database as `flush` does and hands back its values, for
    /// the caller to free later.
    pub fn take_keys(&mut self) -> Dict<Obj> {
        let keys = std::mem::take(&mut self.keys);
        self.keys.resize_allowed = keys.resize_allowed;
        self.flush_rest();
        keys
    }

    fn flush_rest(&mut self) {
        self.hfe.clear();
        self.keysizes.clear();
        if let Some(ix) = &mut self.slots {
            ix.clear();
        }
        self.expires.clear();
        self.expire_cursor = 0;
        self.avg_ttl = 0;
    }

    pub fn random_key(&self, rng: &mut Rng, now: i64) -> Option<Key> {
        // A db of only expired keys must not loop forever: give up after a
        // bounded number of tries, as Redis does on replicas.
        for _ in 0..100 {
            let (k, _) = self.keys.random(rng)?;
            if !self.expire_is_due(k, now) {
                return Some(k.into());
            }
        }
        self.keys.random(rng).map(|(k, _)| k.into())
    }

    fn expire_is_due(&self, k: &[u8], now: i64) -> bool {
        matches!(self.expires.get(k), Some(&w) if w <= now)
    }

    /// One step of active expiry over this db: samples keys along the
    /// expires table's scan order and removes those that are due. Returns
    /// (sampled, expired). The step ends once `max_keys` keys were sampled
    /// or `20 * max_keys` buckets visited (so a sparse table, e.g. with
    /// resizing disabled, still makes progress at bounded cost), or when the
    /// cursor wraps.
    pub fn active_expire_step(&mut self, now: i64, max_keys: usize) -> (usize, usize) {
        let mut due: Vec<Key> = Vec::new();
        let mut sampled = 0;
        let mut ttl_sum: i64 = 0;
        let mut ttl_n = 0;
        let mut cursor = self.expire_cursor;
        for _ in 0..max_keys.max(1) * 20 {
            if sampled >= max_keys {
                break;
            }
            cursor = self.expires.scan(cursor, |k, &when| {
                sampled += 1;
                if when <= now {
                    due.push(k.into());
                } else {
                    ttl_sum += when - now;
                    ttl_n += 1;
                }
            });
            if cursor == 0 {
                break;
            }
        }
        self.expire_cursor = cursor;
        if ttl_n > 0 {
            let avg = ttl_sum / ttl_n;
            self.avg_ttl = if self.avg_ttl == 0 {
                avg
            } else {
                (self.avg_ttl / 50) * 49 + avg / 50
            };
        }
        let n = due.len();
        for k in due {
            self.expires.remove(&k);
            self.unlink(&k);
            self.expired += 1;
            self.expired_keys.push(k);
        }
        (sampled, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_and_active_expiry() {
        let mut db = Db::new(0);
        db.set(b"a", Value::Str(Str::from_bytes(b"1")), false);
        db.set(b"b", Value::Str(Str::from_bytes(b"2")), false);
        db.set_expire(b"a", 100);
        assert!(db.peek(b"a", 50).is_some());
        assert!(db.peek(b"a", 100).is_none());
        assert!(db.expire_if_needed(b"a", 150, true));
        assert_eq!(db.len(), 1);
        for i in 0..50 {
            let k = format!("v{i}");
            db.set(k.as_bytes(), Value::Str(Str::from_bytes(b"x")), false);
            db.set_expire(k.as_bytes(), 10);
        }
        let mut total = 0;
        for _ in 0..100 {
            total += db.active_expire_step(20, 16).1;
        }
        assert_eq!(total, 50);
        assert_eq!(db.len(), 1);
        assert!(db.expires.is_empty());
    }
}
