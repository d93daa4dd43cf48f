//! Background saves without fork: serialize-before-mutate.
//!
//! Redis forks and lets the kernel's copy-on-write keep the child's view
//! still. We have one reactor owning the data and no fork, so the
//! point-in-time view is built like this:
//!
//! - Starting a save bumps an epoch (`SNAP_EPOCH`). Every keyspace entry
//!   carries the epoch of the last save that wrote it (`Obj::snap`, a byte
//!   in padding), so at the start every entry is "not yet saved", and
//!   entries created afterwards carry the new epoch: the save skips them,
//!   they did not exist at its start.
//! - The reactor walks the keyspace with a SCAN cursor a slice at a time,
//!   between events, and serializes each unsaved entry into RDB bytes. A
//!   SCAN cursor visits every entry that lives through the whole walk even
//!   while tables grow or shrink; the epoch mark makes the second visit a
//!   SCAN may give free.
//! - Before a command writes a key (`before_write`, called by dispatch
//!   for every key the command table says it touches, and by eviction),
//!   the key's current value is serialized first if the walk has not
//!   reached it. So the walk only ever sees values as they were at the
//!   start, or keys it must skip.
//! - A helper thread receives the bytes through a channel and does the
//!   file work: checksum, writes, fsync, rename. It never sees live data.
//!
//! Costs, against fork: no page-table copy and no copy-on-write faults
//! (memory grows only by the bytes in flight, capped at `MAX_IN_FLIGHT`,
//! plus what pre-mutation saves add), but the serialization CPU is the
//! reactor's, spread over its turns (`STEP_US` at a time, continuously
//! when idle). A single huge value is serialized in one go.
//! Whole-keyspace changes (FLUSHALL, FLUSHDB, SWAPDB, loading a dataset)
//! abort or finish the save first (`abort`, `finish_now`).

use super::rdb::Writer;
use crate::db::{Db, value::SNAP_EPOCH};
use crate::server::State;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

/// What the snapshot is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// BGSAVE (or a `save` schedule): the RDB file.
    Rdb,
    /// BGREWRITEAOF: the RDB preamble that becomes the AOF's base file.
    AofBase,
}

/// Serialized bytes the helper has not written yet, beyond which the
/// walk pauses (pre-mutation saves still go out).
const MAX_IN_FLIGHT: usize = 8 << 20;
/// Bytes gathered before they are handed to the helper.
const CHUNK: usize = 64 << 10;
/// Reactor time spent walking per loop turn.
pub const STEP_US: i64 = 1000;

enum Msg {
    /// RDB bytes and how many keys they hold (for rdb-key-save-delay).
    Bytes(Vec<u8>, u64),
    /// All bytes sent: checksum, sync, rename.
    End,
}

/// State the helper shares with the reactor.
struct Shared {
    in_flight: AtomicUsize,
    abort: AtomicBool,
    keys_written: AtomicU64,
    /// rdb-key-save-delay, microseconds per key (the suite slows saves
    /// down with it to observe them in progress). It follows CONFIG SET
    /// while the save runs, so setting it back to 0 lets a save that was
    /// slowed down finish.
    key_delay_us: AtomicI64,
}

pub struct Snapshot {
    pub purpose: Purpose,
    epoch: u8,
    /// Database being walked, and the SCAN cursor inside it.
    db: usize,
    cursor: u64,
    /// Key and expire counts per database when the save started
    /// (RESIZEDB hints, and INFO's current_save_keys_total).
    sizes: Vec<(usize, usize)>,
    /// The database the byte stream last selected.
    stream_db: Option<usize>,
    w: Writer,
    pending_keys: u64,
    walk_done: bool,
    tx: Option<mpsc::Sender<Msg>>,
    done: mpsc::Receiver<Result<(), String>>,
    shared: Arc<Shared>,
    pub started_ms: i64,
    /// `dirty` when the save started: a successful save leaves the changes
    /// made since.
    pub dirty_before: u64,
    pub keys_total: u64,
    pub keys_saved: u64,
}

/// Epochs started since one completed: past 255 an entry could carry a
/// stale mark equal to the new epoch, so marks are reset first.
static UNFINISHED: AtomicUsize = AtomicUsize::new(0);

impl Snapshot {
    /// Serializes `o` at `key` of database `db` into the stream.
    fn emit(&mut self, db: usize, key: &[u8], o: &crate::db::Obj, expire: Option<i64>) {
        o.snap.set(self.epoch);
        if self.stream_db != Some(db) {
            let (k, e) = self.sizes.get(db).copied().unwrap_or_default();
            self.w.select_db(db, k, e);
            self.stream_db = Some(db);
        }
        self.w.keyval(key, &o.v, expire);
        self.pending_keys += 1;
        self.keys_saved += 1;
    }

    fn send(&mut self) {
        if self.w.buf.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.w.buf);
        self.shared
            .in_flight
            .fetch_add(bytes.len(), Ordering::Relaxed);
        let keys = std::mem::take(&mut self.pending_keys);
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Bytes(bytes, keys));
        }
    }
}

/// Starts a background save of the whole dataset into `path`.
pub fn start(st: &mut State, purpose: Purpose, path: PathBuf) -> Result<(), String> {
    if st.snapshot.is_some() {
        return Err("a background save is already in progress".into());
    }
    let libs = st.scripts.library_codes();
    let s = start_with(
        &st.dbs,
        &libs,
        st.cfg.bool("rdbcompression"),
        st.cfg.bool("rdbchecksum"),
        st.cfg.int("rdb-key-save-delay"),
        purpose,
        path,
    )?;
    st.snapshot = Some(Box::new(Snapshot {
        dirty_before: st.dirty,
        ..s
    }));
    Ok(())
}

fn start_with(
    dbs: &[Db],
    libs: &[&[u8]],
    compress: bool,
    checksum: bool,
    key_delay_us: i64,
    purpose: Purpose,
    path: PathBuf,
) -> Result<Snapshot, String> {
    if UNFINISHED.load(Ordering::Relaxed) >= 255 {
        let e = SNAP_EPOCH.load(Ordering::Relaxed);
        for db in dbs {
            for (_, o) in db.keys.iter() {
                o.snap.set(e);
            }
        }
        UNFINISHED.store(0, Ordering::Relaxed);
    }
    UNFINISHED.fetch_add(1, Ordering::Relaxed);
    let epoch = SNAP_EPOCH.load(Ordering::Relaxed).wrapping_add(1);
    SNAP_EPOCH.store(epoch, Ordering::Relaxed);
    let now = crate::util::now_ms();
    let mut w = Writer::new(compress);
    w.header(now, purpose == Purpose::AofBase, libs);
    let sizes: Vec<(usize, usize)> = dbs.iter().map(|d| (d.len(), d.expires.len())).collect();
    let shared = Arc::new(Shared {
        in_flight: AtomicUsize::new(0),
        abort: AtomicBool::new(false),
        keys_written: AtomicU64::new(0),
        key_delay_us: AtomicI64::new(key_delay_us),
    });
    let (tx, rx) = mpsc::channel();
    let (done_tx, done) = mpsc::channel();
    let tmp = match purpose {
        // Unique per save: an aborted save's helper may still be
        // removing its own temp file.
        Purpose::Rdb => {
            path.with_file_name(format!("temp-bgsave-{}-{}.rdb", std::process::id(), epoch))
        }
        Purpose::AofBase => path.with_extension(format!("tmp{epoch}")),
    };
    let sh = shared.clone();
    std::thread::Builder::new()
        .name(match purpose {
            Purpose::Rdb => "bgsave".into(),
            Purpose::AofBase => "aof-rewrite".into(),
        })
        .spawn(move || {
            let r = write_file(&rx, &sh, &tmp, &path, checksum);
            if r.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            let _ = done_tx.send(r);
        })
        .map_err(|e| format!("Can't save in background: {e}"))?;
    Ok(Snapshot {
        purpose,
        epoch,
        db: 0,
        cursor: 0,
        keys_total: sizes.iter().map(|s| s.0 as u64).sum(),
        sizes,
        stream_db: None,
        w,
        pending_keys: 0,
        walk_done: false,
        tx: Some(tx),
        done,
        shared,
        started_ms: now,
        dirty_before: 0,
        keys_saved: 0,
    })
}

/// The helper's side: writes what arrives, computing the checksum as it
/// goes, then syncs and renames into place.
fn write_file(
    rx: &mpsc::Receiver<Msg>,
    sh: &Shared,
    tmp: &std::path::Path,
    path: &std::path::Path,
    checksum: bool,
) -> Result<(), String> {
    let f = std::fs::File::create(tmp).map_err(|e| {
        format!(
            "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
            tmp.display(),
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            crate::util::os_error_text(&e)
        )
    })?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut crc = 0u64;
    let io = |e: std::io::Error| {
        format!(
            "Write error saving DB on disk: {}",
            crate::util::os_error_text(&e)
        )
    };
    loop {
        if sh.abort.load(Ordering::Relaxed) {
            return Err("aborted".into());
        }
        match rx.recv() {
            Ok(Msg::Bytes(b, keys)) => {
                // Per key, in slices, so an abort or a new delay is
                // noticed promptly.
                for _ in 0..keys {
                    let mut left = sh.key_delay_us.load(Ordering::Relaxed).max(0) as u64;
                    while left > 0 {
                        if sh.abort.load(Ordering::Relaxed) {
                            return Err("aborted".into());
                        }
                        let d = left.min(10_000);
                        std::thread::sleep(std::time::Duration::from_micros(d));
                        left = left
                            .saturating_sub(d)
                            .min(sh.key_delay_us.load(Ordering::Relaxed).max(0) as u64);
                    }
                }
                if checksum {
                    crc = crc64::crc64(crc, &b);
                }
                out.write_all(&b).map_err(io)?;
                sh.in_flight.fetch_sub(b.len(), Ordering::Relaxed);
                sh.keys_written.fetch_add(keys, Ordering::Relaxed);
            }
            Ok(Msg::End) => break,
            Err(_) => return Err("aborted".into()),
        }
    }
    out.write_all(&crc.to_le_bytes()).map_err(io)?;
    let f = out.into_inner().map_err(|e| io(e.into_error()))?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(tmp, path).map_err(|e| {
        format!(
            "Error moving temp DB file {} on the final destination {} (in server root dir {}): {}",
            tmp.display(),
            path.display(),
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            crate::util::os_error_text(&e)
        )
    })
}

/// Serializes `key` of database `db` if a running save has not yet: the
/// caller is about to change or delete it.
#[inline]
pub fn before_write(st: &mut State, db: usize, key: &[u8]) {
    if let Some(s) = st.snapshot.as_deref_mut() {
        s.before_write(&st.dbs, db, key);
    }
}

/// Walks the keyspace for up to `budget_us` (or until the helper is
/// `MAX_IN_FLIGHT` behind). Returns whether walking remains.
pub fn step(st: &mut State, budget_us: i64) -> bool {
    if let Some(s) = st.snapshot.as_deref() {
        let d = st.cfg.int("rdb-key-save-delay");
        s.shared.key_delay_us.store(d, Ordering::Relaxed);
    }
    match st.snapshot.as_deref_mut() {
        Some(s) => s.step(&st.dbs, budget_us),
        None => false,
    }
}

impl Snapshot {
    fn before_write(&mut self, dbs: &[Db], db: usize, key: &[u8]) {
        if self.walk_done {
            return;
        }
        let Some(d) = dbs.get(db) else {
            return;
        };
        if let Some(o) = d.keys.get(key)
            && o.snap.get() != self.epoch
        {
            self.emit(db, key, o, d.get_expire(key));
        }
    }

    fn step(&mut self, dbs: &[Db], budget_us: i64) -> bool {
        if self.walk_done {
            self.send();
            return false;
        }
        let start = crate::util::now_us();
        let mut visits = 0u32;
        while self.shared.in_flight.load(Ordering::Relaxed) < MAX_IN_FLIGHT {
            let Some(db) = dbs.get(self.db) else {
                self.w.eof();
                self.walk_done = true;
                self.send();
                if let Some(tx) = self.tx.take() {
                    let _ = tx.send(Msg::End);
                }
                return false;
            };
            if self.sizes.get(self.db).is_none_or(|z| z.0 == 0) {
                self.db += 1;
                self.cursor = 0;
                continue;
            }
            let epoch = self.epoch;
            let id = db.id;
            let cur = self.cursor;
            self.cursor = db.keys.scan(cur, |k, o| {
                if o.snap.get() != epoch {
                    self.emit(id, k, o, db.get_expire(k));
                }
            });
            if self.cursor == 0 {
                self.db += 1;
            }
            if self.w.buf.len() >= CHUNK {
                self.send();
            }
            visits += 1;
            if visits.is_multiple_of(64) && crate::util::now_us() - start >= budget_us {
                break;
            }
        }
        self.send();
        true
    }
}

/// Walks what remains in one go (before a whole-keyspace change that must
/// not reach the save, such as SWAPDB).
pub fn finish_now(st: &mut State) {
    while step(st, i64::MAX) {
        if st
            .snapshot
            .as_ref()
            .is_some_and(|s| s.shared.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT)
        {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
}

/// Cancels the running save (FLUSHALL, SHUTDOWN): the helper stops and
/// removes its temp file; the previous file stays.
pub fn abort(st: &mut State) -> Option<Purpose> {
    let s = st.snapshot.take()?;
    s.shared.abort.store(true, Ordering::Relaxed);
    drop(s.tx);
    Some(s.purpose)
}

/// A finished snapshot.
pub struct Done {
    pub purpose: Purpose,
    pub result: Result<(), String>,
    pub started_ms: i64,
    pub dirty_before: u64,
}

/// The save's outcome once the helper is done.
pub fn poll(st: &mut State) -> Option<Done> {
    let s = st.snapshot.as_deref()?;
    let result = match s.done.try_recv() {
        Ok(r) => r,
        Err(mpsc::TryRecvError::Empty) => return None,
        Err(mpsc::TryRecvError::Disconnected) => Err("the save thread exited".into()),
    };
    let s = st.snapshot.take()?;
    if result.is_ok() {
        UNFINISHED.store(0, Ordering::Relaxed);
    }
    Some(Done {
        purpose: s.purpose,
        result,
        started_ms: s.started_ms,
        dirty_before: s.dirty_before,
    })
}

/// Whether the walk has work it can do right now (the reactor then polls
/// without sleeping).
pub fn wants_cpu(st: &State) -> bool {
    st.snapshot
        .as_ref()
        .is_some_and(|s| !s.walk_done && s.shared.in_flight.load(Ordering::Relaxed) < MAX_IN_FLIGHT)
}

/// Keys the helper has written so far (INFO current_save_keys_processed).
pub fn keys_processed(s: &Snapshot) -> u64 {
    s.shared.keys_written.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Value;
    use crate::db::value::Str;

    fn dbs_with(n: usize) -> Vec<Db> {
        let mut dbs: Vec<Db> = (0..16).map(Db::new).collect();
        for i in 0..n {
            dbs[0].add(
                format!("k{i}").as_bytes(),
                Value::Str(Str::from_bytes(b"v0")),
            );
        }
        dbs
    }

    /// The epoch is process-wide, as there is one reactor: tests take
    /// turns.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn run_to_end(
        dbs: &mut [Db],
        name: &str,
        mutate: impl Fn(&mut Snapshot, &mut [Db], usize),
    ) -> Vec<u8> {
        let path = std::env::temp_dir().join(format!("{name}-{}.rdb", std::process::id()));
        let mut s = start_with(dbs, &[], true, true, 0, Purpose::Rdb, path.clone()).unwrap();
        let mut turn = 0;
        while s.step(dbs, 50) {
            mutate(&mut s, dbs, turn);
            turn += 1;
        }
        assert!(turn > 3, "the walk took several steps");
        let r = s
            .done
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        r.unwrap();
        let img = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).ok();
        img
    }

    fn load(img: &[u8]) -> Vec<Db> {
        let mut dbs: Vec<Db> = (0..16).map(Db::new).collect();
        crate::persist::rdb::load(img, &mut dbs, 0, u64::MAX).unwrap();
        dbs
    }

    #[test]
    fn writes_during_the_walk_do_not_reach_the_file() {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let mut dbs = dbs_with(20_000);
        let img = run_to_end(&mut dbs, "snap-writes", |s, dbs, turn| {
            // Overwrite, delete and create keys while the walk runs, each
            // behind the pre-write hook as dispatch does it.
            for j in 0..50 {
                let i = (turn * 50 + j) % 20_000;
                let k = format!("k{i}");
                s.before_write(dbs, 0, k.as_bytes());
                dbs[0].set(k.as_bytes(), Value::Str(Str::from_bytes(b"changed")), false);
                let d = format!("k{}", (i + 7) % 20_000);
                s.before_write(dbs, 0, d.as_bytes());
                dbs[0].unlink(d.as_bytes());
                let n = format!("new{turn}-{j}");
                s.before_write(dbs, 0, n.as_bytes());
                dbs[0].add(n.as_bytes(), Value::Str(Str::from_bytes(b"x")));
            }
        });
        let dbs = load(&img);
        assert_eq!(dbs[0].len(), 20_000);
        let mut t = [0u8; 20];
        for (k, o) in dbs[0].keys.iter() {
            assert!(k.starts_with(b"k"));
            match &o.v {
                Value::Str(s) => assert_eq!(s.bytes(&mut t), b"v0"),
                _ => panic!("wrong type"),
            }
        }
    }

    #[test]
    fn keys_of_other_databases_saved_early_land_in_their_database() {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let mut dbs = dbs_with(5_000);
        for i in 0..100 {
            dbs[3].add(
                format!("d3-{i}").as_bytes(),
                Value::Str(Str::from_bytes(b"old")),
            );
        }
        let img = run_to_end(&mut dbs, "snap-dbs", |s, dbs, turn| {
            if turn == 1 {
                for i in 0..100 {
                    let k = format!("d3-{i}");
                    s.before_write(dbs, 3, k.as_bytes());
                    dbs[3].unlink(k.as_bytes());
                }
            }
        });
        let dbs = load(&img);
        assert_eq!(dbs[0].len(), 5_000);
        assert_eq!(dbs[3].len(), 100);
    }
}
