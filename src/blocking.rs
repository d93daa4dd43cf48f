//! Blocking commands (BLPOP and friends): clients waiting for keys.
//!
//! A blocking handler first tries to serve; if it cannot, it calls
//! `Ctx::block`, which parks the client with its command. When a write
//! touches a key someone waits on, the key is queued as ready; after the
//! current command the server re-runs each waiting client's command in
//! FIFO order (`Server::handle_ready_keys`). A re-run that still finds
//! nothing leaves the client parked at its place in the queue. On timeout
//! the command is re-run once more with `timed_out` set, so the handler
//! writes its own timeout reply.

use crate::resp::Args;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

/// What a parked client waits for.
pub struct Blocked {
    pub keys: Vec<(usize, Vec<u8>)>,
    /// Absolute unix ms, or None to wait forever.
    pub deadline: Option<i64>,
    /// The command to re-run.
    pub args: Args,
    /// Also woken when a key is deleted or changes type (XREADGROUP),
    /// Redis's `unblock_on_nokey`.
    pub nokey: bool,
}

#[derive(Default)]
pub struct BlockState {
    /// (db, key) -> slab keys of the clients waiting, oldest first.
    pub waiting: HashMap<(usize, Vec<u8>), VecDeque<usize>>,
    /// Keys written since the last round of re-runs.
    pub ready: VecDeque<(usize, Vec<u8>)>,
    ready_set: HashSet<(usize, Vec<u8>)>,
    /// (deadline, slab key) of every client with a timeout.
    pub timeouts: BTreeSet<(i64, usize)>,
    /// Parked clients.
    pub count: usize,
    /// (db, key) -> how many of its waiters are `nokey` ones.
    pub nokey: HashMap<(usize, Vec<u8>), usize>,
    /// Set while a parked client's command is re-run because it timed out.
    pub timed_out: bool,
    /// Set while a parked client's command is re-run for a ready key.
    pub rerun: bool,
    /// Clients parked in WAIT (may hold stale slab keys: a re-run of a
    /// client no longer parked does nothing).
    pub wait: Vec<usize>,
    /// A replica acknowledged an offset: re-run the WAIT clients.
    pub acked: bool,
}

impl BlockState {
    /// A key was written: wake its waiters after the current command.
    pub fn signal(&mut self, db: usize, key: &[u8]) {
        if self.waiting.is_empty() {
            return;
        }
        let k = (db, key.to_vec());
        if self.waiting.contains_key(&k) && self.ready_set.insert(k.clone()) {
            self.ready.push_back(k);
        }
    }

    /// Every waited-on key of `db` may have changed (SWAPDB, FLUSHDB).
    pub fn signal_db(&mut self, db: usize) {
        let keys: Vec<(usize, Vec<u8>)> =
            self.waiting.keys().filter(|k| k.0 == db).cloned().collect();
        for k in keys {
            if self.ready_set.insert(k.clone()) {
                self.ready.push_back(k);
            }
        }
    }

    pub fn pop_ready(&mut self) -> Option<(usize, Vec<u8>)> {
        let k = self.ready.pop_front()?;
        self.ready_set.remove(&k);
        Some(k)
    }

    /// Registers `client` as waiting on `b`'s keys, keeping its place in
    /// queues it is already in.
    pub fn park(&mut self, client: usize, b: &Blocked) {
        for k in &b.keys {
            let q = self.waiting.entry(k.clone()).or_default();
            if !q.contains(&client) {
                q.push_back(client);
                if b.nokey {
                    *self.nokey.entry(k.clone()).or_default() += 1;
                }
            }
        }
        if let Some(d) = b.deadline {
            self.timeouts.insert((d, client));
        }
    }

    /// Removes every trace of `client` waiting on `b`.
    pub fn unpark(&mut self, client: usize, b: &Blocked) {
        for k in &b.keys {
            if let Some(q) = self.waiting.get_mut(k) {
                let before = q.len();
                q.retain(|&c| c != client);
                if b.nokey
                    && q.len() < before
                    && let Some(n) = self.nokey.get_mut(k)
                {
                    *n -= 1;
                    if *n == 0 {
                        self.nokey.remove(k);
                    }
                }
                if q.is_empty() {
                    self.waiting.remove(k);
                }
            }
        }
        if let Some(d) = b.deadline {
            self.timeouts.remove(&(d, client));
        }
    }

    /// The earliest deadline, for the poll timeout.
    pub fn next_deadline(&self) -> Option<i64> {
        self.timeouts.iter().next().map(|&(d, _)| d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_dedup() {
        let mut s = BlockState::default();
        let b = Blocked {
            keys: vec![(0, b"k".to_vec())],
            deadline: Some(100),
            args: Args::default(),
            nokey: false,
        };
        s.park(7, &b);
        s.park(3, &b);
        s.park(7, &b);
        assert_eq!(s.waiting[&(0, b"k".to_vec())], VecDeque::from(vec![7, 3]));
        s.signal(0, b"k");
        s.signal(0, b"k");
        s.signal(0, b"other");
        assert_eq!(s.ready.len(), 1);
        s.unpark(7, &b);
        assert_eq!(s.waiting[&(0, b"k".to_vec())], VecDeque::from(vec![3]));
        assert_eq!(s.next_deadline(), Some(100));
    }
}
