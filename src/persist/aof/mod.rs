//! The append-only file, multi-part as in Redis 7+.
//!
//! In `dir/appenddirname` live a BASE file (an RDB image, `.base.rdb`, or
//! commands, `.base.aof`), INCR files of commands appended since, and the
//! manifest (`manifest`) listing them. Loading replays base then incr
//! files (`load`).
//!
//! Writing: the AOF consumes the replication stream (`repl::ReplState`
//! feeds it while `ReplState::aof` is set), so both see the same commands,
//! relative TTLs made absolute, MULTI/EXEC around transactions. The
//! reactor moves the stream into `Aof::buf` after each command and writes
//! the buffer before any reply goes out (Redis's beforeSleep
//! `flushAppendOnlyFile`); `appendfsync always` syncs there too,
//! `everysec` hands the sync to a helper thread once a second.
//!
//! Rewriting (BGREWRITEAOF, auto-rewrite, enabling at run time): a new
//! INCR file is opened and receives the writes from then on, while a
//! point-in-time snapshot (`snapshot::Purpose::AofBase`) writes the new
//! BASE in a helper thread. When it is done the manifest is swapped (temp
//! file + rename) and the files it no longer lists are deleted. While
//! the AOF is being turned on (`Status::WaitRewrite`) writes go to a temp
//! INCR file that becomes a real one only once the first BASE exists.

pub mod load;
pub mod manifest;
mod rewrite;

use crate::command::{CmdError, CmdResult, Ctx};
use crate::persist::snapshot::{self, Purpose};
use crate::resp::Args;
use crate::server::State;
use load::{Loaded, Others};
use manifest::Manifest;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Redis's `aof_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Off,
    On,
    /// Turned on at run time; appending only once the first rewrite ends.
    WaitRewrite,
}

/// A background rewrite in progress.
#[derive(Debug)]
struct Job {
    /// Where the snapshot writes the new base.
    tmp: PathBuf,
    /// Base in RDB form (else commands).
    rdb: bool,
    start_s: i64,
    /// The snapshot is done and a helper turns it into commands.
    convert: Option<Convert>,
}

#[derive(Debug)]
struct Convert {
    rx: mpsc::Receiver<Result<(), String>>,
    abort: Arc<std::sync::atomic::AtomicBool>,
}

/// Background fsyncs (Redis's BIO_AOF_FSYNC). Each job carries the
/// stream offset its file holds; once synced that offset is published in
/// `synced` for WAITAOF.
struct Fsyncer {
    tx: mpsc::Sender<(File, i64)>,
    pending: Arc<AtomicUsize>,
}

impl Fsyncer {
    fn new(synced: Arc<AtomicI64>) -> Option<Fsyncer> {
        let (tx, rx) = mpsc::channel::<(File, i64)>();
        let pending = Arc::new(AtomicUsize::new(0));
        let p = pending.clone();
        std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                while let Ok((f, off)) = rx.recv() {
                    match f.sync_data() {
                        Ok(()) => {
                            synced.fetch_max(off, Ordering::Relaxed);
                        }
                        Err(e) => log::warn!(
                            "Fail to fsync the AOF file: {}",
                            crate::util::os_error_text(&e)
                        ),
                    }
                    p.fetch_sub(1, Ordering::Relaxed);
                }
            })
            .ok()?;
        Some(Fsyncer { tx, pending })
    }

    fn send(&self, f: File, off: i64) {
        self.pending.fetch_add(1, Ordering::Relaxed);
        if self.tx.send((f, off)).is_err() {
            self.pending.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// AOF state, part of the server `State`.
pub struct Aof {
    pub status: Status,
    pub manifest: Manifest,
    file: Option<File>,
    /// Commands not yet written.
    pub buf: Vec<u8>,
    pub rewrite_scheduled: bool,
    job: Option<Job>,
    pub last_rewrite_time_sec: i64,
    pub last_bgrewrite_ok: bool,
    pub last_write_ok: bool,
    pub last_write_err: String,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    pub current_size: u64,
    /// Size after the last rewrite (auto-rewrite growth base).
    pub base_size: u64,
    last_incr_size: u64,
    last_incr_fsync_offset: u64,
    last_fsync_ms: i64,
    flush_postponed_ms: i64,
    pub delayed_fsync: u64,
    /// Rewrite processes started (INFO total_forks).
    pub forks: u64,
    /// Loading at startup: clients are served between commands.
    pub serve_while_loading: bool,
    /// DEBUG AOF-FLUSH-SLEEP, microseconds before each write.
    pub flush_sleep_us: i64,
    cur_ts: i64,
    /// Start offset of the temp incr file (WaitRewrite).
    temp_incr_start: i64,
    fsyncer: Option<Fsyncer>,
    /// The stream offset known to be on disk (WAITAOF's local copy; Redis's
    /// fsynced_reploff), -1 while the AOF is off. Taken from `synced`
    /// before each sleep while the AOF is on.
    pub fsynced_reploff: i64,
    /// Set by whoever completes an fsync: the offset it covered.
    synced: Arc<AtomicI64>,
    /// The stream offset of the last byte written to the file.
    written_reploff: i64,
    /// Rewrite back-off after repeated failures.
    next_delay_min: i64,
    next_rewrite_s: i64,
}

impl Default for Aof {
    fn default() -> Aof {
        Aof {
            status: Status::Off,
            manifest: Manifest::default(),
            file: None,
            buf: Vec::new(),
            rewrite_scheduled: false,
            job: None,
            last_rewrite_time_sec: -1,
            last_bgrewrite_ok: true,
            last_write_ok: true,
            last_write_err: String::new(),
            rewrites: 0,
            consecutive_failures: 0,
            current_size: 0,
            base_size: 0,
            last_incr_size: 0,
            last_incr_fsync_offset: 0,
            last_fsync_ms: 0,
            flush_postponed_ms: 0,
            delayed_fsync: 0,
            forks: 0,
            serve_while_loading: false,
            flush_sleep_us: 0,
            cur_ts: 0,
            temp_incr_start: 0,
            fsyncer: None,
            fsynced_reploff: -1,
            synced: Arc::new(AtomicI64::new(0)),
            written_reploff: 0,
            next_delay_min: 0,
            next_rewrite_s: 0,
        }
    }
}

impl Aof {
    /// A rewrite is running (INFO aof_rewrite_in_progress).
    pub fn rewrite_in_progress(&self) -> bool {
        self.job.is_some()
    }

    /// Seconds the running rewrite has taken, -1 when none runs.
    pub fn current_rewrite_secs(&self) -> i64 {
        self.job
            .as_ref()
            .map_or(-1, |j| crate::util::now_ms() / 1000 - j.start_s)
    }

    fn fsync_pending(&self) -> usize {
        self.fsyncer
            .as_ref()
            .map_or(0, |f| f.pending.load(Ordering::Relaxed))
    }

    /// INFO aof_pending_bio_fsync.
    pub fn pending_bio_fsync(&self) -> usize {
        self.fsync_pending()
    }
}

fn dir(st: &State) -> PathBuf {
    PathBuf::from(st.cfg.get("appenddirname"))
}

fn filename(st: &State) -> String {
    st.cfg.get("appendfilename").to_string()
}

fn temp_incr_name(st: &State) -> String {
    format!("temp-{}.incr", filename(st))
}

fn fatal(msg: String) -> ! {
    log::warn!("{msg}");
    std::process::exit(1);
}

// ---------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------

/// Whether commands go to the AOF now (Redis's feedAppendOnlyFile check).
fn appending(st: &State) -> bool {
    match st.aof.status {
        Status::On => true,
        Status::WaitRewrite => st.aof.job.is_some(),
        Status::Off => false,
    }
}

/// Takes propagated bytes (the reactor calls this with what the
/// replication stream gathered).
pub fn feed(st: &mut State, bytes: &[u8]) {
    if !appending(st) {
        return;
    }
    if st.cfg.bool("aof-timestamp-enabled") {
        let now = crate::util::now_ms() / 1000;
        if st.aof.cur_ts < now {
            st.aof.cur_ts = now;
            st.aof
                .buf
                .extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
        }
    }
    st.aof.buf.extend_from_slice(bytes);
}

/// Writes the buffer to the current INCR file and syncs per `appendfsync`
/// (Redis's `flushAppendOnlyFile`). `force` writes even while a
/// background fsync is running.
pub fn flush(st: &mut State, force: bool) {
    if st.aof.status == Status::Off {
        return;
    }
    let policy = st.cfg.get("appendfsync").to_string();
    let now = crate::util::now_ms();
    let mut sync_in_progress = false;
    if st.aof.buf.is_empty() {
        if st.aof.last_incr_fsync_offset == st.aof.last_incr_size {
            // Everything written is on disk: offsets that moved without
            // AOF data (REPLCONF GETACK) count as synced too, or WAITAOF
            // would wait for bytes that never come.
            if st.aof.fsync_pending() == 0 {
                let off = stream_offset(st);
                st.aof.synced.fetch_max(off, Ordering::Relaxed);
            }
        } else if (policy == "everysec"
            && now - st.aof.last_fsync_ms >= 1000
            && st.aof.fsync_pending() == 0)
            || policy == "always"
        {
            try_fsync(st, &policy, now, false);
        }
        return;
    }
    if policy == "everysec" {
        sync_in_progress = st.aof.fsync_pending() > 0;
        if sync_in_progress && !force {
            if st.aof.flush_postponed_ms == 0 {
                st.aof.flush_postponed_ms = now;
                return;
            } else if now - st.aof.flush_postponed_ms < 2000 {
                return;
            }
            st.aof.delayed_fsync += 1;
            log::info!(
                "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis."
            );
        }
    }
    if st.aof.flush_sleep_us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(
            st.aof.flush_sleep_us as u64,
        ));
    }
    st.aof.flush_postponed_ms = 0;
    let Some(f) = st.aof.file.as_mut() else {
        st.aof.buf.clear();
        return;
    };
    let r = f.write_all(&st.aof.buf);
    match r {
        Ok(()) => {
            if !st.aof.last_write_ok {
                log::info!("AOF write error looks solved, Redis can write again.");
                st.aof.last_write_ok = true;
            }
            let n = st.aof.buf.len() as u64;
            st.aof.current_size += n;
            st.aof.last_incr_size += n;
            st.aof.written_reploff = stream_offset(st);
            if st.aof.buf.capacity() > 1 << 20 {
                st.aof.buf = Vec::new();
            } else {
                st.aof.buf.clear();
            }
        }
        Err(e) => {
            // Whatever part went out is cut off again, so the file holds
            // only whole commands, and the buffer is retried.
            let _ = f.set_len(st.aof.last_incr_size);
            let text = crate::util::os_error_text(&e);
            if st.aof.last_write_ok {
                log::warn!("Error writing to the AOF file: {text}");
            }
            if policy == "always" {
                fatal(
                    "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
                        .into(),
                );
            }
            st.aof.last_write_err = text;
            st.aof.last_write_ok = false;
            return;
        }
    }
    try_fsync(st, &policy, now, sync_in_progress);
}

fn try_fsync(st: &mut State, policy: &str, now: i64, sync_in_progress: bool) {
    if st.cfg.bool("no-appendfsync-on-rewrite") && st.snapshot.is_some() {
        return;
    }
    let Some(f) = st.aof.file.as_ref() else {
        return;
    };
    if policy == "always" {
        if let Err(e) = f.sync_data() {
            fatal(format!(
                "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                crate::util::os_error_text(&e)
            ));
        }
        st.aof.last_incr_fsync_offset = st.aof.last_incr_size;
        st.aof.last_fsync_ms = now;
        st.aof
            .synced
            .fetch_max(st.aof.written_reploff, Ordering::Relaxed);
    } else if policy == "everysec" && now - st.aof.last_fsync_ms >= 1000 {
        if !sync_in_progress {
            background_fsync(st);
            st.aof.last_incr_fsync_offset = st.aof.last_incr_size;
        }
        st.aof.last_fsync_ms = now;
    }
}

fn background_fsync(st: &mut State) {
    let Some(f) = st.aof.file.as_ref().and_then(|f| f.try_clone().ok()) else {
        return;
    };
    if st.aof.fsyncer.is_none() {
        st.aof.fsyncer = Fsyncer::new(st.aof.synced.clone());
    }
    let off = st.aof.written_reploff;
    match &st.aof.fsyncer {
        Some(fs) => fs.send(f, off),
        None => {
            if f.sync_data().is_ok() {
                st.aof.synced.fetch_max(off, Ordering::Relaxed);
            }
        }
    }
}

/// The offset of the stream this server's AOF records: a replica's is its
/// master's (what its REPLCONF ACKs count), a master's its own.
fn stream_offset(st: &State) -> i64 {
    match &st.master {
        Some(l) if l.link_up() => l.offset,
        _ => st.repl.offset,
    }
}

/// Before sleeping: takes the offset the last fsyncs reached (Redis does
/// it in beforeSleep). True when it moved.
fn update_fsynced(st: &mut State) -> bool {
    if st.aof.status != Status::On || st.aof.fsynced_reploff == -1 {
        return false;
    }
    let now = st.aof.synced.load(Ordering::Relaxed);
    let moved = now != st.aof.fsynced_reploff;
    st.aof.fsynced_reploff = now;
    moved
}

/// Syncs (in the background) and closes the file being replaced.
fn retire_file(st: &mut State, f: File) {
    if st.cfg.get("appendfsync") == "no" {
        return;
    }
    if st.aof.fsyncer.is_none() {
        st.aof.fsyncer = Fsyncer::new(st.aof.synced.clone());
    }
    if let Some(fs) = &st.aof.fsyncer {
        fs.send(f, st.aof.written_reploff);
    }
}

/// The MISCONF error writes get while the AOF cannot be written.
pub fn write_denied(st: &State) -> Option<String> {
    if st.aof.status != Status::Off && !st.aof.last_write_ok {
        return Some(format!(
            "MISCONF Errors writing to the AOF file: {}",
            st.aof.last_write_err
        ));
    }
    None
}

// ---------------------------------------------------------------------
// Manifest on disk
// ---------------------------------------------------------------------

/// Writes the manifest through a temp file and a rename, then syncs the
/// directory (Redis's `writeAofManifestFile`).
fn write_manifest(st: &State, am: &Manifest) -> Result<(), ()> {
    let d = dir(st);
    let name = format!("{}.manifest", filename(st));
    let tmp_name = format!("temp-{name}");
    let tmp = d.join(&tmp_name);
    let mut f = match File::create(&tmp) {
        Ok(f) => f,
        Err(e) => {
            log::warn!(
                "Can't open the AOF manifest file {}: {}",
                tmp_name,
                crate::util::os_error_text(&e)
            );
            return Err(());
        }
    };
    if let Err(e) = f.write_all(am.render().as_bytes()) {
        log::warn!(
            "Error trying to write the temporary AOF manifest file {}: {}",
            tmp_name,
            crate::util::os_error_text(&e)
        );
        return Err(());
    }
    if let Err(e) = f.sync_all() {
        log::warn!(
            "Fail to fsync the temp AOF file {}: {}.",
            tmp_name,
            crate::util::os_error_text(&e)
        );
        return Err(());
    }
    if let Err(e) = std::fs::rename(&tmp, d.join(&name)) {
        log::warn!(
            "Error trying to rename the temporary AOF manifest file {} into {}: {}",
            tmp_name,
            name,
            crate::util::os_error_text(&e)
        );
        return Err(());
    }
    if let Ok(df) = File::open(&d) {
        let _ = df.sync_all();
    }
    Ok(())
}

fn persist_manifest(st: &mut State) -> Result<(), ()> {
    if !st.aof.manifest.dirty {
        return Ok(());
    }
    let am = st.aof.manifest.clone();
    write_manifest(st, &am)?;
    st.aof.manifest.dirty = false;
    Ok(())
}

/// Reads the manifest on disk, if any (exits on a malformed one, as Redis
/// does: the data would be ambiguous).
fn load_manifest_from_disk(st: &State) -> Manifest {
    let d = dir(st);
    if !d.is_dir() {
        log::debug!("The AOF directory {} doesn't exist", d.display());
        return Manifest::default();
    }
    let name = format!("{}.manifest", filename(st));
    let path = d.join(&name);
    if !path.exists() {
        log::debug!("The AOF manifest file {name} doesn't exist");
        return Manifest::default();
    }
    read_manifest(&path)
}

/// Reads and parses a manifest file, exiting with Redis's messages when
/// it cannot be read or is malformed (`aofLoadManifestFromFile`; also
/// what redis-check-aof does).
pub fn read_manifest(path: &Path) -> Manifest {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) => fatal(format!(
            "Fatal error: can't open the AOF manifest file {} for reading: {}",
            path.display(),
            crate::util::os_error_text(&e)
        )),
    };
    match Manifest::parse(&text) {
        Ok(am) => am,
        Err(e) => {
            log::warn!("\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
            if let Some((n, l)) = e.line {
                log::warn!("Reading the manifest file, at line {n}\n");
                log::warn!(">>> '{l}'\n");
            }
            fatal(format!("{}\n", e.msg));
        }
    }
}

/// Deletes the history files and drops them from the manifest (unless
/// `aof-disable-auto-gc`).
pub fn delete_history(st: &mut State) {
    if st.cfg.bool("aof-disable-auto-gc") || st.aof.manifest.history.is_empty() {
        return;
    }
    let d = dir(st);
    for h in std::mem::take(&mut st.aof.manifest.history) {
        log::info!("Removing the history file {} in the background", h.name);
        let _ = std::fs::remove_file(d.join(&h.name));
    }
    st.aof.manifest.dirty = true;
    let _ = persist_manifest(st);
}

fn create_dir(st: &State) -> Result<(), String> {
    let d = dir(st);
    match std::fs::create_dir(&d) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => Ok(()),
        Err(e) => {
            let m = format!(
                "Can't open or create append-only dir {}: {}",
                d.display(),
                crate::util::os_error_text(&e)
            );
            log::warn!("{m}");
            Err(m)
        }
    }
}

// ---------------------------------------------------------------------
// Startup
// ---------------------------------------------------------------------

/// Moves an old single-file AOF (`dir/appendfilename`) into the AOF
/// directory as the base of a fresh manifest (Redis's `aofUpgradePrepare`).
fn upgrade(st: &mut State) {
    if let Err(m) = create_dir(st) {
        fatal(m);
    }
    let name = filename(st);
    let mut am = Manifest {
        base: Some(manifest::AofInfo {
            name: name.clone(),
            seq: 1,
            kind: b'b',
            start_offset: -1,
            end_offset: -1,
        }),
        base_seq: 1,
        dirty: true,
        ..Default::default()
    };
    if write_manifest(st, &am).is_err() {
        std::process::exit(1);
    }
    am.dirty = false;
    if let Err(e) = std::fs::rename(&name, dir(st).join(&name)) {
        fatal(format!(
            "Error trying to move the old AOF file {} into dir {}: {}",
            name,
            st.cfg.get("appenddirname"),
            crate::util::os_error_text(&e)
        ));
    }
    log::info!(
        "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
        name,
        st.cfg.get("appenddirname")
    );
    st.aof.manifest = am;
}

/// Loads the dataset from the AOF files (Redis's `loadAppendOnlyFiles`,
/// with its upgrade path). Exits on a fatal error.
fn load_files(st: &mut State, others: &Others) -> Loaded {
    let name = filename(st);
    let d = dir(st);
    if std::path::Path::new(&name).is_file() {
        let am = &st.aof.manifest;
        if !d.is_dir()
            || (am.base.is_none() && am.incr.is_empty())
            || (am.base.as_ref().is_some_and(|b| b.name == name)
                && am.incr.is_empty()
                && !d.join(&name).exists())
        {
            upgrade(st);
        }
    }
    let am = st.aof.manifest.clone();
    let (r, total, base) = load::load_all(st, others, &d, &am);
    if matches!(r, Loaded::Ok | Loaded::Truncated) {
        st.aof.current_size = total;
        st.aof.base_size = base;
    }
    r
}

/// Redis's `aofOpenIfNeededOnServerStart`: with the AOF on, makes sure a
/// BASE exists (written now from the loaded dataset when there are no
/// files at all) and opens the last INCR file for appending.
fn open_on_start(st: &mut State) {
    if st.aof.status != Status::On {
        return;
    }
    if let Err(m) = create_dir(st) {
        fatal(m);
    }
    let d = dir(st);
    let fname = filename(st);
    if st.aof.manifest.base.is_none() && st.aof.manifest.incr.is_empty() {
        let rdb = st.cfg.bool("aof-use-rdb-preamble");
        let base = st.aof.manifest.new_base(&fname, rdb);
        if rewrite::write_base_now(st, &d.join(&base), rdb).is_err() {
            std::process::exit(1);
        }
        log::info!("Creating AOF base file {base} on server start");
    }
    let had_incr = !st.aof.manifest.incr.is_empty();
    let start = st.repl.offset;
    let name = st.aof.manifest.last_incr(&fname, start);
    match std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(d.join(&name))
    {
        Ok(f) => st.aof.file = Some(f),
        Err(e) => fatal(format!(
            "Can't open the append-only file {}: {}",
            name,
            crate::util::os_error_text(&e)
        )),
    }
    if persist_manifest(st).is_err() {
        std::process::exit(1);
    }
    let size = std::fs::metadata(d.join(&name)).map_or(0, |m| m.len());
    st.aof.last_incr_size = size;
    st.aof.last_incr_fsync_offset = size;
    st.repl.stream_db = None;
    if had_incr {
        log::info!("Opening AOF incr file {name} on server start");
    } else {
        log::info!("Creating AOF incr file {name} on server start");
    }
}

/// The replication offset continues from where the AOF left it (Redis's
/// `updateReplOffsetAndResetEndOffset`).
fn restore_repl_offset(st: &mut State) {
    if st.aof.status != Status::On {
        return;
    }
    let Some(ai) = st.aof.manifest.incr.last_mut() else {
        return;
    };
    if ai.end_offset != -1 {
        st.repl.offset = ai.end_offset;
        ai.end_offset = -1;
        st.aof.manifest.dirty = true;
        if persist_manifest(st).is_err() {
            std::process::exit(1);
        }
    } else {
        let start = if ai.start_offset == -1 {
            0
        } else {
            ai.start_offset
        };
        let name = ai.name.clone();
        let size = std::fs::metadata(dir(st).join(name)).map_or(0, |m| m.len() as i64);
        st.repl.offset = start + size;
    }
}

/// Loads the dataset at startup from the AOF when `appendonly` is on
/// (exiting on fatal errors as Redis does). Returns false when the AOF is
/// off: the caller loads the RDB file.
pub fn load_on_start(st: &mut State, others: &Others) -> bool {
    if !st.cfg.bool("appendonly") {
        return false;
    }
    let start = std::time::Instant::now();
    st.aof.status = Status::On;
    st.repl.aof = true;
    st.aof.fsynced_reploff = 0;
    st.aof.manifest = load_manifest_from_disk(st);
    st.aof.serve_while_loading = true;
    let r = load_files(st, others);
    st.aof.serve_while_loading = false;
    match r {
        Loaded::Ok | Loaded::Truncated => {
            log::info!(
                "DB loaded from append only file: {:.3} seconds",
                start.elapsed().as_secs_f64()
            );
            restore_repl_offset(st);
        }
        Loaded::NotExist | Loaded::Empty => {}
        Loaded::OpenErr | Loaded::Failed => std::process::exit(1),
    }
    // Nothing loaded is a new write.
    st.dirty = 0;
    open_on_start(st);
    delete_history(st);
    true
}

// ---------------------------------------------------------------------
// Rewrite
// ---------------------------------------------------------------------

/// Opens the INCR file writes go to from now on (Redis's
/// `openNewIncrAofForAppend`): a real one listed in the manifest, or the
/// temp one while the AOF is being turned on.
fn open_new_incr(st: &mut State) -> Result<(), ()> {
    if st.aof.status == Status::Off {
        return Ok(());
    }
    let fname = filename(st);
    let mut am = None;
    let name = if st.aof.status == Status::WaitRewrite {
        st.aof.temp_incr_start = st.repl.offset;
        temp_incr_name(st)
    } else {
        let mut m = st.aof.manifest.clone();
        let n = m.new_incr(&fname, st.repl.offset);
        am = Some(m);
        n
    };
    let f = match File::create(dir(st).join(&name)) {
        Ok(f) => f,
        Err(e) => {
            log::warn!(
                "Can't open the append-only file {}: {}",
                name,
                crate::util::os_error_text(&e)
            );
            return Err(());
        }
    };
    if let Some(m) = &am {
        write_manifest(st, m)?;
    }
    log::info!("Creating AOF incr file {name} on background rewrite");
    if let Some(old) = st.aof.file.replace(f) {
        retire_file(st, old);
        st.aof.last_fsync_ms = crate::util::now_ms();
    }
    st.aof.last_incr_size = 0;
    st.aof.last_incr_fsync_offset = 0;
    if let Some(mut m) = am {
        m.dirty = false;
        st.aof.manifest = m;
    }
    Ok(())
}

/// Starts a background rewrite (Redis's `rewriteAppendOnlyFileBackground`).
fn rewrite_background(st: &mut State) -> Result<(), ()> {
    if st.snapshot.is_some() {
        return Err(());
    }
    if create_dir(st).is_err() {
        st.aof.last_bgrewrite_ok = false;
        return Err(());
    }
    flush(st, true);
    // The new INCR file starts with a SELECT.
    st.repl.stream_db = None;
    if open_new_incr(st).is_err() {
        st.aof.last_bgrewrite_ok = false;
        return Err(());
    }
    st.aof.rewrites += 1;
    // The rewrite is a helper thread (no fork): the temp file is named
    // after our pid and the rewrite's sequence.
    let pid = std::process::id();
    let tmp = PathBuf::from(format!("temp-rewriteaof-bg-{pid}-{}.aof", st.aof.rewrites));
    let rdb = st.cfg.bool("aof-use-rdb-preamble");
    if let Err(e) = snapshot::start(st, Purpose::AofBase, tmp.clone()) {
        st.aof.last_bgrewrite_ok = false;
        log::warn!("Can't rewrite append only file in background: fork: {e}");
        return Err(());
    }
    st.aof.forks += 1;
    log::info!("Background append only file rewriting started by pid {pid}");
    st.aof.rewrite_scheduled = false;
    st.aof.job = Some(Job {
        tmp,
        rdb,
        start_s: crate::util::now_ms() / 1000,
        convert: None,
    });
    Ok(())
}

/// The snapshot behind a rewrite finished (Redis's
/// `backgroundRewriteDoneHandler`).
pub fn rewrite_done(st: &mut State, mut result: Result<(), String>) {
    let ts = st.cfg.bool("aof-timestamp-enabled");
    let ndbs = st.dbs.len();
    let Some(job) = st.aof.job.as_mut() else {
        return;
    };
    // The command form is made from the snapshot's RDB image first.
    if result.is_ok() && !job.rdb && job.convert.is_none() {
        let abort = Arc::new(std::sync::atomic::AtomicBool::new(false));
        match rewrite::spawn_conversion(job.tmp.clone(), ndbs, ts, abort.clone()) {
            Ok(rx) => {
                job.convert = Some(Convert { rx, abort });
                return;
            }
            Err(e) => result = Err(e),
        }
    }
    let Some(job) = st.aof.job.take() else {
        return;
    };
    let mut ok = false;
    match result {
        Ok(()) => {
            log::info!("Background AOF rewrite terminated with success");
            ok = finish_rewrite(st, &job).is_ok();
            if !ok {
                st.aof.last_bgrewrite_ok = false;
                st.aof.consecutive_failures += 1;
            }
        }
        Err(e) => {
            st.aof.last_bgrewrite_ok = false;
            st.aof.consecutive_failures += 1;
            if job.convert.is_some() {
                log::warn!("Write error writing append only file on disk: {e}");
            }
            log::warn!("Background AOF rewrite terminated with error");
            log::debug!("AOF rewrite error: {e}");
        }
    }
    cleanup_after_rewrite(st, &job);
    if ok {
        log::debug!("AOF rewrite done");
    }
}

fn finish_rewrite(st: &mut State, job: &Job) -> Result<(), ()> {
    let d = dir(st);
    let fname = filename(st);
    let mut am = st.aof.manifest.clone();
    let base = am.new_base(&fname, job.rdb);
    let base_path = d.join(&base);
    if let Err(e) = std::fs::rename(&job.tmp, &base_path) {
        log::warn!(
            "Error trying to rename the temporary AOF base file {} into {}: {}",
            job.tmp.display(),
            base_path.display(),
            crate::util::os_error_text(&e)
        );
        return Err(());
    }
    log::info!(
        "Successfully renamed the temporary AOF base file {} into {}",
        job.tmp.display(),
        base
    );
    let mut new_incr = None;
    if st.aof.status == Status::WaitRewrite {
        let temp = temp_incr_name(st);
        let name = am.new_incr(&fname, st.aof.temp_incr_start);
        if let Err(e) = std::fs::rename(d.join(&temp), d.join(&name)) {
            log::warn!(
                "Error trying to rename the temporary AOF incr file {} into {}: {}",
                temp,
                name,
                crate::util::os_error_text(&e)
            );
            let _ = std::fs::remove_file(&base_path);
            return Err(());
        }
        log::info!("Successfully renamed the temporary AOF incr file {temp} into {name}");
        new_incr = Some(d.join(name));
    }
    am.mark_rewritten_incr_as_history(st.aof.file.is_some());
    if write_manifest(st, &am).is_err() {
        let _ = std::fs::remove_file(&base_path);
        if let Some(p) = new_incr {
            let _ = std::fs::remove_file(p);
        }
        return Err(());
    }
    am.dirty = false;
    st.aof.manifest = am;
    if st.aof.status != Status::Off {
        let bs = std::fs::metadata(&base_path).map_or(0, |m| m.len());
        st.aof.current_size = bs + st.aof.last_incr_size;
        st.aof.base_size = st.aof.current_size;
    }
    delete_history(st);
    st.aof.last_bgrewrite_ok = true;
    st.aof.consecutive_failures = 0;
    log::info!("Background AOF rewrite finished successfully");
    if st.aof.status == Status::WaitRewrite {
        st.aof.status = Status::On;
        st.aof.fsynced_reploff = st.aof.synced.load(Ordering::Relaxed);
        st.blocking.acked = true;
    }
    Ok(())
}

fn cleanup_after_rewrite(st: &mut State, job: &Job) {
    let _ = std::fs::remove_file(&job.tmp);
    let _ = std::fs::remove_file(job.tmp.with_extension("tmp"));
    if st.aof.status == Status::WaitRewrite {
        st.aof.buf.clear();
        st.aof.file = None;
        let temp = temp_incr_name(st);
        log::info!("Removing the temp incr aof file {temp} in the background");
        let _ = std::fs::remove_file(dir(st).join(temp));
        st.aof.rewrite_scheduled = true;
    }
    st.aof.last_rewrite_time_sec = crate::util::now_ms() / 1000 - job.start_s;
}

/// Stops a running rewrite (AOF turned off, FLUSHALL...).
fn kill_rewrite(st: &mut State) {
    let Some(job) = st.aof.job.take() else {
        return;
    };
    log::info!("Killing running AOF rewrite child: {}", std::process::id());
    if let Some(c) = &job.convert {
        c.abort.store(true, Ordering::Relaxed);
    }
    if st
        .snapshot
        .as_ref()
        .is_some_and(|s| s.purpose == Purpose::AofBase)
    {
        snapshot::abort(st);
    }
    let _ = std::fs::remove_file(&job.tmp);
    let _ = std::fs::remove_file(job.tmp.with_extension("tmp"));
    let _ = std::fs::remove_file(job.tmp.with_extension("cmd"));
}

/// The command-form conversion's outcome, once it is there.
fn poll_conversion(st: &mut State) {
    let r = match st.aof.job.as_ref().and_then(|j| j.convert.as_ref()) {
        None => return,
        Some(c) => match c.rx.try_recv() {
            Ok(r) => r,
            Err(mpsc::TryRecvError::Empty) => return,
            Err(mpsc::TryRecvError::Disconnected) => Err("the rewrite thread exited".into()),
        },
    };
    rewrite_done(st, r);
}

/// Redis's `aofRewriteLimited`: after 3 failures in a row, automatic
/// rewrites back off (1, 2, 4... up to 60 minutes).
fn rewrite_limited(st: &mut State) -> bool {
    let a = &mut st.aof;
    if a.consecutive_failures < 3 {
        a.next_delay_min = 0;
        a.next_rewrite_s = 0;
        return false;
    }
    let now = crate::util::now_ms() / 1000;
    if a.next_rewrite_s != 0 {
        if now < a.next_rewrite_s {
            return true;
        }
        a.next_rewrite_s = 0;
        return false;
    }
    a.next_delay_min = if a.next_delay_min == 0 {
        1
    } else {
        (a.next_delay_min * 2).min(60)
    };
    a.next_rewrite_s = now + a.next_delay_min * 60;
    log::warn!(
        "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
        a.next_delay_min
    );
    true
}

/// Cron work: a scheduled or due rewrite, postponed writes, and noticing
/// a rewrite whose snapshot was cancelled.
pub fn cron(st: &mut State) {
    poll_conversion(st);
    if st.aof.job.as_ref().is_some_and(|j| j.convert.is_none())
        && !st
            .snapshot
            .as_ref()
            .is_some_and(|s| s.purpose == Purpose::AofBase)
    {
        // The snapshot was aborted under us.
        rewrite_done(st, Err("aborted".into()));
    }
    if st.snapshot.is_none() && st.aof.rewrite_scheduled && !rewrite_limited(st) {
        let _ = rewrite_background(st);
    }
    if st.aof.status == Status::On && st.snapshot.is_none() {
        let perc = st.cfg.int("auto-aof-rewrite-percentage");
        let min = st.cfg.int("auto-aof-rewrite-min-size").max(0) as u64;
        if perc > 0 && st.aof.current_size > min {
            let base = st.aof.base_size.max(1);
            let growth = (st.aof.current_size * 100 / base) as i64 - 100;
            if growth >= perc && !rewrite_limited(st) {
                log::info!("Starting automatic rewriting of AOF on {growth}% growth");
                let _ = rewrite_background(st);
            }
        }
    }
    if st.aof.status == Status::On && (st.aof.flush_postponed_ms != 0 || !st.aof.last_write_ok) {
        flush(st, false);
    }
}

/// Before the reactor sleeps (and before replies are written): write the
/// buffer.
pub fn before_sleep(st: &mut State) {
    poll_conversion(st);
    if st.aof.status != Status::Off {
        flush(st, false);
    }
    if update_fsynced(st) {
        st.blocking.acked = true;
    }
}

// ---------------------------------------------------------------------
// Turning the AOF on and off (CONFIG SET appendonly)
// ---------------------------------------------------------------------

/// Redis's `stopAppendOnly`.
fn stop(st: &mut State) {
    sync_and_record_end(st);
    st.aof.file = None;
    if st.aof.status == Status::WaitRewrite {
        let _ = std::fs::remove_file(dir(st).join(temp_incr_name(st)));
    }
    st.aof.status = Status::Off;
    st.repl.aof = false;
    st.aof.rewrite_scheduled = false;
    st.aof.last_incr_size = 0;
    st.aof.last_incr_fsync_offset = 0;
    st.aof.fsynced_reploff = -1;
    st.aof.synced.store(0, Ordering::Relaxed);
    // WAITAOF clients counting on a local copy get their error now.
    st.blocking.acked = true;
    kill_rewrite(st);
    st.aof.buf.clear();
}

/// Redis's `startAppendOnly`.
fn start(st: &mut State) -> Result<(), ()> {
    st.aof.status = Status::WaitRewrite;
    st.repl.aof = true;
    // Valid once the first rewrite is done; what the file will hold by
    // then starts here (Redis's rewriteAppendOnlyFileBackground).
    st.aof.fsynced_reploff = 0;
    st.aof.synced.store(stream_offset(st), Ordering::Relaxed);
    if st
        .snapshot
        .as_ref()
        .is_some_and(|s| s.purpose != Purpose::AofBase)
    {
        st.aof.rewrite_scheduled = true;
        log::info!(
            "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible."
        );
    } else if st.in_exec {
        st.aof.rewrite_scheduled = true;
        log::info!(
            "AOF was enabled during a transaction. An AOF background was scheduled to start when possible."
        );
    } else {
        if st.aof.job.is_some() {
            log::info!(
                "AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now."
            );
            kill_rewrite(st);
        }
        if rewrite_background(st).is_err() {
            st.aof.status = Status::Off;
            st.repl.aof = false;
            log::warn!(
                "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error."
            );
            return Err(());
        }
    }
    st.aof.last_fsync_ms = crate::util::now_ms();
    if !st.aof.last_write_ok {
        log::warn!("AOF reopen, just ignore the last error.");
        st.aof.last_write_ok = true;
    }
    Ok(())
}

/// Applies `appendonly` after CONFIG SET (Redis's `applyAppendOnlyConfig`).
pub fn apply_config(st: &mut State) -> Result<(), String> {
    // While loading the change waits: it is applied once loading ends.
    if st.loading.is_some() {
        return Ok(());
    }
    let want = st.cfg.bool("appendonly");
    if !want && st.aof.status != Status::Off {
        stop(st);
    } else if want && st.aof.status == Status::Off && start(st).is_err() {
        return Err("Failed to enable AOF".into());
    }
    Ok(())
}

/// A full sync replaced the dataset: the AOF starts over with a rewrite
/// (Redis's `restartAOFAfterSYNC`).
pub fn restart_after_sync(st: &mut State) {
    if st.aof.status == Status::Off {
        return;
    }
    stop(st);
    if start(st).is_err() {
        log::warn!("Failed to restart the AOF after a full sync");
    }
}

/// A FLUSHALL, DEBUG RELOAD or similar replaced the dataset while a
/// rewrite ran: the rewrite's snapshot is finished first so it stays
/// consistent with the INCR file (which receives the FLUSHALL).
pub fn before_dataset_change(st: &mut State) {
    if st.aof.job.is_some() {
        snapshot::finish_now(st);
    }
}

/// Flush and sync on shutdown.
/// Whether the AOF was just turned on and its first rewrite, the only
/// copy of the dataset it will hold, is still being written: a shutdown
/// then would leave an AOF without the data.
pub fn writing_initial(st: &State) -> bool {
    st.aof.status == Status::WaitRewrite && st.aof.job.is_some()
}

pub fn shutdown(st: &mut State) {
    if st.aof.status == Status::Off {
        return;
    }
    kill_rewrite(st);
    sync_and_record_end(st);
}

/// Writes and syncs what is buffered, and records the INCR file's end
/// offset in the manifest for the next start.
fn sync_and_record_end(st: &mut State) {
    flush(st, true);
    if let Some(f) = st.aof.file.as_ref() {
        let _ = f.sync_data();
    }
    if st.aof.status == Status::On
        && let Some(ai) = st.aof.manifest.incr.last_mut()
    {
        ai.end_offset = st.repl.offset;
        st.aof.manifest.dirty = true;
        let _ = persist_manifest(st);
    }
}

// ---------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------

/// BGREWRITEAOF
///
/// # Errors
/// A rewrite already running, or one that cannot start.
pub fn bgrewriteaof(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let st = &mut *ctx.st;
    if st.aof.job.is_some() {
        return Err(CmdError::msg(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    if st.snapshot.is_some() || st.in_exec {
        st.aof.rewrite_scheduled = true;
        st.aof.consecutive_failures = 0;
        ctx.c
            .reply
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    match rewrite_background(st) {
        Ok(()) => {
            ctx.c
                .reply
                .simple("Background append only file rewriting started");
            Ok(())
        }
        Err(()) => Err(CmdError::msg(
            "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.",
        )),
    }
}

/// DEBUG LOADAOF: empty the dataset and load it back from the AOF files.
pub fn debug_loadaof(ctx: &mut Ctx) -> CmdResult {
    let st = &mut *ctx.st;
    if st.aof.status != Status::Off {
        flush(st, true);
    }
    before_dataset_change(st);
    if st
        .snapshot
        .as_ref()
        .is_some_and(|s| s.purpose == Purpose::Rdb)
    {
        snapshot::finish_now(st);
    }
    st.flushall();
    st.aof.manifest = load_manifest_from_disk(st);
    delete_history(st);
    let db = ctx.c.db;
    let am = st.aof.manifest.clone();
    let (r, total, base) = load::load_all(st, ctx.others, &dir(st), &am);
    ctx.c.db = db;
    if !matches!(r, Loaded::Ok | Loaded::Empty) {
        return Err(CmdError::msg(
            "ERR Error trying to load the AOF files, check server logs.",
        ));
    }
    if r == Loaded::Ok {
        st.aof.current_size = total;
        st.aof.base_size = base;
    }
    st.dirty = 0;
    log::info!("Append Only File loaded by DEBUG LOADAOF");
    ctx.ok()
}
