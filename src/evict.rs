//! `maxmemory`: key eviction and client eviction, as Redis's `evict.c`.
//!
//! The memory figure is the counting allocator's `used_memory` minus what
//! Redis does not count for eviction: the replicas' output buffers (the
//! replication stream waiting to be sent). When it is over `maxmemory`,
//! `perform` deletes keys chosen by `maxmemory-policy` until it has freed
//! the excess, measuring each deletion by the allocator's delta:
//!
//! - `*-lru`, `*-lfu`, `volatile-ttl`: Redis's approximation. Each round
//!   samples `maxmemory-samples` keys per database into a 16-entry pool
//!   kept sorted by score (idle time, 255 minus the decayed LFU counter, or
//!   the inverse of the expire time), across rounds, and evicts the best
//!   entry that still exists.
//! - `*-random`: one random key, visiting the databases in turn.
//!
//! A round is bounded by `maxmemory-eviction-tenacity`; when time runs out
//! with memory still over the limit, the rest is done by a "time proc" the
//! event loop runs before sleeping (`proc_pending`), as Redis's
//! `evictionTimeProc`. CONFIG SET maxmemory starts that proc too.
//!
//! Object clocks: `Obj::lru` holds the 24-bit seconds LRU clock, or under
//! an LFU policy the minutes of the last decrement (16 bits) and a
//! logarithmic access counter (8 bits). The policy and LFU parameters are
//! copied into process globals by the config so the keyspace can stamp
//! new objects and accesses without reaching the config.
//!
//! Client eviction (`maxmemory-clients`): when the normal and pub/sub
//! clients together hold the limit or more, the biggest evictable ones
//! are disconnected, before the next command runs and before the loop
//! sleeps. `ClientsMem` keeps the sum current (see there).

use crate::client::Client;
use crate::db::{Db, Key};
use crate::server::State;
use crate::util::Rng;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};

/// Entries in the eviction pool.
pub const POOL_SIZE: usize = 16;
/// The LFU counter of a new object, so it is not evicted at once.
pub const LFU_INIT_VAL: u32 = 5;

/// Redis's OOM error, without the leading `-`.
pub const OOM_ERR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// `maxmemory-policy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    #[default]
    NoEviction,
}

impl Policy {
    pub fn parse(s: &str) -> Policy {
        match s {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            _ => Policy::NoEviction,
        }
    }

    /// Whether every key may go (otherwise only keys with a TTL).
    pub fn allkeys(self) -> bool {
        matches!(
            self,
            Policy::AllkeysLru | Policy::AllkeysLfu | Policy::AllkeysRandom
        )
    }

    pub fn lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }

    pub fn lru(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::AllkeysLru)
    }

    fn random(self) -> bool {
        matches!(self, Policy::VolatileRandom | Policy::AllkeysRandom)
    }
}

// ---------------------------------------------------------------------------
// Object clocks (LRU and LFU)
// ---------------------------------------------------------------------------

static LFU_ON: AtomicBool = AtomicBool::new(false);
static LFU_LOG_FACTOR: AtomicU32 = AtomicU32::new(10);
static LFU_DECAY_TIME: AtomicU32 = AtomicU32::new(1);

static MAXMEMORY: AtomicU64 = AtomicU64::new(0);

/// Whether allocating `more` bytes would take memory over `maxmemory`
/// (tables check before they grow).
#[inline]
pub fn over_after_alloc(more: usize) -> bool {
    let max = MAXMEMORY.load(Relaxed);
    max != 0 && (crate::alloc::used_memory() + more) as u64 > max
}

/// Called by the config after every change.
pub fn set_clock_params(lfu: bool, log_factor: i64, decay_time: i64, maxmemory: i64) {
    MAXMEMORY.store(maxmemory.max(0) as u64, Relaxed);
    LFU_ON.store(lfu, Relaxed);
    LFU_LOG_FACTOR.store(log_factor.clamp(0, u32::MAX as i64) as u32, Relaxed);
    LFU_DECAY_TIME.store(decay_time.clamp(0, u32::MAX as i64) as u32, Relaxed);
}

/// The clock of an object just created (Redis's `createObject`).
#[inline]
/// The clock of an object given LFU counter `counter` now, when an LFU
/// policy is in force (RESTORE ... FREQ); None otherwise.
pub fn lfu_clock(counter: u32) -> Option<u32> {
    LFU_ON
        .load(Relaxed)
        .then(|| (lfu_minutes() << 8) | counter.min(255))
}

pub fn new_clock() -> u32 {
    if LFU_ON.load(Relaxed) {
        (lfu_minutes() << 8) | LFU_INIT_VAL
    } else {
        crate::db::value::lru_clock()
    }
}

/// An access to an object (Redis's `lookupKey` touch): the LRU clock, or
/// the LFU counter decayed then incremented.
#[inline]
pub fn touch(lru: &mut u32) {
    if LFU_ON.load(Relaxed) {
        let c = lfu_decr_and_return(*lru);
        let c = lfu_log_incr(c, LFU_LOG_FACTOR.load(Relaxed), next_unit());
        *lru = (lfu_minutes() << 8) | c;
    } else {
        *lru = crate::db::value::lru_clock();
    }
}

/// Minutes of unix time, wrapped to 16 bits.
fn lfu_minutes() -> u32 {
    ((crate::util::cached_ms() / 60_000) & 0xFFFF) as u32
}

/// Minutes elapsed since `ldt`, across the 16-bit wrap.
fn lfu_elapsed(ldt: u32, now: u32) -> u32 {
    if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    }
}

/// The LFU counter after its decay (`lfu-decay-time` minutes per step),
/// without storing it (OBJECT FREQ, eviction scoring).
pub fn lfu_decr_and_return(lru: u32) -> u32 {
    lfu_decayed(lru, LFU_DECAY_TIME.load(Relaxed), lfu_minutes())
}

fn lfu_decayed(lru: u32, decay_time: u32, now_min: u32) -> u32 {
    let ldt = lru >> 8;
    let counter = lru & 0xFF;
    let periods = match decay_time {
        0 => 0,
        d => lfu_elapsed(ldt, now_min) / d,
    };
    counter.saturating_sub(periods)
}

/// Logarithmic increment: the higher the counter, the less likely an access
/// raises it (`r` is uniform in [0, 1)).
fn lfu_log_incr(counter: u32, log_factor: u32, r: f64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p { counter + 1 } else { counter }
}

thread_local! {
    static SEED: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) };
}

/// A uniform number in [0, 1) from a xorshift generator.
fn next_unit() -> f64 {
    SEED.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

// ---------------------------------------------------------------------------
// The eviction pool
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Entry {
    /// Higher is a better candidate.
    pub score: u64,
    pub key: Key,
    pub db: usize,
}

/// Candidates sorted by ascending score; the best is the last one.
#[derive(Debug)]
pub struct Pool {
    e: Vec<Option<Entry>>,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            e: vec![None; POOL_SIZE],
        }
    }
}

impl Pool {
    /// Offers a sampled key, as `evictionPoolPopulate`: it takes a free
    /// slot or pushes out the worst candidate, unless it is worse than all
    /// of a full pool.
    pub fn offer(&mut self, score: u64, key: &[u8], db: usize) {
        let n = POOL_SIZE;
        let mut k = 0;
        while k < n && self.e[k].as_ref().is_some_and(|x| x.score < score) {
            k += 1;
        }
        if k == 0 && self.e[n - 1].is_some() {
            return;
        }
        let entry = Some(Entry {
            score,
            key: key.into(),
            db,
        });
        if k < n && self.e[k].is_none() {
            self.e[k] = entry;
        } else if self.e[n - 1].is_none() {
            // Free room on the right: shift right from k.
            self.e[k..].rotate_right(1);
            self.e[k] = entry;
        } else {
            // Full: drop the worst (leftmost), shift left up to k-1.
            self.e[..k].rotate_left(1);
            self.e[k - 1] = entry;
        }
    }

    /// Takes the best candidate out.
    pub fn pop_best(&mut self) -> Option<Entry> {
        self.e.iter_mut().rev().find_map(|s| s.take())
    }

    pub fn clear(&mut self) {
        self.e.iter_mut().for_each(|s| *s = None);
    }

    #[cfg(test)]
    fn scores(&self) -> Vec<u64> {
        self.e.iter().flatten().map(|e| e.score).collect()
    }
}

// ---------------------------------------------------------------------------
// Key eviction
// ---------------------------------------------------------------------------

/// What a round of eviction achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Under the limit (or nothing to do).
    Ok,
    /// Out of time with memory still over: the time proc carries on.
    Running,
    /// Over the limit and nothing (more) can be evicted.
    Fail,
}

#[derive(Default)]
pub struct Evict {
    pool: Pool,
    next_db: usize,
    /// The time proc must run (after CONFIG SET maxmemory, or a round that
    /// ran out of time).
    pub proc_pending: bool,
    /// The last command found memory over the limit with nothing left to
    /// evict (Redis's `pre_command_oom_state`): a script's first write
    /// checks this, not the memory figure, which sits a few bytes over
    /// the limit most of the time while eviction keeps up.
    pub oom_at_command_start: bool,
    pub evicted_clients: u64,
    /// What the clients hold, for `maxmemory-clients`.
    pub clients: ClientsMem,
    /// Since when memory has been over the limit (ms), if it is.
    exceeded_since: Option<i64>,
    pub total_exceeded_ms: u64,
    samples: Vec<Key>,
}

impl Evict {
    /// `current_eviction_exceeded_time` in ms.
    pub fn current_exceeded_ms(&self) -> u64 {
        self.exceeded_since
            .map_or(0, |t| (crate::util::now_ms() - t).max(0) as u64)
    }

    pub fn reset_stats(&mut self) {
        self.evicted_clients = 0;
        self.total_exceeded_ms = 0;
    }
}

/// Bytes Redis leaves out of the eviction figure: the replicas' output
/// buffers (`mem_not_counted_for_evict`).
pub fn not_counted(st: &State, clients: &slab::Slab<Option<Box<Client>>>) -> usize {
    st.repl
        .replicas
        .iter()
        .filter_map(|&r| clients.get(r).and_then(|c| c.as_deref()))
        .map(|c| c.reply.buf.capacity())
        .sum::<usize>()
        + st.repl.out.capacity()
}

/// Memory over the limit that should be freed, or 0.
fn to_free(st: &State, clients: &slab::Slab<Option<Box<Client>>>) -> usize {
    let max = st.cfg.hot.maxmemory.max(0) as usize;
    let used = crate::alloc::used_memory();
    if max == 0 || used <= max {
        return 0;
    }
    used.saturating_sub(not_counted(st, clients))
        .saturating_sub(max)
}

/// Whether eviction may run now: not while loading, not on a replica that
/// ignores maxmemory, not while CLIENT PAUSE holds writes.
fn safe(st: &State) -> bool {
    // Not while loading (Redis's isSafeToPerformEvictions): the load holds
    // the file in memory besides the growing dataset, and a command served
    // meanwhile (INFO, PUBLISH, SUBSCRIBE) would delete keys just loaded,
    // before replaying writes to them.
    if st.loading.is_some() {
        return false;
    }
    if st.is_replica && st.cfg.bool("replica-ignore-maxmemory") {
        return false;
    }
    !st.pause.active()
}

/// Time a round may take, from `maxmemory-eviction-tenacity`.
fn time_limit_us(tenacity: i64) -> u64 {
    match tenacity {
        t if t <= 10 => 50 * t.max(0) as u64,
        t if t < 100 => (500.0 * 1.15f64.powf(t as f64 - 10.0)) as u64,
        _ => u64::MAX,
    }
}

/// Collects up to `n` distinct keys of `db` (all keys, or the volatile
/// ones) from consecutive buckets at a random position, as
/// `dictGetSomeKeys` does. Finds at least one key if there is any.
fn sample_keys(db: &Db, allkeys: bool, n: usize, rng: &mut Rng, out: &mut Vec<Key>) {
    out.clear();
    let mut cursor = rng.next();
    let mut wrapped = false;
    let mut steps = 0;
    // A sparse table may need more steps than the sampling budget: keep
    // going (at most one full pass) until at least one key is found.
    while steps < n.max(1) * 10 || out.is_empty() {
        steps += 1;
        let mut push = |k: &[u8]| {
            if out.len() < n && !out.iter().any(|o| &o[..] == k) {
                out.push(k.into());
            }
        };
        cursor = if allkeys {
            db.keys.scan(cursor, |k, _| push(k))
        } else {
            db.expires.scan(cursor, |k, _| push(k))
        };
        if out.len() >= n {
            break;
        }
        if cursor == 0 {
            if wrapped {
                break;
            }
            wrapped = true;
        }
    }
}

/// A candidate's score under `policy`: higher goes first.
fn score(db: &Db, policy: Policy, key: &[u8]) -> Option<u64> {
    if policy == Policy::VolatileTtl {
        return db.expires.get(key).map(|&w| u64::MAX - w.max(0) as u64);
    }
    let o = db.keys.get(key)?;
    Some(if policy.lfu() {
        255 - lfu_decr_and_return(o.lru) as u64
    } else {
        crate::db::value::idle_seconds(o.lru) * 1000
    })
}

/// Picks the next key to evict, or None when nothing is evictable.
fn pick(st: &mut State, policy: Policy) -> Option<(usize, Key)> {
    let allkeys = policy.allkeys();
    let ndb = st.dbs.len();
    let size = |db: &Db| {
        if allkeys {
            db.keys.len()
        } else {
            db.expires.len()
        }
    };
    if policy.random() {
        for _ in 0..ndb {
            st.evict.next_db = (st.evict.next_db + 1) % ndb;
            let db = &st.dbs[st.evict.next_db];
            if size(db) == 0 {
                continue;
            }
            let mut out = std::mem::take(&mut st.evict.samples);
            sample_keys(db, allkeys, 1, &mut st.rng, &mut out);
            let k = out.pop();
            st.evict.samples = out;
            if let Some(k) = k {
                return Some((st.evict.next_db, k));
            }
        }
        return None;
    }
    let samples = st.cfg.int("maxmemory-samples").clamp(1, 64) as usize;
    loop {
        let mut total = 0;
        let mut offered = 0;
        let mut out = std::mem::take(&mut st.evict.samples);
        for (i, db) in st.dbs.iter().enumerate() {
            let n = size(db);
            if n == 0 {
                continue;
            }
            total += n;
            sample_keys(db, allkeys, samples, &mut st.rng, &mut out);
            for k in &out {
                if let Some(s) = score(db, policy, k) {
                    st.evict.pool.offer(s, k, i);
                    offered += 1;
                }
            }
        }
        st.evict.samples = out;
        if total == 0 {
            return None;
        }
        let had_candidates = offered > 0 || st.evict.pool.e.iter().any(|e| e.is_some());
        // Best first; a candidate deleted since it was pooled is a ghost.
        while let Some(e) = st.evict.pool.pop_best() {
            let db = &st.dbs[e.db];
            let live = if allkeys {
                db.keys.contains(&e.key)
            } else {
                db.expires.get(&e.key).is_some()
            };
            if live {
                return Some((e.db, e.key));
            }
        }
        // Keys exist but none could be scored (cannot happen while the
        // TTL table and the keyspace agree): give up rather than spin.
        if !had_candidates {
            return None;
        }
    }
}

/// Deletes `key` as an eviction: stats, WATCH, tracking, the `evicted`
/// event and a DEL (UNLINK when lazy) in the replication stream. Returns
/// the bytes the deletion itself freed (what it queues for clients and
/// replicas is not subtracted, as in Redis).
fn evict_key(st: &mut State, db: usize, key: &[u8]) -> usize {
    crate::persist::snapshot::before_write(st, db, key);
    let before = crate::alloc::used_memory();
    st.dbs[db].delete(key);
    st.dbs[db].hfe.remove(key);
    let freed = before.saturating_sub(crate::alloc::used_memory());
    st.stats.evicted_keys += 1;
    if let Some(ids) = st.watched_keys.get(&(db, key.to_vec())) {
        st.cas_dirty.extend(ids.iter().copied());
    }
    st.tracking.invalidate(key, 0);
    st.notify(crate::config::notify::EVICTED, "evicted", key, db);
    let cmd: &[u8] = if st.cfg.bool("lazyfree-lazy-eviction") {
        b"UNLINK"
    } else {
        b"DEL"
    };
    st.repl.feed(db, [cmd, key].into_iter());
    freed
}

/// Evicts keys until memory is under `maxmemory` (Redis's
/// `performEvictions`).
pub fn perform(st: &mut State, clients: &slab::Slab<Option<Box<Client>>>) -> Outcome {
    if !safe(st) {
        return Outcome::Ok;
    }
    let tofree = to_free(st, clients);
    let policy = st.cfg.hot.maxmemory_policy;
    let result = if tofree == 0 {
        Outcome::Ok
    } else if policy == Policy::NoEviction {
        Outcome::Fail
    } else {
        evict_loop(st, policy, tofree)
    };
    match result {
        Outcome::Ok => {
            if let Some(t) = st.evict.exceeded_since.take() {
                st.evict.total_exceeded_ms += (crate::util::now_ms() - t).max(0) as u64;
            }
        }
        _ => {
            if st.evict.exceeded_since.is_none() {
                st.evict.exceeded_since = Some(crate::util::now_ms());
            }
        }
    }
    result
}

fn evict_loop(st: &mut State, policy: Policy, tofree: usize) -> Outcome {
    let limit = time_limit_us(st.cfg.int("maxmemory-eviction-tenacity"));
    let start = crate::util::now_us();
    let mut freed: usize = 0;
    let mut keys = 0u64;
    while freed < tofree {
        let Some((db, key)) = pick(st, policy) else {
            return Outcome::Fail;
        };
        freed += evict_key(st, db, &key);
        keys += 1;
        if keys.is_multiple_of(16) && (crate::util::now_us() - start).max(0) as u64 > limit {
            st.evict.proc_pending = true;
            return Outcome::Running;
        }
    }
    if st.evict.proc_pending {
        Outcome::Running
    } else {
        Outcome::Ok
    }
}

/// The event loop's eviction proc: one more round; it stops once memory is
/// under the limit or nothing more can go.
pub fn time_proc(st: &mut State, clients: &slab::Slab<Option<Box<Client>>>) {
    st.evict.proc_pending = false;
    if st.cfg.hot.maxmemory == 0 {
        return;
    }
    perform(st, clients);
}

/// CONFIG SET maxmemory: warn when the new limit is already exceeded, and
/// evict from the event loop.
pub fn maxmemory_changed(st: &mut State, clients: &slab::Slab<Option<Box<Client>>>) {
    let max = st.cfg.hot.maxmemory;
    if max == 0 {
        return;
    }
    let used = crate::alloc::used_memory().saturating_sub(not_counted(st, clients));
    if (max as usize) < used {
        log::warn!(
            "WARNING: the new maxmemory value set via CONFIG SET ({max}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy."
        );
    }
    st.evict.proc_pending = true;
}

// ---------------------------------------------------------------------------
// Client eviction
// ---------------------------------------------------------------------------

/// The memory of the clients that count towards `maxmemory-clients`
/// (normal and pub/sub ones), as Redis keeps `stat_clients_type_memory`:
/// each client remembers what it was last measured at (`mem_counted`),
/// and the sums move by the difference when it is measured again.
///
/// Evictable clients are measured in real time: after each read, after
/// each command, and after each write (which is also where output that
/// other clients' commands queued for them shows up). Those that cannot be
/// evicted (CLIENT NO-EVICT) are measured by the clients cron only, as in
/// Redis. Redis also keeps the evictable clients in power-of-two size
/// buckets, so it can find the largest at once; here a client's update
/// is two subtractions and two additions, and the largest are found by
/// a scan and a sort when the limit is crossed. That scan only runs when
/// some evictable client holds memory, and then it evicts at least one:
/// its cost is paid by evictions, which are rare.
#[derive(Default)]
pub struct ClientsMem {
    /// Sum of every client's `mem_counted`.
    pub total: usize,
    /// The part of `total` held by evictable clients.
    pub evictable: usize,
    /// The limit the clients were last all measured for: turning the
    /// limit on (or changing it) measures them all, as Redis's
    /// `applyClientMaxMemoryUsage` does.
    pub limit_seen: i64,
}

impl ClientsMem {
    /// Measures `c` again and moves its share of the sums (Redis's
    /// `updateClientMemoryUsage`). A client over its output buffer's hard
    /// limit counts for nothing: it is closed at its next write, and must
    /// not get other clients evicted meanwhile (Redis frees it before the
    /// next client's input is processed).
    pub fn measure(&mut self, c: &mut Client, limits: &[(i64, i64, i64); 3]) {
        let counts = c.counts_as_client_memory() && !c.obuf_hard_limit_reached(limits);
        let mem = if counts { c.memory() } else { 0 };
        let evictable = counts && !c.no_evict;
        self.forget(c);
        self.total += mem;
        if evictable {
            self.evictable += mem;
        }
        c.mem_counted = mem;
        c.mem_evictable = evictable;
    }

    /// The real-time update (Redis's `updateClientMemUsageAndBucket`):
    /// measures an evictable client, or one that just stopped being.
    #[inline]
    pub fn track(&mut self, c: &mut Client, limits: &[(i64, i64, i64); 3]) {
        if c.evictable() || c.mem_evictable {
            self.measure(c, limits);
        }
    }

    /// Takes `c`'s share out of the sums (it is being freed or evicted).
    pub fn forget(&mut self, c: &mut Client) {
        self.total = self.total.saturating_sub(c.mem_counted);
        if c.mem_evictable {
            self.evictable = self.evictable.saturating_sub(c.mem_counted);
        }
        c.mem_counted = 0;
        c.mem_evictable = false;
    }
}

/// Measures every client again: the limit was turned on or changed.
pub fn recount_clients(srv: &mut crate::server::Server) {
    let limits = srv.st.cfg.hot.obuf_limits;
    let m = &mut srv.st.evict.clients;
    m.limit_seen = srv.st.cfg.hot.maxmemory_clients;
    for (_, c) in srv.clients.iter_mut() {
        if let Some(c) = c.as_deref_mut() {
            m.measure(c, &limits);
        }
    }
}

/// Disconnects the biggest evictable clients, by their last measured
/// memory, while the clients together hold at least `maxmemory-clients`
/// (Redis's `evictClients`). `cur` is the client whose command is about to
/// run (out of the slab): when it is among them, it is marked to close
/// and true is returned, and the caller drops its command.
pub fn evict_clients(srv: &mut crate::server::Server, mut cur: Option<&mut Client>) -> bool {
    let limit = srv.st.cfg.hot.maxmemory_clients.max(0) as usize;
    let m = &srv.st.evict.clients;
    if limit == 0 || m.total < limit || m.evictable == 0 {
        return false;
    }
    /// Stands for `cur` among the slab keys.
    const CUR: usize = usize::MAX;
    let mut cands: Vec<(usize, usize)> = srv
        .clients
        .iter()
        .filter_map(|(k, c)| {
            let c = c.as_deref()?;
            (c.mem_evictable && c.mem_counted > 0).then_some((c.mem_counted, k))
        })
        .collect();
    if let Some(c) = cur.as_deref()
        && c.mem_evictable
        && c.mem_counted > 0
    {
        cands.push((c.mem_counted, CUR));
    }
    cands.sort_unstable_by(|a, b| b.cmp(a));
    let now = crate::util::now_ms();
    let mut evicted_cur = false;
    for (_, k) in cands {
        if srv.st.evict.clients.total < limit {
            break;
        }
        if k == CUR {
            let Some(c) = cur.as_deref_mut() else {
                continue;
            };
            log::info!("Evicting client: {}", c.info_line(now));
            srv.st.evict.clients.forget(c);
            c.close_asap = true;
            evicted_cur = true;
        } else {
            let Some(Some(c)) = srv.clients.get(k) else {
                continue;
            };
            log::info!("Evicting client: {}", c.info_line(now));
            srv.free_client(k);
        }
        srv.st.evict.evicted_clients += 1;
    }
    if srv.st.evict.clients.total >= limit {
        log::warn!("Over client maxmemory after evicting all evictable clients");
    }
    evicted_cur
}

/// Resolves `maxmemory-clients` (bytes or a percentage of maxmemory).
/// 0 is off, and so is a percentage while maxmemory is 0. A limit is
/// never under 128 KB, so a bad setting cannot cut every client off
/// (Redis's `getClientEvictionLimit`).
pub fn clients_limit(setting: &str, maxmemory: i64) -> i64 {
    let limit = match setting.strip_suffix('%') {
        Some(p) => {
            let p: i64 = p.parse().unwrap_or(0);
            maxmemory.saturating_mul(p) / 100
        }
        None => setting.parse().unwrap_or(0),
    };
    if limit > 0 { limit.max(128 * 1024) } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_best_sorted_and_bounded() {
        let mut p = Pool::default();
        for s in [5u64, 1, 9, 3] {
            p.offer(s, format!("k{s}").as_bytes(), 0);
        }
        assert_eq!(p.scores(), vec![1, 3, 5, 9]);
        for s in 10..30u64 {
            p.offer(s, format!("k{s}").as_bytes(), 0);
        }
        let sc = p.scores();
        assert_eq!(sc.len(), POOL_SIZE);
        assert!(sc.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*sc.last().unwrap(), 29);
        assert_eq!(sc[0], 14);
        // Worse than everything in a full pool: ignored.
        p.offer(0, b"low", 0);
        assert_eq!(p.scores()[0], 14);
        let best = p.pop_best().unwrap();
        assert_eq!((best.score, &best.key[..]), (29, &b"k29"[..]));
        assert_eq!(p.scores().len(), POOL_SIZE - 1);
        // A free slot on the right: inserted in order.
        p.offer(20, b"mid", 1);
        let sc = p.scores();
        assert!(sc.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(sc.len(), POOL_SIZE);
    }

    #[test]
    fn lfu_counter_decays_and_grows_logarithmically() {
        // Counter 10, last decrement at minute 100, decay every 2 minutes.
        let lru = (100 << 8) | 10;
        assert_eq!(lfu_decayed(lru, 2, 100), 10);
        assert_eq!(lfu_decayed(lru, 2, 106), 7);
        assert_eq!(lfu_decayed(lru, 2, 200), 0);
        assert_eq!(lfu_decayed(lru, 0, 200), 10);
        // Across the 16-bit minute wrap.
        let lru = (65530 << 8) | 10;
        assert_eq!(lfu_decayed(lru, 1, 3), 2);
        // Below LFU_INIT_VAL every access counts; above, rarely.
        assert_eq!(lfu_log_incr(3, 10, 0.99), 4);
        assert_eq!(lfu_log_incr(105, 10, 0.01), 105);
        assert_eq!(lfu_log_incr(105, 10, 0.0001), 106);
        assert_eq!(lfu_log_incr(255, 10, 0.0), 255);
    }

    #[test]
    fn sampling_finds_distinct_keys_and_scores_policies() {
        let mut db = Db::new(0);
        for i in 0..100 {
            let k = format!("key{i}");
            db.set(
                k.as_bytes(),
                crate::db::Value::Str(crate::db::Str::from_bytes(b"v")),
                false,
            );
            if i % 2 == 0 {
                db.set_expire(k.as_bytes(), 1000 + i);
            }
        }
        let mut rng = Rng::new();
        let mut out = Vec::new();
        sample_keys(&db, true, 5, &mut rng, &mut out);
        assert_eq!(out.len(), 5);
        let mut d = out.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 5);
        sample_keys(&db, false, 64, &mut rng, &mut out);
        assert_eq!(out.len(), 50);
        assert!(out.iter().all(|k| db.expires.get(k).is_some()));
        // volatile-ttl: the sooner a key expires, the higher its score.
        let a = score(&db, Policy::VolatileTtl, b"key0").unwrap();
        let b = score(&db, Policy::VolatileTtl, b"key2").unwrap();
        assert!(a > b);
        assert_eq!(score(&db, Policy::VolatileTtl, b"key1"), None);
    }

    #[test]
    fn sampling_finds_the_last_key_of_a_sparse_table() {
        let mut db = Db::new(0);
        db.set_resize_allowed(false);
        for i in 0..5000 {
            let k = format!("k{i}");
            db.set(
                k.as_bytes(),
                crate::db::Value::Str(crate::db::Str::from_bytes(b"v")),
                false,
            );
        }
        for i in 1..5000 {
            db.delete(format!("k{i}").as_bytes());
        }
        let mut rng = Rng::new();
        let mut out = Vec::new();
        for _ in 0..20 {
            sample_keys(&db, true, 1, &mut rng, &mut out);
            assert_eq!(out, vec![Key::from(&b"k0"[..])]);
        }
    }

    #[test]
    fn clients_memory_sums_follow_their_clients() {
        use crate::client::{Client, Conn};
        let (a, _b) = mio::net::UnixStream::pair().unwrap();
        let mut c = Client::new(1, 64, Conn::Unix(a), "x".into(), "y".into(), true, 0, 2);
        let limits = [(0, 0, 0); 3];
        let mut m = ClientsMem::default();
        m.track(&mut c, &limits);
        let base = c.memory();
        assert_eq!((m.total, m.evictable), (base, base));
        // A query buffer grows: the sums move by the difference.
        c.qbuf = Vec::with_capacity(100_000);
        m.track(&mut c, &limits);
        assert_eq!(m.total, c.memory());
        assert!(m.total >= base + 100_000);
        // NO-EVICT: still counted, no longer evictable; then not measured
        // in real time (the cron does it).
        c.no_evict = true;
        m.track(&mut c, &limits);
        assert_eq!((m.total, m.evictable), (c.memory(), 0));
        c.qbuf = Vec::new();
        m.track(&mut c, &limits);
        assert!(m.total >= 100_000);
        m.measure(&mut c, &limits);
        assert_eq!(m.total, base);
        // Over its output's hard limit, a client counts for nothing.
        c.no_evict = false;
        c.reply.buf.resize(5000, b'x');
        m.track(&mut c, &[(4096, 0, 0), (0, 0, 0), (0, 0, 0)]);
        assert_eq!((m.total, m.evictable), (0, 0));
        m.track(&mut c, &limits);
        assert!(m.total > 5000);
        m.forget(&mut c);
        assert_eq!((m.total, m.evictable, c.mem_counted), (0, 0, 0));
    }

    #[test]
    fn tenacity_and_clients_limit() {
        assert_eq!(time_limit_us(0), 0);
        assert_eq!(time_limit_us(10), 500);
        assert!(time_limit_us(50) > 100_000);
        assert_eq!(time_limit_us(100), u64::MAX);
        assert_eq!(clients_limit("10%", 1000), 128 * 1024);
        assert_eq!(clients_limit("7%", 6 << 20), (6 << 20) * 7 / 100);
        assert_eq!(clients_limit("10%", 0), 0);
        assert_eq!(clients_limit("3145728", 0), 3145728);
        assert_eq!(clients_limit("0", 1000), 0);
    }
}
