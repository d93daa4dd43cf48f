//! Persistence: RDB snapshots on disk (SAVE, shutdown, startup load) and
//! the RDB format itself (`rdb`), which is also a full sync's payload.

pub mod rdb;

use crate::server::State;
use std::io::Write;

/// `dir/dbfilename`; `dir` is the working directory (CONFIG SET dir
/// changes it).
pub fn rdb_path(st: &State) -> std::path::PathBuf {
    std::path::PathBuf::from(st.cfg.get("dbfilename"))
}

/// Writes the dataset to the RDB file: a temp file, fsync, then rename,
/// so a crash never leaves a half-written dump in place.
pub fn save(st: &mut State) -> std::io::Result<()> {
    let libs = st.scripts.library_codes();
    let img = rdb::save_with_functions(
        &st.dbs,
        st.cfg.bool("rdbcompression"),
        crate::util::now_ms(),
        &libs,
    );
    let tmp = format!("temp-{}.rdb", std::process::id());
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
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
            let _ = std::fs::remove_file(&tmp);
            st.last_save_ok = false;
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
    let path = rdb_path(st);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(format!(
                "Fatal error loading the DB, check server logs. Exiting. ({})",
                crate::util::os_error_text(&e)
            ));
        }
    };
    for db in st.dbs.iter_mut() {
        db.flush();
    }
    let max = st.cfg.hot.proto_max_bulk_len.max(0) as u64;
    let mut libs = Vec::new();
    let r = rdb::load_with_functions(&data, &mut st.dbs, crate::util::now_ms(), max, &mut libs)
        .map_err(|e| e.0);
    // Loaded keys are not `new` events.
    st.dbs.iter_mut().for_each(|db| db.new_keys.clear());
    if flush_functions {
        st.scripts.flush_functions();
    }
    crate::commands::scripting::load_libraries(st, &libs, merge)?;
    r
}
