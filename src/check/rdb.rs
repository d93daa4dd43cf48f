//! `redis-check-rdb FILE`: reads an RDB file with the server's loader
//! (`persist::rdb::load_observed` in check mode: every value decoded and
//! validated deeply, nothing kept) and prints what Redis's checker prints:
//! the AUX fields and databases met, then either `\o/ RDB looks OK! \o/`
//! or an `--- RDB ERROR DETECTED ---` block saying where and what, and the
//! key counts. Exit code 0 for a sane file, 1 otherwise.

use crate::db::{Db, Value};
use crate::persist::rdb::{self, Doing, LoadError, Observer};
use std::io::Write;

/// `redis-check-rdb <rdb-file-name>` (`prog` names the tool in the usage).
pub fn main(prog: &str, args: &[String]) -> i32 {
    if args.len() != 1 {
        eprintln!("Usage: {prog} <rdb-file-name>");
        return 1;
    }
    let file = &args[0];
    if file == "-v" || file == "--version" {
        println!("{}", super::version("redis-check-rdb"));
        return 0;
    }
    println!("[offset 0] Checking RDB file {file}");
    // Redis says no more than this when the file cannot be opened.
    let Ok(data) = std::fs::read(file) else {
        return 1;
    };
    match check(&data) {
        Some(_) => 0,
        None => 1,
    }
}

/// Checks the RDB image at the start of `data`, printing as Redis's
/// checker does (the caller has printed the "Checking" line). Returns
/// where the image ends (an AOF's tail may follow), or None when the
/// image is not sane (the error block has been printed).
pub fn check(data: &[u8]) -> Option<usize> {
    let mut c = Checker {
        doing: Doing::Start,
        key: None,
        // Redis's state starts zeroed: "type 0" until a key is done.
        key_type: Some(0),
        keys: 0,
        expires: 0,
        already_expired: 0,
        subexpires: 0,
        now_ms: crate::util::now_ms(),
    };
    // Shorter than the header: Redis's first read fails.
    if data.len() < 9 {
        c.error(0, "Unexpected EOF reading RDB file");
        return None;
    }
    let mut dbs: Vec<Db> = Vec::new();
    let mut libs = Vec::new();
    match rdb::load_observed(
        data,
        &mut dbs,
        c.now_ms,
        u64::MAX,
        &mut libs,
        &mut 0,
        &mut c,
    ) {
        Ok((_, end)) => {
            line(end, b"\\o/ RDB looks OK! \\o/");
            c.show_info();
            Some(end)
        }
        Err(_) => None,
    }
}

/// What redis-check-rdb tracks while reading (its `rdbstate`).
struct Checker {
    doing: Doing,
    key: Option<Vec<u8>>,
    key_type: Option<u8>,
    keys: u64,
    expires: u64,
    already_expired: u64,
    subexpires: u64,
    now_ms: i64,
}

/// `[offset N] message`, Redis's `rdbCheckInfo`.
fn line(pos: usize, msg: &[u8]) {
    let mut o = std::io::stdout().lock();
    let _ = write!(o, "[offset {pos}] ");
    let _ = o.write_all(msg);
    let _ = o.write_all(b"\n");
}

/// The names Redis's checker gives RDB type bytes (`rdb_type_string`).
const TYPE_NAMES: [&str; 26] = [
    "string",
    "list-linked",
    "set-hashtable",
    "zset-v1",
    "hash-hashtable",
    "zset-v2",
    "module-pre-release",
    "module-value",
    "",
    "hash-zipmap",
    "list-ziplist",
    "set-intset",
    "zset-ziplist",
    "hash-ziplist",
    "quicklist",
    "stream",
    "hash-listpack",
    "zset-listpack",
    "quicklist-v2",
    "stream-v2",
    "set-listpack",
    "stream-v3",
    "hash-hashtable-md-pre-release",
    "hash-listpack-md-pre-release",
    "hash-hashtable-md",
    "hash-listpack-md",
];

/// Where Redis 8.0's rdb.c reports the errors our loader words alike,
/// so the checker's line matches the C tool's.
const REPORT_LINES: &[(&str, u32)] = &[
    ("Unknown length encoding", 229),
    ("Invalid LZF compressed string", 419),
    ("Unknown RDB string encoding type", 540),
    ("Zset with NAN score detected", 2118),
    ("Duplicate zset fields detected", 2130),
    ("Hash failed loading minExpire", 2286),
    ("Hash read invalid minExpire value", 2290),
    ("invalid expireAt time", 2338),
    ("Quicklist integrity check failed.", 2454),
    ("Listpack integrity check failed.", 2477),
    ("Ziplist integrity check failed.", 2487),
    ("Zipmap integrity check failed.", 2554),
    ("List ziplist integrity check failed.", 2612),
    ("Intset integrity check failed.", 2637),
    ("Set listpack integrity check failed.", 2651),
    ("Zset ziplist integrity check failed.", 2673),
    ("Zset listpack integrity check failed.", 2699),
    ("Hash ziplist integrity check failed.", 2719),
    ("Hash listpack integrity check failed.", 2765),
    ("Stream listpack integrity check failed.", 2830),
    ("Duplicate stream consumer detected.", 3012),
];

fn doing_name(d: Doing) -> &'static str {
    match d {
        Doing::Start => "start",
        Doing::ReadType => "read-type",
        Doing::ReadExpire => "read-expire",
        Doing::ReadKey => "read-key",
        Doing::ReadObjectValue => "read-object-value",
        Doing::CheckSum => "check-sum",
        Doing::ReadLen => "read-len",
        Doing::ReadAux => "read-aux",
        Doing::ReadModuleAux => "read-module-aux",
        Doing::ReadFunctions => "read-functions",
    }
}

impl Checker {
    fn show_info(&self) {
        println!("[info] {} keys read", self.keys);
        println!("[info] {} expires", self.expires);
        println!("[info] {} already expired", self.already_expired);
        println!("[info] {} subexpires", self.subexpires);
    }

    /// Redis's `rdbCheckError`: the error block, then the counts.
    fn error(&self, pos: usize, msg: &str) {
        println!("--- RDB ERROR DETECTED ---");
        line(pos, msg.as_bytes());
        println!("[additional info] While doing: {}", doing_name(self.doing));
        let mut o = std::io::stdout().lock();
        if let Some(k) = &self.key {
            let _ = o.write_all(b"[additional info] Reading key '");
            let _ = o.write_all(super::c_str(k));
            let _ = o.write_all(b"'\n");
        }
        if let Some(t) = self.key_type {
            let name = TYPE_NAMES.get(t as usize).copied().unwrap_or("unknown");
            let _ = writeln!(o, "[additional info] Reading type {t} ({name})");
        }
        drop(o);
        self.show_info();
    }
}

impl Observer for Checker {
    fn check_only(&self) -> bool {
        true
    }

    fn doing(&mut self, d: Doing) {
        self.doing = d;
    }

    fn aux(&mut self, pos: usize, key: &[u8], val: &[u8]) {
        let mut m = b"AUX FIELD ".to_vec();
        m.extend_from_slice(super::c_str(key));
        m.extend_from_slice(b" = '");
        m.extend_from_slice(super::c_str(val));
        m.push(b'\'');
        line(pos, &m);
    }

    fn select_db(&mut self, pos: usize, id: u64) {
        line(pos, format!("Selecting DB ID {id}").as_bytes());
    }

    fn key(&mut self, t: u8, key: Option<&[u8]>) {
        self.key_type = Some(t);
        if let Some(k) = key {
            self.key = Some(k.to_vec());
            self.keys += 1;
        }
    }

    fn value(&mut self, v: &Value, expire: Option<i64>) {
        if let Some(when) = expire {
            self.expires += 1;
            if when < self.now_ms {
                self.already_expired += 1;
            }
        }
        if matches!(v, Value::Hash(h) if h.has_ttls()) {
            self.subexpires += 1;
        }
        self.key = None;
        self.key_type = None;
    }

    fn checksum(&mut self, pos: usize, stored: u64, computed: u64) {
        if stored == 0 {
            line(
                pos,
                b"RDB file was saved with checksum disabled: no check performed.",
            );
        } else if stored == computed {
            line(pos, b"Checksum OK");
        }
    }

    fn failed(&mut self, pos: usize, e: &LoadError) {
        let msg = e.0.as_str();
        let msg = if msg == "unexpected end of file" {
            "Unexpected EOF reading RDB file".to_string()
        } else if msg == "wrong signature trying to load DB from file" {
            "Wrong signature trying to load DB from file".to_string()
        } else if let Some(t) = msg.strip_prefix("Unknown RDB encoding type ") {
            format!("Invalid object type: {t}")
        } else if msg == "RDB CRC error"
            || msg.starts_with("Can't handle RDB format version")
            || msg.starts_with("Pre-release function format")
        {
            msg.to_string()
        } else {
            // A corrupt value: Redis's rdbReportError wording (the server
            // logs it too), then its log line, and the tool exits.
            let line = REPORT_LINES
                .iter()
                .find(|(m, _)| msg.starts_with(m))
                .map_or(0, |&(_, l)| l);
            let m = format!(
                "Internal error in RDB reading offset 0, function at rdb.c:{line} -> {msg}"
            );
            self.error(pos, &m);
            log::warn!("Terminating server after rdb file reading failure.");
            return;
        };
        self.error(pos, &msg);
    }
}
