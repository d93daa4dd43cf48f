//! Replaying append-only files (Redis's `loadSingleAppendOnlyFile` and
//! `loadAppendOnlyFiles`): an optional RDB part (a `.base.rdb` file, or an
//! old-style AOF's preamble), then commands in RESP form run through the
//! command table by a client of our own.

use super::manifest::Manifest;
use crate::client::Client;
use crate::server::State;
use std::path::Path;

pub type Others = slab::Slab<Option<Box<Client>>>;

/// How loading one file (or all of them) went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loaded {
    Ok,
    NotExist,
    Empty,
    OpenErr,
    Failed,
    Truncated,
}

/// Redis's AOF_ANNOTATION_LINE_MAX_LEN: `fgets` reads at most this - 1.
const LINE_MAX: usize = 1024;

/// Where a parse stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// Input ended before the command was complete.
    Eof,
    /// Not RESP.
    Format,
}

/// `fgets`: up to and including a newline, at most LINE_MAX-1 bytes.
fn line(data: &[u8], pos: &mut usize) -> Option<(usize, usize)> {
    if *pos >= data.len() {
        return None;
    }
    let rest = &data[*pos..];
    let n = match rest.iter().take(LINE_MAX - 1).position(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => rest.len().min(LINE_MAX - 1),
    };
    let start = *pos;
    *pos += n;
    Some((start, start + n))
}

/// C's `atoi`/`strtol` on a line: optional sign, leading digits.
fn leading_int(b: &[u8]) -> i64 {
    let (neg, d) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let mut n: i64 = 0;
    for &c in d.iter().take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if neg { -n } else { n }
}

/// Parses the next command at `pos` (skipping `#` annotations). Ok(None)
/// at a clean end of input. Public, and free of `State`, so the fuzzer
/// (tests/fuzz) can drive the AOF command reader on its own.
pub fn next_command(data: &[u8], pos: &mut usize) -> Result<Option<Vec<Vec<u8>>>, Stop> {
    loop {
        let Some((s, e)) = line(data, pos) else {
            return Ok(None);
        };
        let l = &data[s..e];
        if l[0] == b'#' {
            continue;
        }
        if l[0] != b'*' {
            return Err(Stop::Format);
        }
        if l.len() == 1 {
            return Err(Stop::Eof);
        }
        let argc = leading_int(&l[1..]);
        if argc < 1 {
            return Err(Stop::Format);
        }
        let mut argv = Vec::new();
        for _ in 0..argc {
            let Some((s, e)) = line(data, pos) else {
                return Err(Stop::Eof);
            };
            if data[s] != b'$' {
                return Err(Stop::Format);
            }
            let len = leading_int(&data[s + 1..e]);
            let len = usize::try_from(len).map_err(|_| Stop::Format)?;
            if data.len() - *pos < len {
                return Err(Stop::Eof);
            }
            argv.push(data[*pos..*pos + len].to_vec());
            *pos += len;
            if data.len() - *pos < 2 {
                return Err(Stop::Eof);
            }
            *pos += 2;
        }
        return Ok(Some(argv));
    }
}

/// The client AOF commands run as: authenticated, never blocked, its
/// replies dropped, exempt from the gates a master's commands skip.
fn fake_client() -> Option<Box<Client>> {
    let (a, _b) = mio::net::UnixStream::pair().ok()?;
    let mut c = Box::new(Client::new(
        u64::MAX - 1,
        usize::MAX - 1,
        crate::client::Conn::Unix(a),
        String::new(),
        String::new(),
        true,
        crate::util::now_ms(),
        2,
    ));
    c.authenticated = true;
    c.is_master = true;
    c.user.clear();
    Some(c)
}

/// Replays one file of the AOF directory.
pub fn load_file(st: &mut State, others: &Others, dir: &Path, name: &str) -> Loaded {
    let path = dir.join(name);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log::warn!(
                "The append log file {} doesn't exist: {}",
                name,
                crate::util::os_error_text(&e)
            );
            return Loaded::NotExist;
        }
        Err(e) => {
            log::warn!(
                "Fatal error: can't open the append log file {} for reading: {}",
                name,
                crate::util::os_error_text(&e)
            );
            return Loaded::OpenErr;
        }
    };
    if data.is_empty() {
        return Loaded::Empty;
    }
    let mut pos = 0usize;
    if data.starts_with(b"REDIS") {
        let old_style = name == st.cfg.get("appendfilename");
        if old_style {
            log::info!("Reading RDB preamble from AOF file...");
        } else {
            log::info!("Reading RDB base file on AOF loading...");
        }
        let max = st.cfg.hot.proto_max_bulk_len.max(0) as u64;
        let mut libs = Vec::new();
        let mut expired = 0;
        let r = crate::persist::rdb::load_prefix(
            &data,
            &mut st.dbs,
            crate::util::now_ms(),
            max,
            &mut libs,
            &mut expired,
            &mut |_| {},
        );
        st.dbs.iter_mut().for_each(|db| db.new_keys.clear());
        let r = r.map_err(|e| e.0).and_then(|(_, end)| {
            crate::commands::scripting::load_libraries(st, &libs, true).map(|_| end)
        });
        match r {
            Ok(end) => {
                pos = end;
                if old_style {
                    log::info!("Reading the remaining AOF tail...");
                }
            }
            Err(e) => {
                if old_style {
                    log::warn!(
                        "Error reading the RDB preamble of the AOF file {name}, AOF loading aborted"
                    );
                } else {
                    log::warn!("Error reading the RDB base file {name}, AOF loading aborted");
                }
                log::debug!("RDB error: {e}");
                return Loaded::Failed;
            }
        }
    }
    let truncate_ok = st.cfg.bool("aof-load-truncated");
    let Some(mut c) = fake_client() else {
        log::warn!("Unrecoverable error reading the append only file {name}: no client");
        return Loaded::Failed;
    };
    let mut valid_up_to = pos;
    let mut valid_before_multi = pos;
    let mut key_delay = st.cfg.int("key-load-delay");
    let mut loops = 0u64;
    let mut status = crate::notify::LoadStatus::new("commands");
    let stop = loop {
        // Serve the clients from time to time (startup only: see
        // `Server::load_aof_on_start`); the delay may change meanwhile.
        loops += 1;
        if loops.is_multiple_of(1024) && st.aof.serve_while_loading {
            if let Some(l) = st.loading.as_mut() {
                l.loaded_bytes = l.loaded_bytes.max(pos).min(l.total_bytes);
            }
            crate::server::process_events_while_busy();
            status.update(loops, pos, data.len());
            key_delay = st.cfg.int("key-load-delay");
        }
        match next_command(&data, &mut pos) {
            Ok(None) => {
                if c.multi.is_some() {
                    log::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
                    valid_up_to = valid_before_multi;
                    break Some(Stop::Eof);
                }
                break None;
            }
            Err(s) => break Some(s),
            Ok(Some(argv)) => {
                let Some(spec) = st.commands.get(&argv[0]) else {
                    log::warn!(
                        "Unknown command '{}' reading the append only file {}",
                        String::from_utf8_lossy(&argv[0]),
                        name
                    );
                    return Loaded::Failed;
                };
                if spec.name == "multi" {
                    valid_before_multi = valid_up_to;
                }
                let args = crate::resp::Args::from_iter(argv.iter().map(|a| a.as_slice()));
                crate::command::call::call(st, &mut c, others, &args);
                c.reply.buf.clear();
                c.sent = 0;
                c.blocked = None;
                valid_up_to = pos;
                if key_delay > 0 {
                    std::thread::sleep(std::time::Duration::from_micros(key_delay as u64));
                }
            }
        }
    };
    match stop {
        None => Loaded::Ok,
        Some(Stop::Format) => {
            log::warn!(
                "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
            );
            Loaded::Failed
        }
        Some(Stop::Eof) => {
            if truncate_ok {
                log::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
                log::warn!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!");
                let r = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(valid_up_to as u64));
                match r {
                    Ok(()) => {
                        log::warn!(
                            "AOF {name} loaded anyway because aof-load-truncated is enabled"
                        );
                        return Loaded::Truncated;
                    }
                    Err(e) => log::warn!(
                        "Error truncating the AOF file {}: {}",
                        name,
                        crate::util::os_error_text(&e)
                    ),
                }
            }
            log::warn!(
                "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
            );
            Loaded::Failed
        }
    }
}

fn file_size(dir: &Path, name: &str) -> Result<u64, Loaded> {
    match std::fs::metadata(dir.join(name)) {
        Ok(m) => Ok(m.len()),
        Err(e) => {
            log::warn!(
                "Unable to obtain the AOF file {} length. stat: {}",
                name,
                crate::util::os_error_text(&e)
            );
            Err(if e.kind() == std::io::ErrorKind::NotFound {
                Loaded::NotExist
            } else {
                Loaded::OpenErr
            })
        }
    }
}

/// Replays the files the manifest lists: the base, then the incr files.
/// Returns the outcome with the total and base sizes.
pub fn load_all(st: &mut State, others: &Others, dir: &Path, am: &Manifest) -> (Loaded, u64, u64) {
    if am.base.is_none() && am.incr.is_empty() {
        return (Loaded::NotExist, 0, 0);
    }
    let mut total = 0u64;
    let names: Vec<(&str, bool)> = am
        .base
        .iter()
        .map(|b| (b.name.as_str(), true))
        .chain(am.incr.iter().map(|i| (i.name.as_str(), false)))
        .collect();
    for (n, _) in &names {
        match file_size(dir, n) {
            Ok(s) => total += s,
            Err(Loaded::NotExist) => return (Loaded::Failed, 0, 0),
            Err(e) => return (e, 0, 0),
        }
    }
    if total == 0 {
        return (Loaded::Empty, 0, 0);
    }
    let mut base_size = 0;
    let was_loading = st.loading.replace(crate::server::Loading {
        start_ms: crate::util::now_ms(),
        total_bytes: total as usize,
        loaded_bytes: 0,
    });
    // Replayed commands are not propagated again.
    let replicas = std::mem::take(&mut st.repl.replicas);
    let aof_feed = std::mem::replace(&mut st.repl.aof, false);
    let (offset, stream_db, mark) = (st.repl.offset, st.repl.stream_db, st.repl.out.len());
    let mut ret = Loaded::Ok;
    let count = names.len();
    for (i, (name, is_base)) in names.iter().enumerate() {
        let last = i + 1 == count;
        if *is_base {
            base_size = file_size(dir, name).unwrap_or(0);
        }
        let start = std::time::Instant::now();
        ret = load_file(st, others, dir, name);
        if ret == Loaded::Ok || (ret == Loaded::Truncated && last) {
            log::info!(
                "DB loaded from {} file {}: {:.3} seconds",
                if *is_base { "base" } else { "incr" },
                name,
                start.elapsed().as_secs_f64()
            );
        }
        if ret == Loaded::Empty && !is_base {
            ret = Loaded::Ok;
        }
        if ret == Loaded::Truncated && !last {
            ret = Loaded::Failed;
            log::warn!("Fatal error: the truncated file is not the last file");
        }
        if matches!(ret, Loaded::OpenErr | Loaded::Failed) {
            break;
        }
    }
    st.loading = was_loading;
    st.repl.replicas = replicas;
    // (CONFIG SET appendonly no may have come in meanwhile.)
    st.repl.aof = aof_feed && st.aof.status != super::Status::Off;
    st.repl.offset = offset;
    st.repl.stream_db = stream_db;
    st.repl.truncate(mark);
    (ret, total, base_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(data: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<bool>, usize) {
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            match next_command(data, &mut pos) {
                Ok(Some(c)) => out.push(c),
                Ok(None) => return (out, None, pos),
                Err(Stop::Eof) => return (out, Some(true), pos),
                Err(Stop::Format) => return (out, Some(false), pos),
            }
        }
    }

    #[test]
    fn commands_annotations_and_truncation() {
        let d = b"#TS:1\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPI";
        let (cmds, stop, _) = parse_all(d);
        assert_eq!(cmds, vec![vec![b"GET".to_vec(), b"k".to_vec()]]);
        assert_eq!(stop, Some(true));
        let (_, stop, _) = parse_all(b"*1\r\n$4\r\nPING\r\n!!!");
        assert_eq!(stop, Some(false));
        let (_, stop, _) = parse_all(b"*1\r\n$99999999999\r\nx\r\n");
        assert_eq!(
            stop,
            Some(true),
            "a huge length is a short read, not an allocation"
        );
        let (_, stop, _) = parse_all(b"*");
        assert_eq!(stop, Some(true));
        let (_, stop, _) = parse_all(b"*0\r\n");
        assert_eq!(stop, Some(false));
    }
}
