//! Persistence: RDB snapshots on disk (SAVE, BGSAVE, `save` schedules,
//! shutdown, startup load), the RDB format itself (`rdb`), which is also a
//! full sync's payload, background snapshots (`snapshot`), and the
//! multi-part append-only file (`aof`), whose rewrites use them.

pub mod aof;
pub mod lzf;
pub mod rdb;
pub mod snapshot;

use snapshot::Purpose;

use crate::server::State;
use std::io::Write;

/// `dir/dbfilename`; `dir` is the working directory (CONFIG SET dir
/// changes it).
pub fn rdb_path(st: &State) -> std::path::PathBuf {
    std::path::PathBuf::from(st.cfg.get("dbfilename"))
}

/// Background-save bookkeeping for INFO persistence and the schedule.
#[derive(Debug)]
pub struct BgStats {
    /// BGSAVE SCHEDULE while another snapshot ran.
    pub scheduled: bool,
    /// Duration of the last background save, -1 before the first.
    pub last_time_sec: i64,
    pub saves: u64,
    /// When the last background save was attempted (a failed one is
    /// retried by the schedule only after `RETRY_DELAY_S`).
    pub last_try_s: i64,
    /// Keys the last RDB load added, and skipped as already expired.
    pub last_load_loaded: u64,
    pub last_load_expired: u64,
}

impl Default for BgStats {
    fn default() -> Self {
        BgStats {
            scheduled: false,
            last_time_sec: -1,
            saves: 0,
            last_try_s: 0,
            last_load_loaded: 0,
            last_load_expired: 0,
        }
    }
}

/// Redis's CONFIG_BGSAVE_RETRY_DELAY.
const RETRY_DELAY_S: i64 = 5;

/// Why BGSAVE cannot start now, in Redis's words.
pub fn bgsave_refusal(st: &State) -> Option<&'static str> {
    match st.snapshot.as_ref().map(|s| s.purpose) {
        Some(Purpose::Rdb) => Some("ERR Background save already in progress"),
        Some(Purpose::AofBase) => Some(
            "ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ),
        None => None,
    }
}

/// The error write commands get while the last save failed and
/// stop-writes-on-bgsave-error is on, or while the AOF cannot be written
/// (Redis's `writeCommandsDeniedByDiskError`).
pub fn write_denied(st: &State) -> Option<std::borrow::Cow<'static, str>> {
    if !st.last_save_ok
        && st.cfg.bool("stop-writes-on-bgsave-error")
        && !st.cfg.get("save").is_empty()
    {
        return Some(std::borrow::Cow::Borrowed(
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.",
        ));
    }
    aof::write_denied(st).map(std::borrow::Cow::Owned)
}

/// Starts a background save of the RDB file.
pub fn bgsave(st: &mut State) -> Result<(), String> {
    st.bgsave.last_try_s = crate::util::now_ms() / 1000;
    let path = rdb_path(st);
    match snapshot::start(st, Purpose::Rdb, path) {
        Ok(()) => {
            log::info!("Background saving started");
            Ok(())
        }
        Err(e) => {
            st.last_save_ok = false;
            log::warn!("Can't save in background: {e}");
            Err(e)
        }
    }
}

/// What the reactor does with a finished snapshot (Redis's
/// `backgroundSaveDoneHandler`).
pub fn snapshot_done(st: &mut State, d: snapshot::Done) {
    let now = crate::util::now_ms();
    match d.purpose {
        Purpose::Rdb => {
            st.bgsave.last_time_sec = (now - d.started_ms) / 1000;
            match d.result {
                Ok(()) => {
                    log::info!("Background saving terminated with success");
                    st.dirty = st.dirty.saturating_sub(d.dirty_before);
                    st.lastsave = now / 1000;
                    st.last_save_ok = true;
                    st.bgsave.saves += 1;
                }
                Err(e) => {
                    log::warn!("Background saving error: {e}");
                    st.last_save_ok = false;
                }
            }
        }
        Purpose::AofBase => aof::rewrite_done(st, d.result),
    }
}

/// Cron work (Redis's serverCron part): a due `save <seconds> <changes>`
/// rule or a scheduled BGSAVE starts a background save.
pub fn cron(st: &mut State) {
    aof::cron(st);
    if st.snapshot.is_some() {
        return;
    }
    let now_s = crate::util::now_ms() / 1000;
    if st.bgsave.scheduled {
        st.bgsave.scheduled = false;
        let _ = bgsave(st);
        return;
    }
    if st.dirty == 0 {
        return;
    }
    let rules = st.cfg.get("save").to_string();
    let words: Vec<i64> = rules
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    for r in words.chunks(2) {
        let [secs, changes] = r else { continue };
        if st.dirty >= *changes as u64
            && now_s - st.lastsave > *secs
            && (st.last_save_ok || now_s - st.bgsave.last_try_s > RETRY_DELAY_S)
        {
            log::info!("{changes} changes in {secs} seconds. Saving...");
            let _ = bgsave(st);
            return;
        }
    }
}

/// Writes the dataset to the RDB file: a temp file, fsync, then rename,
/// so a crash never leaves a half-written dump in place.
pub fn save(st: &mut State) -> std::io::Result<()> {
    let tmp = format!("temp-{}.rdb", std::process::id());
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        // rdb-key-save-delay (a test knob) slows the save key by key, as
        // it does Redis's; the temp file is there meanwhile.
        let delay = st.cfg.int("rdb-key-save-delay");
        if delay != 0 {
            let keys: usize = st.dbs.iter().map(|d| d.len()).sum();
            for _ in 0..keys {
                crate::util::debug_delay(delay, &mut st.rng);
            }
        }
        let libs = st.scripts.library_codes();
        let img = rdb::save_with_functions(
            &st.dbs,
            st.cfg.bool("rdbcompression"),
            crate::util::now_ms(),
            &libs,
        );
        f.write_all(&img)?;
        f.sync_all()?;
        std::fs::rename(&tmp, rdb_path(st))
    })();
    match r {
        Ok(()) => {
            st.dirty = 0;
            st.lastsave = crate::util::now_ms() / 1000;
            st.last_save_ok = true;
            log::info!("DB saved on disk");
            Ok(())
        }
        Err(e) => {
            // (A failed foreground save does not change
            // rdb_last_bgsave_status, as in Redis: only background saves
            // stop writes.)
            let _ = std::fs::remove_file(&tmp);
            log::warn!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
                tmp,
                st.cfg.get("dir"),
                crate::util::os_error_text(&e)
            );
            Err(e)
        }
    }
}

/// Loads the RDB file if there is one. Returns the number of keys.
pub fn load(st: &mut State) -> Result<usize, String> {
    load_opts(st, true, false)
}

/// `load`; function libraries are first dropped (`flush_functions`) or
/// kept, and on a name clash replaced (`merge`) or refused.
pub fn load_opts(st: &mut State, flush_functions: bool, merge: bool) -> Result<usize, String> {
    let Some(data) = read_rdb(st)? else {
        return Ok(0);
    };
    for db in st.dbs.iter_mut() {
        db.flush();
    }
    let mut out = Loaded::default();
    let mut dbs = std::mem::take(&mut st.dbs);
    out.result = rdb::load_progress(
        &data,
        &mut dbs,
        crate::util::now_ms(),
        st.cfg.hot.proto_max_bulk_len.max(0) as u64,
        &mut out.libs,
        &mut out.expired,
        &mut |_| {},
    )
    .map_err(|e| e.0);
    st.dbs = dbs;
    install(st, out, flush_functions, merge)
}

/// The RDB file's bytes; None when there is no file.
pub fn read_rdb(st: &State) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(rdb_path(st)) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "Fatal error loading the DB, check server logs. Exiting. ({})",
            crate::util::os_error_text(&e)
        )),
    }
}

/// What a load produced besides the keys.
pub struct Loaded {
    pub result: Result<usize, String>,
    pub libs: Vec<Vec<u8>>,
    pub expired: u64,
}

impl Default for Loaded {
    fn default() -> Self {
        Loaded {
            result: Ok(0),
            libs: Vec::new(),
            expired: 0,
        }
    }
}

/// Bookkeeping after the keys of a load are in `st.dbs`: load stats, no
/// `new` events for loaded keys, function libraries.
pub fn install(
    st: &mut State,
    out: Loaded,
    flush_functions: bool,
    merge: bool,
) -> Result<usize, String> {
    st.bgsave.last_load_expired = out.expired;
    st.bgsave.last_load_loaded = *out.result.as_ref().unwrap_or(&0) as u64;
    st.dbs.iter_mut().for_each(|db| db.new_keys.clear());
    if flush_functions {
        st.scripts.flush_functions();
    }
    crate::commands::scripting::load_libraries(st, &out.libs, merge)?;
    out.result
}
