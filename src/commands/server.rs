//! Server commands: DEBUG, MEMORY, MODULE, SLOWLOG, FLUSHALL/FLUSHDB,
//! DBSIZE, TIME, SAVE/BGSAVE, SHUTDOWN, MONITOR.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, container};
use crate::resp::{Args, ReplyBuf};
use crate::util::eq_ic;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "flushall",
        -1,
        WRITE,
        NO_KEYS,
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        flushall,
    ),
    cmd(
        "flushdb",
        -1,
        WRITE,
        NO_KEYS,
        "server",
        "1.0.0",
        "Remove all keys from the current database.",
        flushdb,
    ),
    cmd(
        "dbsize",
        1,
        READONLY | FAST,
        NO_KEYS,
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        dbsize,
    ),
    cmd(
        "time",
        1,
        LOADING | STALE | FAST,
        NO_KEYS,
        "server",
        "2.6.0",
        "Returns the server time.",
        time,
    ),
    cmd(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
        NO_KEYS,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        shutdown,
    ),
    cmd(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        NO_KEYS,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        save,
    ),
    cmd(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        NO_KEYS,
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        bgsave,
    ),
    cmd(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        NO_KEYS,
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk.",
        crate::persist::aof::bgrewriteaof,
    ),
    cmd(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        NO_KEYS,
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        lastsave,
    ),
    cmd(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "server",
        "1.0.0",
        "Listens for all requests received by the server in real-time.",
        monitor,
    ),
    cmd(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED,
        NO_KEYS,
        "server",
        "1.0.0",
        "A container for debugging commands.",
        debug,
    ),
    container(
        "memory",
        "server",
        "4.0.0",
        "A container for memory diagnostics commands.",
        MEMORY,
    ),
    container(
        "slowlog",
        "server",
        "2.2.12",
        "A container for slow log commands.",
        SLOWLOG,
    ),
    container(
        "module",
        "server",
        "4.0.0",
        "A container for module commands.",
        MODULE,
    ),
];

// No module API: nothing is loaded, and loading fails as it would for a
// file that is not a module.
static MODULE: &[CommandSpec] = &[
    cmd(
        "list",
        2,
        ADMIN | NOSCRIPT,
        NO_KEYS,
        "server",
        "4.0.0",
        "Returns all loaded modules.",
        module_list,
    ),
    cmd(
        "load",
        -3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | PROTECTED,
        NO_KEYS,
        "server",
        "4.0.0",
        "Loads a module.",
        module_load,
    ),
    cmd(
        "loadex",
        -3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | PROTECTED,
        NO_KEYS,
        "server",
        "7.0.0",
        "Loads a module using extended parameters.",
        module_load,
    ),
    cmd(
        "unload",
        3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | PROTECTED,
        NO_KEYS,
        "server",
        "4.0.0",
        "Unloads a module.",
        module_unload,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        module_help,
    ),
];

fn module_list(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.c.reply.array(0);
    Ok(())
}

fn module_load(_ctx: &mut Ctx, args: &Args) -> CmdResult {
    log::warn!(
        "Module {} failed to load: modules are not supported by this server",
        String::from_utf8_lossy(&args[2])
    );
    Err(CmdError::msg(
        "ERR Error loading the extension. Please check the server logs.",
    ))
}

fn module_unload(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    Err(CmdError::msg(
        "ERR Error unloading module: no such module with that name",
    ))
}

/// MODULE HELP
fn module_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
    ];
    crate::commands::introspection::reply_help(&mut ctx.c.reply, "MODULE", HELP);
    Ok(())
}

static SLOWLOG: &[CommandSpec] = &[
    cmd(
        "get",
        -2,
        ADMIN | LOADING | STALE,
        NO_KEYS,
        "server",
        "2.2.12",
        "Returns the slow log's entries.",
        slowlog_get,
    ),
    cmd(
        "len",
        2,
        ADMIN | LOADING | STALE,
        NO_KEYS,
        "server",
        "2.2.12",
        "Returns the number of entries in the slow log.",
        slowlog_len,
    ),
    cmd(
        "reset",
        2,
        ADMIN | LOADING | STALE,
        NO_KEYS,
        "server",
        "2.2.12",
        "Clears all entries from the slow log.",
        slowlog_reset,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "6.2.0",
        "Show helpful text about the different subcommands",
        slowlog_help,
    ),
];

/// SLOWLOG GET [count]: the newest `count` entries (10; -1 for all).
fn slowlog_get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = if args.len() > 2 {
        let n = args.i64_at(2)?;
        if n < -1 {
            return Err(CmdError::msg(
                "ERR count should be greater than or equal to -1",
            ));
        }
        if n == -1 { usize::MAX } else { n as usize }
    } else {
        10
    };
    let log = &ctx.st.slowlog.entries;
    let r = &mut ctx.c.reply;
    r.array(count.min(log.len()));
    for e in log.iter().take(count) {
        r.array(6);
        r.int(e.id as i64);
        r.int(e.time);
        r.int(e.micros as i64);
        r.array(e.args.len());
        for a in &e.args {
            r.bulk(a);
        }
        r.bulk(e.addr.as_bytes());
        r.bulk(&e.name);
    }
    Ok(())
}

/// SLOWLOG LEN
fn slowlog_len(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = ctx.st.slowlog.entries.len() as i64;
    ctx.c.reply.int(n);
    Ok(())
}

/// SLOWLOG RESET
fn slowlog_reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.st.slowlog.entries.clear();
    ctx.ok()
}

/// SLOWLOG HELP
fn slowlog_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ];
    crate::commands::introspection::reply_help(&mut ctx.c.reply, "SLOWLOG", HELP);
    Ok(())
}

/// FLUSHALL [ASYNC | SYNC]
pub fn flushall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lazy = flush_lazily(ctx, args)?;
    let keys: usize = ctx.st.dbs.iter().map(|d| d.len()).sum();
    // A running AOF rewrite keeps its point-in-time view: the FLUSHALL
    // goes to the new INCR file after it.
    crate::persist::aof::before_dataset_change(ctx.st);
    ctx.st.flushall_as(lazy);
    ctx.st.dirty += keys as u64;
    // As Redis: a running background save is cancelled, and with save
    // rules configured the empty dataset is saved right away.
    // (A save killed this way is not a failed save: Redis kills its child
    // with SIGUSR1, which leaves rdb_last_bgsave_status alone.) A running
    // AOF rewrite was finished above instead.
    let rdb_save =
        ctx.st.snapshot.as_ref().map(|s| s.purpose) == Some(crate::persist::snapshot::Purpose::Rdb);
    if rdb_save && crate::persist::snapshot::abort(ctx.st).is_some() {
        log::warn!("Background saving terminated by FLUSHALL");
    }
    if !ctx.st.cfg.get("save").is_empty() {
        let _ = crate::persist::save(ctx.st);
    }
    // Propagated even when nothing was flushed or the save reset `dirty`.
    ctx.propagate_as(args.iter().map(|a| a.to_vec()).collect());
    ctx.ok()
}

/// Whether a FLUSHALL/FLUSHDB frees lazily (db/lazyfree.rs): with ASYNC,
/// or lazyfree-lazy-user-flush and no option; and, as Redis 8 runs a SYNC
/// flush as a blocking ASYNC one, always but inside MULTI or a script
/// and for our master's stream.
fn flush_lazily(ctx: &Ctx, args: &Args) -> Result<bool, CmdError> {
    let asked = match args.len() {
        1 => ctx.st.cfg.hot.lazyfree_user_flush,
        2 if eq_ic(&args[1], "async") => true,
        2 if eq_ic(&args[1], "sync") => false,
        _ => return Err(CmdError::Syntax),
    };
    Ok(asked || !(ctx.st.in_exec || ctx.c.is_master))
}

/// FLUSHDB [ASYNC | SYNC]
pub fn flushdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lazy = flush_lazily(ctx, args)?;
    let db = ctx.c.db;
    // A running save still needs what the database held.
    crate::persist::snapshot::finish_now(ctx.st);
    ctx.st.touch_watched_in_db(db, None);
    let keys = ctx.db().len() as u64;
    if lazy {
        let doomed = ctx.db().take_keys();
        ctx.st.lazyfree.keyspace(doomed);
    } else {
        ctx.db().flush();
    }
    ctx.st.tracking.flush();
    ctx.st.dirty += keys;
    ctx.propagate_as(args.iter().map(|a| a.to_vec()).collect());
    ctx.ok()
}

/// DBSIZE
pub fn dbsize(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = ctx.db().len() as i64;
    ctx.c.reply.int(n);
    Ok(())
}

/// TIME
pub fn time(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    // Time stands still while a script runs, as in Redis.
    let us = if crate::script::is_script_client(ctx.c) {
        ctx.st.scripts.start_us
    } else {
        crate::util::now_us()
    };
    let r = &mut ctx.c.reply;
    r.array(2);
    r.bulk(format!("{}", us / 1_000_000).as_bytes());
    r.bulk(format!("{}", us % 1_000_000).as_bytes());
    Ok(())
}

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
pub fn shutdown(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut f = crate::server::ShutdownFlags::default();
    for a in args.iter().skip(1) {
        if eq_ic(a, "nosave") {
            f.nosave = true;
        } else if eq_ic(a, "save") {
            f.save = true;
        } else if eq_ic(a, "now") {
            f.now = true;
        } else if eq_ic(a, "force") {
            f.force = true;
        } else if eq_ic(a, "abort") {
            if args.len() != 2 || ctx.st.shutdown_asap.take().is_none() {
                return Err(CmdError::msg("ERR No shutdown in progress."));
            }
            log::warn!("Shutdown manually aborted.");
            return ctx.ok();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if f.nosave && f.save {
        return Err(CmdError::Syntax);
    }
    f.client = Some(ctx.c.token);
    ctx.st.shutdown = Some(f);
    Ok(())
}

/// SAVE
pub fn save(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx
        .st
        .snapshot
        .as_ref()
        .is_some_and(|s| s.purpose == crate::persist::snapshot::Purpose::Rdb)
    {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    match crate::persist::save(ctx.st) {
        Ok(()) => ctx.ok(),
        Err(_) => Err(CmdError::msg("ERR")),
    }
}

/// BGSAVE [SCHEDULE]
pub fn bgsave(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if eq_ic(&args[1], "schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    let running = ctx.st.snapshot.as_ref().map(|s| s.purpose);
    if schedule && running == Some(crate::persist::snapshot::Purpose::AofBase) {
        ctx.st.bgsave.scheduled = true;
        ctx.c.reply.simple("Background saving scheduled");
        return Ok(());
    }
    if let Some(e) = crate::persist::bgsave_refusal(ctx.st) {
        return Err(CmdError::msg(e));
    }
    match crate::persist::bgsave(ctx.st) {
        Ok(()) => {
            ctx.c.reply.simple("Background saving started");
            Ok(())
        }
        Err(_) => Err(CmdError::msg("ERR")),
    }
}

/// LASTSAVE
pub fn lastsave(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.c.reply.int(ctx.st.lastsave);
    Ok(())
}

/// MONITOR: from now on the client receives every command the server runs.
pub fn monitor(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.c.monitor {
        return Ok(());
    }
    ctx.c.monitor = true;
    ctx.st.monitors.push(ctx.c.token);
    ctx.ok()
}

/// Whether argument `i` of a command fed to MONITOR or the slow log must
/// be shown as `(redacted)`: passwords of AUTH, HELLO ... AUTH and
/// MIGRATE ... AUTH/AUTH2, and the values CONFIG SET gives sensitive
/// parameters.
pub fn monitor_redacted(args: &Args, i: usize) -> bool {
    if args.is_empty() || i == 0 {
        return false;
    }
    let name = &args[0];
    if eq_ic(name, "auth") {
        return true;
    }
    if eq_ic(name, "config") && args.len() > 1 && eq_ic(&args[1], "set") {
        const SENSITIVE: &[&str] = &[
            "masteruser",
            "masterauth",
            "requirepass",
            "tls-key-file-pass",
            "tls-client-key-file-pass",
        ];
        return i >= 3 && i % 2 == 1 && SENSITIVE.iter().any(|p| eq_ic(&args[i - 1], p));
    }
    // ACL SETUSER, DELUSER and GETUSER hide user names and rules.
    if eq_ic(name, "acl") && args.len() > 1 {
        let sub = &args[1];
        return i >= 2 && (eq_ic(sub, "setuser") || eq_ic(sub, "deluser") || eq_ic(sub, "getuser"));
    }
    let after = |kw: &str, n: usize| (1..i).any(|k| eq_ic(&args[k], kw) && i > k && i <= k + n);
    if eq_ic(name, "hello") {
        return after("auth", 2);
    }
    if eq_ic(name, "migrate") {
        return after("auth", 1) || after("auth2", 2);
    }
    false
}

/// SHA-1 (FIPS 180-1), for DEBUG DIGEST.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for t in 0..16 {
            w[t] = u32::from_be_bytes([
                chunk[4 * t],
                chunk[4 * t + 1],
                chunk[4 * t + 2],
                chunk[4 * t + 3],
            ]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (t, wt) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let tmp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wt);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = tmp;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// `mixDigest`: digest = SHA1(digest xor data).
fn mix_digest(d: &mut [u8; 20], data: &[u8]) {
    xor_digest(d, data);
    *d = sha1(d);
}

fn xor_digest(d: &mut [u8; 20], data: &[u8]) {
    let h = sha1(data);
    for (a, b) in d.iter_mut().zip(h) {
        *a ^= b;
    }
}

/// The digest of one value, after `xorObjectDigest`: ordered types mix
/// their elements in order.
fn value_digest(v: &crate::db::Value) -> [u8; 20] {
    use crate::db::Value;
    let mut d = [0u8; 20];
    match v {
        Value::Str(s) => {
            let mut tmp = [0u8; 20];
            mix_digest(&mut d, s.bytes(&mut tmp));
        }
        Value::List(l) => {
            for e in l.iter() {
                mix_digest(&mut d, e);
            }
        }
        Value::ZSet(z) => {
            // Unordered, as Redis: each member's (member, score) digest is
            // xored in.
            z.for_range(0, z.len(), false, |e, s| {
                let mut ed = [0u8; 20];
                mix_digest(&mut ed, e);
                mix_digest(&mut ed, crate::util::fmt_double(s).as_bytes());
                for (a, b) in d.iter_mut().zip(ed) {
                    *a ^= b;
                }
                true
            });
        }
        // What the stream holds, not how its nodes are packed (saving
        // drops deleted entries and repacks): live entries, IDs and
        // counters, and each group's position, PEL and consumers.
        Value::Stream(x) => {
            use crate::types::stream::StreamId;
            for (id, fields) in x.range(StreamId::MIN, StreamId::MAX, false, 0) {
                mix_digest(&mut d, &id.to_bytes());
                for f in fields {
                    mix_digest(&mut d, f);
                }
            }
            let ids = [x.last_id, x.first_id, x.max_deleted_id];
            for id in ids {
                mix_digest(&mut d, &id.to_bytes());
            }
            mix_digest(&mut d, &x.entries_added.to_le_bytes());
            for (name, g) in &x.groups {
                mix_digest(&mut d, name);
                mix_digest(&mut d, &g.last_id.to_bytes());
                mix_digest(&mut d, &g.entries_read.to_le_bytes());
                for (id, n) in &g.pel {
                    mix_digest(&mut d, &id.to_bytes());
                    mix_digest(&mut d, &n.consumer);
                    mix_digest(&mut d, &n.delivery_count.to_le_bytes());
                }
                for cname in g.consumers.keys() {
                    mix_digest(&mut d, cname);
                }
            }
        }
        #[allow(unreachable_patterns)]
        other => mix_digest(&mut d, format!("{other:?}").as_bytes()),
    }
    d
}

/// The digest of one key: its value mixed with the key name, type and
/// expire, as `xorObjectDigest` + `computeDatasetDigest` do.
fn key_digest(db: &crate::db::Db, key: &[u8], o: &crate::db::Obj) -> [u8; 20] {
    let mut d = [0u8; 20];
    mix_digest(&mut d, key);
    let vd = value_digest(&o.v);
    mix_digest(&mut d, o.v.type_name().as_bytes());
    mix_digest(&mut d, &vd);
    if let Some(t) = db.get_expire(key) {
        mix_digest(&mut d, b"!!expire!!");
        mix_digest(&mut d, t.to_string().as_bytes());
    }
    d
}

fn hex(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// `computeDatasetDigest`: all zeroes for an empty dataset.
fn dataset_digest(st: &crate::server::State) -> [u8; 20] {
    let mut final_d = [0u8; 20];
    for db in &st.dbs {
        if db.is_empty() {
            continue;
        }
        let mut dbd = [0u8; 20];
        mix_digest(&mut dbd, &(db.id as u32).to_le_bytes());
        for (k, o) in db.keys.iter() {
            let kd = key_digest(db, k, o);
            for (a, b) in dbd.iter_mut().zip(kd) {
                *a ^= b;
            }
        }
        for (a, b) in final_d.iter_mut().zip(dbd) {
            *a ^= b;
        }
    }
    final_d
}

const DEBUG_HELP: &[&str] = &[
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "DICT-RESIZING <0|1>",
    "    Enable or disable the main dict and expire dict resizing.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid> [full]",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key> [full]",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "OBJECT <key>",
    "    Show low level info about the <key> and associated value.",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
];

fn debug_syntax(args: &Args) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
        String::from_utf8_lossy(&args[1])
    ))
}

/// `atoi`: leading integer, 0 when there is none.
fn atoi(a: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(a);
    let t = s.trim_start();
    let end = t
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    t[..end].parse().unwrap_or(0)
}

/// DEBUG subcommand [args...]
/// What a crash report shows of the server and of the client whose
/// command crashed it: INFO, CLIENT LIST and the command's arguments
/// (only the name with `hide-user-data-from-log`).
fn crash_context(ctx: &mut Ctx, args: &Args, assertion: bool) -> String {
    use crate::commands::introspection::{Selection, client_facts, gen_info};
    let hide = ctx.st.cfg.bool("hide-user-data-from-log");
    let facts = client_facts(ctx);
    let info = gen_info(
        ctx.st,
        &facts,
        &Selection::parse([b"all".as_slice()].into_iter()),
    )
    .replace("\r\n", "\n");
    let now = ctx.now();
    let mut s = format!("\n------ INFO OUTPUT ------\n{info}\n------ CLIENT LIST OUTPUT ------\n");
    for c in ctx.others.iter().filter_map(|(_, c)| c.as_deref()) {
        s.push_str(&c.info_line(now));
        s.push('\n');
    }
    s.push_str(&ctx.c.info_line(now));
    s.push_str("\n\n------ CURRENT CLIENT INFO ------\n");
    for (i, a) in args.iter().enumerate() {
        let a = if hide && i > 0 {
            "*redacted*".into()
        } else {
            String::from_utf8_lossy(a)
        };
        if assertion {
            s.push_str(&format!("client->argv[{i}] = \"{a}\" (refcount: 1)\n"));
        } else {
            s.push_str(&format!("argv[{i}]: '\"{a}\"'\n"));
        }
    }
    s
}

pub fn debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let argc = args.len();
    match sub.as_str() {
        "help" if argc == 2 => {
            crate::commands::introspection::reply_help(&mut ctx.c.reply, "DEBUG", DEBUG_HELP);
            Ok(())
        }
        "listpack" if argc == 3 => {
            let enc = match ctx.lookup_write(&args[2]) {
                None => return Err(CmdError::NoSuchKey),
                Some(o) => o.v.encoding(),
            };
            if !enc.starts_with("listpack") {
                return Err(CmdError::msg("ERR Not a listpack encoded object."));
            }
            ctx.c.reply.simple("Listpack structure printed on stdout");
            Ok(())
        }
        "internal_secret" if argc == 2 => {
            crate::commands::cluster::debug_internal_secret(ctx.st, &mut ctx.c.reply);
            Ok(())
        }
        "set-active-expire" if argc == 3 => {
            ctx.st.active_expire = atoi(&args[2]) != 0;
            ctx.ok()
        }
        "sleep" if argc == 3 => {
            let secs = crate::util::parse_f64(&args[2]).unwrap_or(0.0);
            if secs > 0.0 && secs.is_finite() {
                std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(1e6)));
            }
            ctx.ok()
        }
        "pause-cron" if argc == 3 => {
            ctx.st.cron_paused = atoi(&args[2]) != 0;
            ctx.ok()
        }
        "dict-resizing" if argc == 3 => {
            let on = atoi(&args[2]) != 0;
            for db in &mut ctx.st.dbs {
                db.set_resize_allowed(on);
            }
            ctx.ok()
        }
        "log" if argc == 3 => {
            log::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
            ctx.ok()
        }
        "error" if argc == 3 => {
            let msg: String = String::from_utf8_lossy(&args[2])
                .chars()
                .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
                .collect();
            ctx.c.reply.error(&format!("-{msg}"));
            Ok(())
        }
        "change-repl-id" if argc == 2 => {
            log::info!("Changing replication IDs after receiving DEBUG change-repl-id");
            ctx.st.run_id = crate::server::random_hex(40);
            ctx.ok()
        }
        "config-rewrite-force-all" if argc == 2 => {
            crate::commands::config::rewrite_or_reply(ctx, true, "CONFIG-REWRITE-FORCE-ALL failed")
        }
        "stringmatch-test" if argc == 2 => {
            ctx.c
                .reply
                .simple("Apparently Redis did not crash: test passed");
            Ok(())
        }
        "structsize" if argc == 2 => {
            ctx.c.reply.bulk_str(
                "bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 ",
            );
            Ok(())
        }
        "quicklist-packed-threshold" if argc == 3 => {
            let ok = crate::util::parse_memory(&args.str_at(2))
                .is_some_and(|n| n >= 0 && crate::types::list::set_packed_threshold(n as u64));
            if !ok {
                return Err(CmdError::msg(
                    "ERR argument must be a memory value bigger than 1 and smaller than 4gb",
                ));
            }
            ctx.ok()
        }
        "set-skip-checksum-validation" if argc == 3 => {
            crate::persist::rdb::set_skip_checksum_validation(atoi(&args[2]) != 0);
            ctx.ok()
        }
        "aof-flush-sleep" if argc == 3 => ctx.ok(),
        "replybuffer" if argc == 4 => {
            if eq_ic(&args[2], "peak-reset-time") {
                ctx.st.reply_peak_reset_ms = if eq_ic(&args[3], "never") {
                    -1
                } else if eq_ic(&args[3], "reset") {
                    crate::server::REPLY_PEAK_RESET_MS
                } else {
                    crate::util::parse_i64(&args[3]).ok_or(CmdError::NotInteger)?
                };
            } else if eq_ic(&args[2], "resizing") {
                ctx.st.reply_resizing = atoi(&args[3]) != 0;
            } else {
                return Err(CmdError::msg(format!(
                    "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                    String::from_utf8_lossy(&args[1])
                )));
            }
            ctx.ok()
        }
        "object" if argc == 3 => {
            let db = ctx.c.db;
            let Some(o) = ctx.st.dbs[db].keys.get(&args[2]) else {
                return Err(CmdError::NoSuchKey);
            };
            let mut line = format!(
                "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                o as *const _,
                o.v.encoding(),
                o.v.mem_usage(),
                o.lru,
                crate::db::value::idle_seconds(o.lru)
            );
            if let Ok(Some(extra)) = o.v.as_list().map(|l| l.debug_quicklist()) {
                line.push_str(&extra);
            }
            ctx.c.reply.simple(&line);
            Ok(())
        }
        "populate" if (3..=5).contains(&argc) => {
            let count = args
                .i64_at(2)
                .ok()
                .filter(|&n| n >= 0)
                .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))?;
            let size =
                if argc == 5 {
                    args.i64_at(4).ok().filter(|&n| n >= 0).ok_or_else(|| {
                        CmdError::msg("ERR value is out of range, must be positive")
                    })? as usize
                } else {
                    0
                };
            // Redis aborts on a size it cannot allocate; no value may pass
            // the bulk limit anyway.
            if size as i64 > ctx.st.cfg.hot.proto_max_bulk_len {
                return Err(CmdError::msg(
                    "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
                ));
            }
            let prefix = if argc >= 4 {
                args[3].to_vec()
            } else {
                b"key".to_vec()
            };
            let db = ctx.c.db;
            for j in 0..count {
                let mut key = prefix.clone();
                key.push(b':');
                key.extend_from_slice(j.to_string().as_bytes());
                if ctx.st.lookup(db, &key, false, false).is_some() {
                    continue;
                }
                let mut val = format!("value:{j}").into_bytes();
                if size > 0 {
                    val.resize(size, 0);
                }
                let v = crate::db::Value::Str(crate::db::value::Str::from_bytes(&val));
                ctx.st.dbs[db].add(&key, v);
                ctx.st.key_modified(db, &key);
            }
            ctx.ok()
        }
        "digest" if argc == 2 => {
            let d = dataset_digest(ctx.st);
            ctx.c.reply.simple(&hex(&d));
            Ok(())
        }
        "digest-value" => {
            let db = &ctx.st.dbs[ctx.c.db];
            let ds: Vec<[u8; 20]> = args
                .iter()
                .skip(2)
                .map(|k| {
                    db.keys
                        .get(k)
                        .map(|o| value_digest(&o.v))
                        .unwrap_or([0; 20])
                })
                .collect();
            let r = &mut ctx.c.reply;
            r.array(ds.len());
            for d in ds {
                r.simple(&hex(&d));
            }
            Ok(())
        }
        "htstats" if argc >= 3 => {
            let id = args.i64_at(2)?;
            if id < 0 || id as usize >= ctx.st.dbs.len() {
                return Err(CmdError::msg("ERR Out of range database"));
            }
            let db = &ctx.st.dbs[id as usize];
            let mut s = String::from("[Dictionary HT]\n");
            if !db.keys.is_empty() {
                s.push_str(&db.keys.stats());
            }
            s.push_str("[Expires HT]\n");
            if !db.expires.is_empty() {
                s.push_str(&db.expires.stats());
            }
            ctx.c.reply.verbatim(s.as_bytes(), "txt");
            Ok(())
        }
        "htstats-key" if argc >= 3 => {
            let db = ctx.c.db;
            if !ctx.st.dbs[db].keys.contains(&args[2]) {
                return Err(CmdError::NoSuchKey);
            }
            Err(CmdError::msg(
                "ERR The value stored at the specified key is not represented using an hash table",
            ))
        }
        "segfault" => {
            crate::crash::set_context(crash_context(ctx, args, false));
            crate::crash::segfault()
        }
        "assert" => {
            crate::crash::set_context(crash_context(ctx, args, true));
            crate::crash::assertion_failed(file!(), line!(), "1 == 2")
        }
        "keysizes-check" => {
            for db in &ctx.st.dbs {
                crate::db::keysizes::check(db).map_err(|e| CmdError::Msg(format!("ERR {e}")))?;
            }
            ctx.ok()
        }
        "protocol" if argc == 3 => debug_protocol(ctx, &args[2]),
        "set-disable-deny-scripts" if argc == 3 => {
            ctx.st.scripts.disable_deny = ctx.st.scripts.disable_deny_arg(&args[2]);
            ctx.ok()
        }
        "reload" => debug_reload(ctx, args),
        "loadaof" => crate::persist::aof::debug_loadaof(ctx),
        "aof-flush-sleep" if argc == 3 => {
            ctx.st.aof.flush_sleep_us = args.str_at(2).trim().parse().unwrap_or(0);
            ctx.ok()
        }
        _ => Err(debug_syntax(args)),
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the RDB, empty the
/// dataset and load the file back, as a restart would.
fn debug_reload(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut flush, mut save, mut merge) = (true, true, false);
    for a in args.iter().skip(2) {
        if eq_ic(a, "noflush") || eq_ic(a, "merge") {
            flush = false;
            merge |= eq_ic(a, "merge");
        } else if eq_ic(a, "nosave") {
            save = false;
        } else {
            return Err(CmdError::msg(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    crate::persist::snapshot::finish_now(ctx.st);
    if save && crate::persist::save(ctx.st).is_err() {
        return Err(CmdError::msg("ERR Error trying to save the DB"));
    }
    let now = crate::util::now_ms();
    ctx.st.now_ms = now;
    crate::util::set_cached_ms(now);
    // A supervisor sees the dataset go away and come back.
    crate::notify::reloading();
    let r = crate::persist::load_opts(ctx.st, flush, merge);
    crate::notify::ready(ctx.st.is_replica);
    match r {
        Ok(n) => {
            log::info!("DB reloaded by DEBUG RELOAD ({n} keys)");
            ctx.ok()
        }
        Err(e) => {
            log::warn!("Error loading the RDB in DEBUG RELOAD: {e}");
            Err(CmdError::msg(
                "ERR Error trying to load the RDB dump, check server logs.",
            ))
        }
    }
}

/// DEBUG PROTOCOL type: one test value of each reply type.
fn debug_protocol(ctx: &mut Ctx, name: &[u8]) -> CmdResult {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let r = &mut ctx.c.reply;
    match name.as_str() {
        "string" => r.bulk_str("Hello World"),
        "integer" => r.int(12345),
        // The value Redis itself sends for DEBUG PROTOCOL double.
        #[allow(clippy::approx_constant)]
        "double" => r.double(3.141),
        "bignum" => r.bignum("1234567999999999999999999999999999999"),
        "null" => r.null(),
        "array" => {
            r.array(3);
            (0..3).for_each(|j| r.int(j));
        }
        "set" => {
            r.set(3);
            (0..3).for_each(|j| r.int(j));
        }
        "map" => {
            r.map(3);
            for j in 0..3 {
                r.int(j);
                r.boolean(j == 1);
            }
        }
        "attrib" => {
            if r.resp >= 3 {
                r.raw(b"|1\r\n");
                r.bulk_str("key-popularity");
                r.array(2);
                r.bulk_str("key:123");
                r.int(90);
            }
            r.bulk_str("Some real reply following the attribute");
        }
        "push" => {
            if r.resp < 3 {
                return Err(CmdError::msg("ERR RESP2 is not supported by this command"));
            }
            r.push(2);
            r.bulk_str("server-cpu-usage");
            r.int(42);
            r.bulk_str("Some real reply following the push reply");
        }
        "true" => r.boolean(true),
        "false" => r.boolean(false),
        "verbatim" => r.verbatim(b"This is a verbatim\nstring", "txt"),
        _ => {
            return Err(CmdError::msg(
                "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ));
        }
    }
    Ok(())
}

static MEMORY: &[CommandSpec] = &[
    cmd(
        "usage",
        -3,
        READONLY,
        crate::command::keys(2, 2, 1),
        "server",
        "4.0.0",
        "Estimates the memory usage of a key.",
        memory_usage,
    ),
    cmd(
        "stats",
        2,
        0,
        NO_KEYS,
        "server",
        "4.0.0",
        "Returns details about memory usage.",
        memory_stats,
    ),
    cmd(
        "doctor",
        2,
        0,
        NO_KEYS,
        "server",
        "4.0.0",
        "Outputs a memory problems report.",
        memory_doctor,
    ),
    cmd(
        "malloc-stats",
        2,
        0,
        NO_KEYS,
        "server",
        "4.0.0",
        "Returns the allocator statistics.",
        memory_malloc_stats,
    ),
    cmd(
        "purge",
        2,
        0,
        NO_KEYS,
        "server",
        "4.0.0",
        "Asks the allocator to release memory.",
        memory_purge,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "4.0.0",
        "Returns helpful text about the different subcommands.",
        memory_help,
    ),
];

/// MEMORY HELP
fn memory_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ];
    crate::commands::introspection::reply_help(&mut ctx.c.reply, "MEMORY", HELP);
    Ok(())
}

/// MEMORY STATS: the INFO memory figures as a map, plus each non-empty
/// db's hash table overhead (`db.N`).
fn memory_stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let cf = crate::commands::introspection::client_facts(ctx);
    let st = &mut *ctx.st;
    let used = crate::alloc::used_memory();
    st.stat_peak_memory = st.stat_peak_memory.max(used);
    let rss = crate::alloc::rss();
    let repl_buf = st.repl.out.capacity();
    let mut dbs = Vec::new();
    let (mut tables, mut rehashing, mut rehashing_count, mut keys) = (0, 0, 0, 0);
    for d in &st.dbs {
        let (main, m1) = d.keys.table_bytes();
        let (exp, m2) = d.expires.table_bytes();
        tables += main + exp;
        rehashing += m1 + m2;
        rehashing_count += usize::from(m1 > 0) + usize::from(m2 > 0);
        keys += d.len();
        if !d.is_empty() {
            dbs.push((d.id, main, exp));
        }
    }
    let overhead =
        (st.startup_memory + cf.mem_normal + cf.mem_replicas + repl_buf + tables).min(used);
    let dataset = used - overhead;
    let net = used.saturating_sub(st.startup_memory).max(1);
    let frag = rss as f64 / used.max(1) as f64;
    let r = &mut ctx.c.reply;
    r.map(30 + dbs.len());
    let int = |r: &mut ReplyBuf, k: &str, v: i64| {
        r.bulk(k.as_bytes());
        r.int(v);
    };
    int(r, "peak.allocated", st.stat_peak_memory as i64);
    int(r, "total.allocated", used as i64);
    int(r, "startup.allocated", st.startup_memory as i64);
    int(r, "replication.backlog", 0);
    int(r, "replica.fullsync.buffer", 0);
    int(r, "clients.slaves", cf.mem_replicas as i64);
    int(r, "clients.normal", cf.mem_normal as i64);
    int(r, "cluster.links", 0);
    int(r, "aof.buffer", 0);
    int(r, "lua.caches", 0);
    int(r, "functions.caches", 0);
    for (id, main, exp) in &dbs {
        r.bulk(format!("db.{id}").as_bytes());
        r.map(2);
        int(r, "overhead.hashtable.main", *main as i64);
        int(r, "overhead.hashtable.expires", *exp as i64);
    }
    int(r, "overhead.db.hashtable.lut", tables as i64);
    int(r, "overhead.db.hashtable.rehashing", rehashing as i64);
    int(r, "overhead.total", overhead as i64);
    int(r, "db.dict.rehashing.count", rehashing_count as i64);
    int(r, "keys.count", keys as i64);
    int(r, "keys.bytes-per-key", (net / keys.max(1)) as i64);
    int(r, "dataset.bytes", dataset as i64);
    let pct = |r: &mut ReplyBuf, k: &str, v: f64| {
        r.bulk(k.as_bytes());
        r.double(v);
    };
    pct(r, "dataset.percentage", dataset as f64 * 100.0 / net as f64);
    pct(
        r,
        "peak.percentage",
        used as f64 * 100.0 / st.stat_peak_memory.max(1) as f64,
    );
    int(r, "allocator.allocated", used as i64);
    int(r, "allocator.active", used as i64);
    int(r, "allocator.resident", rss as i64);
    int(r, "allocator.muzzy", 0);
    pct(r, "allocator-fragmentation.ratio", 1.0);
    int(r, "allocator-fragmentation.bytes", 0);
    pct(r, "allocator.rss-ratio", frag);
    int(r, "allocator.rss-bytes", rss as i64 - used as i64);
    pct(r, "fragmentation", frag);
    int(r, "fragmentation.bytes", rss as i64 - used as i64);
    Ok(())
}

/// MEMORY DOCTOR: the short report Redis gives when nothing stands out.
fn memory_doctor(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.c.reply.verbatim(
        b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.",
        "txt",
    );
    Ok(())
}

/// MEMORY MALLOC-STATS: the system allocator keeps no report to give.
fn memory_malloc_stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.c
        .reply
        .verbatim(b"Stats not supported for the current allocator", "txt");
    Ok(())
}

/// MEMORY PURGE: glibc's malloc_trim hands free pages back to the OS.
fn memory_purge(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    // SAFETY: malloc_trim only releases free memory; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
    ctx.ok()
}

/// MEMORY USAGE key [SAMPLES count]: an estimate of the bytes a key and
/// its value take (null for a missing key).
fn memory_usage(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut i = 3;
    while i < args.len() {
        if eq_ic(&args[i], "samples") && i + 1 < args.len() {
            if args.i64_at(i + 1)? < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let key = &args[2];
    let db = ctx.c.db;
    let n = ctx
        .st
        .lookup(db, key, false, false)
        .map(|o| o.v.mem_usage() + key.len() + 24);
    match n {
        Some(n) => ctx.c.reply.int(n as i64),
        None => ctx.c.reply.null(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn redaction() {
        let a = Args::from_slices(&[b"hello", b"3", b"AUTH", b"u", b"p", b"SETNAME", b"n"]);
        let red: Vec<bool> = (0..a.len()).map(|i| monitor_redacted(&a, i)).collect();
        assert_eq!(red, [false, false, false, true, true, false, false]);
        let a = Args::from_slices(&[b"auth", b"p"]);
        assert!(monitor_redacted(&a, 1));
    }

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"12abc"), 12);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"-3"), -3);
    }
}
