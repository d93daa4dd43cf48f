//! Lazy freeing (Redis's lazyfree.c) without a helper thread: UNLINK,
//! FLUSHALL/FLUSHDB ASYNC and their kin take the value or the whole
//! keyspace out of the database at once and drop it after the event loop
//! has written the turn's replies, so the client's reply does not wait on
//! the free. Redis's counters keep their meaning: a value is freed lazily
//! only when freeing it takes more than `THRESHOLD` allocations, and a
//! flushed keyspace counts one object per key.

use super::{Dict, Obj, Value};

/// Redis's LAZYFREE_THRESHOLD: cheaper values are freed on the spot.
pub const THRESHOLD: usize = 64;

enum Doomed {
    Value(Obj),
    Keys(Dict<Obj>, u64),
    /// Flushed scripts or functions with their Lua VM, and their count.
    Other(Box<dyn std::any::Any>, u64),
}

#[derive(Default)]
pub struct LazyFree {
    doomed: Vec<Doomed>,
    /// Objects queued and not yet freed (INFO lazyfree_pending_objects).
    pub pending: u64,
    /// Objects freed lazily since the last CONFIG RESETSTAT
    /// (INFO lazyfreed_objects).
    pub freed: u64,
}

/// How many allocations freeing `v` takes, as Redis's
/// lazyfreeGetFreeEffort estimates it per encoding.
pub fn free_effort(v: &Value) -> usize {
    match v {
        Value::List(l) if l.encoding() == "quicklist" => l.node_count(),
        Value::Set(s) if s.encoding() == "hashtable" => s.len(),
        Value::Hash(h) if h.encoding() == "hashtable" => h.len(),
        Value::ZSet(z) if z.encoding() == "skiplist" => z.len(),
        Value::Stream(s) => s.free_effort(),
        _ => 1,
    }
}

impl LazyFree {
    /// Frees `o` after the turn when that is worth it, else now.
    pub fn value(&mut self, o: Obj) {
        if free_effort(&o.v) > THRESHOLD {
            self.pending += 1;
            self.doomed.push(Doomed::Value(o));
        }
    }

    /// Frees a flushed keyspace after the turn.
    pub fn keyspace(&mut self, keys: Dict<Obj>) {
        let n = keys.len() as u64;
        if n > 0 {
            self.pending += n;
            self.doomed.push(Doomed::Keys(keys, n));
        }
    }

    /// Frees something else that counts `n` objects after the turn.
    pub fn other(&mut self, thing: Box<dyn std::any::Any>, n: u64) {
        self.pending += n;
        self.doomed.push(Doomed::Other(thing, n));
    }

    pub fn is_idle(&self) -> bool {
        self.doomed.is_empty()
    }

    /// Drops everything queued (the event loop calls it after writing).
    pub fn run(&mut self) {
        for d in self.doomed.drain(..) {
            let n = match d {
                Doomed::Value(o) => {
                    drop(o);
                    1
                }
                Doomed::Keys(keys, n) => {
                    drop(keys);
                    n
                }
                Doomed::Other(thing, n) => {
                    drop(thing);
                    n
                }
            };
            self.pending -= n;
            self.freed += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn only_costly_values_and_flushed_keyspaces_are_freed_lazily() {
        let mut lf = LazyFree::default();
        let mut db = Db::new(0);
        let members = (0..200).map(|i| format!("m{i}").into_bytes()).collect();
        let big = crate::types::set::Set::from_plain(members, &crate::types::Limits::DEFAULT);
        assert_eq!(big.encoding(), "hashtable");
        lf.value(Obj::new(Value::Set(Box::new(big))));
        lf.value(Obj::new(Value::Str(crate::db::Str::from_bytes(b"x"))));
        assert_eq!((lf.pending, lf.freed), (1, 0));
        db.keys
            .insert(b"a", Obj::new(Value::Str(crate::db::Str::from_bytes(b"1"))));
        db.keys
            .insert(b"b", Obj::new(Value::Str(crate::db::Str::from_bytes(b"2"))));
        lf.keyspace(std::mem::take(&mut db.keys));
        assert_eq!((lf.pending, lf.freed), (3, 0));
        lf.run();
        assert_eq!((lf.pending, lf.freed), (0, 3));
        assert!(lf.is_idle());
    }
}
