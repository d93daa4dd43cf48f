//! Generic keyspace commands: DEL, EXISTS, TYPE, RENAME, COPY, MOVE,
//! KEYS, SCAN, RANDOMKEY, SWAPDB, the expiry family (EXPIRE, TTL,
//! PERSIST...) and OBJECT.
//!
//! Expire times are absolute unix milliseconds everywhere (`Db::expires`);
//! the relative forms only differ in the base time they add.

use crate::command::flags::*;
use crate::command::{
    ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, container, keys,
};
use crate::config::notify;
use crate::db::Obj;
use crate::resp::Args;
use crate::util::{eq_ic, glob_match};

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "dump",
        2,
        READONLY,
        keys(1, 1, 1),
        "generic",
        "2.6.0",
        "Returns a serialized representation of the value stored at a key.",
        dump,
    ),
    cmd(
        "restore",
        -4,
        WRITE | DENYOOM,
        keys(1, 1, 1),
        "generic",
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
        restore,
    ),
    cmd(
        "del",
        -2,
        WRITE,
        keys(1, -1, 1),
        "generic",
        "1.0.0",
        "Deletes one or more keys.",
        del,
    ),
    cmd(
        "unlink",
        -2,
        WRITE | FAST,
        keys(1, -1, 1),
        "generic",
        "4.0.0",
        "Asynchronously deletes one or more keys.",
        del,
    ),
    cmd(
        "exists",
        -2,
        READONLY | FAST,
        keys(1, -1, 1),
        "generic",
        "1.0.0",
        "Determines whether one or more keys exist.",
        exists,
    ),
    cmd(
        "type",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "generic",
        "1.0.0",
        "Determines the type of value stored at a key.",
        type_cmd,
    ),
    cmd(
        "rename",
        3,
        WRITE,
        keys(1, 2, 1),
        "generic",
        "1.0.0",
        "Renames a key and overwrites the destination.",
        rename,
    ),
    cmd(
        "renamenx",
        3,
        WRITE | FAST,
        keys(1, 2, 1),
        "generic",
        "1.0.0",
        "Renames a key only when the target key name doesn't exist.",
        renamenx,
    ),
    cmd(
        "copy",
        -3,
        WRITE | DENYOOM,
        keys(1, 2, 1),
        "generic",
        "6.2.0",
        "Copies the value of a key to a new key.",
        copy,
    ),
    cmd(
        "move",
        3,
        WRITE | FAST,
        keys(1, 1, 1),
        "generic",
        "1.0.0",
        "Moves a key to another database.",
        move_cmd,
    ),
    cmd(
        "touch",
        -2,
        READONLY | FAST,
        keys(1, -1, 1),
        "generic",
        "3.2.1",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
        touch,
    ),
    cmd(
        "keys",
        2,
        READONLY,
        NO_KEYS,
        "generic",
        "1.0.0",
        "Returns all key names that match a pattern.",
        keys_cmd,
    ),
    cmd(
        "scan",
        -2,
        READONLY | TOUCHES_ARBITRARY_KEYS,
        NO_KEYS,
        "generic",
        "2.8.0",
        "Iterates over the key names in the database.",
        scan,
    ),
    cmd(
        "randomkey",
        1,
        READONLY | TOUCHES_ARBITRARY_KEYS,
        NO_KEYS,
        "generic",
        "1.0.0",
        "Returns a random key name from the database.",
        randomkey,
    ),
    cmd(
        "swapdb",
        3,
        WRITE | FAST,
        NO_KEYS,
        "server",
        "4.0.0",
        "Swaps two Redis databases.",
        swapdb,
    ),
    cmd(
        "expire",
        -3,
        WRITE | FAST,
        keys(1, 1, 1),
        "generic",
        "1.0.0",
        "Sets the expiration time of a key in seconds.",
        expire,
    ),
    cmd(
        "pexpire",
        -3,
        WRITE | FAST,
        keys(1, 1, 1),
        "generic",
        "2.6.0",
        "Sets the expiration time of a key in milliseconds.",
        pexpire,
    ),
    cmd(
        "expireat",
        -3,
        WRITE | FAST,
        keys(1, 1, 1),
        "generic",
        "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp.",
        expireat,
    ),
    cmd(
        "pexpireat",
        -3,
        WRITE | FAST,
        keys(1, 1, 1),
        "generic",
        "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        pexpireat,
    ),
    cmd(
        "ttl",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "generic",
        "1.0.0",
        "Returns the expiration time in seconds of a key.",
        ttl,
    ),
    cmd(
        "pttl",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "generic",
        "2.6.0",
        "Returns the expiration time in milliseconds of a key.",
        pttl,
    ),
    cmd(
        "expiretime",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp.",
        expiretime,
    ),
    cmd(
        "pexpiretime",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        pexpiretime,
    ),
    cmd(
        "persist",
        2,
        WRITE | FAST,
        keys(1, 1, 1),
        "generic",
        "2.2.0",
        "Removes the expiration time of a key.",
        persist,
    ),
    container(
        "object",
        "generic",
        "2.2.3",
        "A container for object introspection commands.",
        OBJECT,
    ),
];

static OBJECT: &[CommandSpec] = &[
    cmd(
        "encoding",
        3,
        READONLY,
        keys(2, 2, 1),
        "generic",
        "2.2.3",
        "Returns the internal encoding of a Redis object.",
        object_encoding,
    ),
    cmd(
        "freq",
        3,
        READONLY,
        keys(2, 2, 1),
        "generic",
        "4.0.0",
        "Returns the logarithmic access frequency counter of a Redis object.",
        object_freq,
    ),
    cmd(
        "idletime",
        3,
        READONLY,
        keys(2, 2, 1),
        "generic",
        "2.2.3",
        "Returns the time since the last access to a Redis object.",
        object_idletime,
    ),
    cmd(
        "refcount",
        3,
        READONLY,
        keys(2, 2, 1),
        "generic",
        "2.2.3",
        "Returns the reference count of a value of a key.",
        object_refcount,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "generic",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        object_help,
    ),
];

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

/// Redis's `getIntFromObjectOrReply`: an integer within C `int` range.
/// `msg` replaces both the parse and the range error when given.
fn int_arg(args: &Args, i: usize, msg: Option<&str>) -> Result<i64, CmdError> {
    crate::command::range_arg(&args[i], i32::MIN as i64, i32::MAX as i64, msg)
}

/// A database index argument, checked against the configured count.
fn db_index(ctx: &Ctx, args: &Args, i: usize) -> Result<usize, CmdError> {
    let id = int_arg(args, i, None)?;
    if id < 0 || id as usize >= ctx.st.dbs.len() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    Ok(id as usize)
}

const SAME_OBJECT: &str = "ERR source and destination objects are the same";

/// Records a write that affects a key in a db other than the client's.
fn wrote_in(ctx: &mut Ctx, db: usize, key: &[u8], event: &str) {
    ctx.st.key_modified(db, key);
    ctx.st.notify(notify::GENERIC, event, key, db);
}

/// Lazily expires `key` in db `dbi` if its time has come (a replica only
/// hides it), counting and notifying as a lookup would. True when expired.
fn expire_if_due(ctx: &mut Ctx, dbi: usize, key: &[u8]) -> bool {
    ctx.st.expire_if_due(dbi, key)
}

/* ---------------------------------------------------------------------
 * DEL, EXISTS, TYPE, TOUCH
 * ------------------------------------------------------------------- */

/// DEL key [key ...] / UNLINK key [key ...]
///
/// Returns the number of keys removed; already-expired keys count as
/// absent.
pub fn del(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lazy = eq_ic(&args[0], "unlink") || ctx.st.cfg.hot.lazyfree_user_del;
    let mut n = 0;
    for k in args.iter().skip(1) {
        ctx.lookup_write(k);
        if let Some(o) = ctx.db().take(k) {
            if lazy {
                ctx.st.lazyfree.value(o);
            }
            ctx.wrote(k, "del", notify::GENERIC);
            n += 1;
        }
    }
    ctx.c.reply.int(n);
    Ok(())
}

/// EXISTS key [key ...]. Like TTL and TYPE it leaves access times alone
/// (Redis's LOOKUP_NOTOUCH), but counts hits and misses.
pub fn exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.c.db;
    let mut n = 0;
    for k in args.iter().skip(1) {
        if ctx.st.lookup(db, k, true, false).is_some() {
            n += 1;
        }
    }
    ctx.c.reply.int(n);
    Ok(())
}

/// TYPE key: the value's type name, or `none`.
pub fn type_cmd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.c.db;
    let t = match ctx.st.lookup(db, &args[1], true, false) {
        Some(o) => o.v.type_name(),
        None => "none",
    };
    ctx.c.reply.simple(t);
    Ok(())
}

/// TOUCH key [key ...]: updates access times, returns how many exist.
/// It touches even for a CLIENT NO-TOUCH client, as in Redis.
pub fn touch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.c.db;
    let mut n = 0;
    for k in args.iter().skip(1) {
        if ctx.st.lookup(db, k, true, true).is_some() {
            n += 1;
        }
    }
    ctx.c.reply.int(n);
    Ok(())
}

/* ---------------------------------------------------------------------
 * RENAME, RENAMENX, MOVE, COPY, SWAPDB
 * ------------------------------------------------------------------- */

/// RENAME key newkey
pub fn rename(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rename_generic(ctx, args, false)
}

/// RENAMENX key newkey
pub fn renamenx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// Moves the value and its TTL to the new name; the destination's own TTL
/// is dropped with its old value.
fn rename_generic(ctx: &mut Ctx, args: &Args, nx: bool) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    if ctx.lookup_write(src).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        if nx {
            ctx.c.reply.int(0);
        } else {
            ctx.c.reply.ok();
        }
        return Ok(());
    }
    if ctx.lookup_write(dst).is_some() {
        if nx {
            ctx.c.reply.int(0);
            return Ok(());
        }
        ctx.db().delete(dst);
    }
    let db = ctx.db();
    let expire = db.get_expire(src);
    let Some(obj) = db.unlink(src) else {
        return Err(CmdError::NoSuchKey);
    };
    db.expires.remove(src);
    db.track_hfe(dst, &obj.v);
    db.put(dst, obj);
    if let Some(when) = expire {
        db.set_expire(dst, when);
    }
    ctx.wrote(src, "rename_from", notify::GENERIC);
    let id = ctx.c.db;
    wrote_in(ctx, id, dst, "rename_to");
    if nx {
        ctx.c.reply.int(1);
    } else {
        ctx.c.reply.ok();
    }
    Ok(())
}

/// MOVE key db
pub fn move_cmd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.st.cluster.is_some() {
        return Err(CmdError::msg("ERR MOVE is not allowed in cluster mode"));
    }
    let key = &args[1];
    let dst = db_index(ctx, args, 2)?;
    let src = ctx.c.db;
    if src == dst {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    ctx.st.stats.cluster_incompatible_ops += 1;
    if ctx.lookup_write(key).is_none() {
        ctx.c.reply.int(0);
        return Ok(());
    }
    if ctx.st.lookup(dst, key, false, true).is_some() {
        ctx.c.reply.int(0);
        return Ok(());
    }
    let expire = ctx.st.dbs[src].get_expire(key);
    crate::persist::snapshot::before_write(ctx.st, dst, key);
    let Some(obj) = ctx.st.dbs[src].unlink(key) else {
        ctx.c.reply.int(0);
        return Ok(());
    };
    ctx.st.dbs[src].expires.remove(key);
    ctx.st.dbs[dst].track_hfe(key, &obj.v);
    ctx.st.dbs[dst].put(key, obj);
    if let Some(when) = expire {
        ctx.st.dbs[dst].set_expire(key, when);
    }
    ctx.wrote(key, "move_from", notify::GENERIC);
    wrote_in(ctx, dst, key, "move_to");
    ctx.c.reply.int(1);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]
pub fn copy(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let src_db = ctx.c.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - j - 1;
        if eq_ic(&args[j], "replace") {
            replace = true;
        } else if eq_ic(&args[j], "db") && more >= 1 {
            dst_db = db_index(ctx, args, j + 1)?;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if ctx.st.cluster.is_some() && (src_db != 0 || dst_db != 0) {
        return Err(CmdError::msg(
            "ERR Copying to another database is not allowed in cluster mode",
        ));
    }
    let (key, newkey) = (&args[1], &args[2]);
    if src_db == dst_db && key == newkey {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    if src_db != 0 || dst_db != 0 {
        ctx.st.stats.cluster_incompatible_ops += 1;
    }
    let Some(o) = ctx.lookup(key) else {
        ctx.c.reply.int(0);
        return Ok(());
    };
    // A deep copy: values share nothing, so later writes stay independent.
    let v = o.v.clone();
    let expire = ctx.st.dbs[src_db].get_expire(key);
    crate::persist::snapshot::before_write(ctx.st, dst_db, newkey);
    if ctx.st.lookup(dst_db, newkey, false, true).is_some() {
        if !replace {
            ctx.c.reply.int(0);
            return Ok(());
        }
        ctx.st.dbs[dst_db].delete(newkey);
    }
    let db = &mut ctx.st.dbs[dst_db];
    db.track_hfe(newkey, &v);
    db.put(
        newkey,
        Obj {
            unshared: true,
            ..Obj::new(v)
        },
    );
    db.expires.remove(newkey);
    if let Some(when) = expire {
        db.set_expire(newkey, when);
    }
    ctx.st.dirty += 1;
    wrote_in(ctx, dst_db, newkey, "copy_to");
    ctx.c.reply.int(1);
    Ok(())
}

/// SWAPDB index1 index2
pub fn swapdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.st.cluster.is_some() {
        return Err(CmdError::msg("ERR SWAPDB is not allowed in cluster mode"));
    }
    let a = int_arg(args, 1, Some("ERR invalid first DB index"))?;
    let b = int_arg(args, 2, Some("ERR invalid second DB index"))?;
    let n = ctx.st.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        crate::persist::snapshot::finish_now(ctx.st);
        crate::commands::multi::touch_swapdb(ctx.st, a, b);
        ctx.st.dbs.swap(a, b);
        ctx.st.dbs[a].id = a;
        ctx.st.dbs[b].id = b;
    }
    ctx.st.dirty += 1;
    ctx.st.stats.cluster_incompatible_ops += 1;
    ctx.ok()
}

/* ---------------------------------------------------------------------
 * KEYS, SCAN, RANDOMKEY
 * ------------------------------------------------------------------- */

/// KEYS pattern: every live key matching the glob pattern.
pub fn keys_cmd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let pat = &args[1];
    let all = pat == b"*";
    let now = ctx.now();
    let db = &ctx.st.dbs[ctx.c.db];
    let live = |k: &&[u8]| {
        (all || glob_match(pat, k, false)) && !matches!(db.expires.get(k), Some(&w) if w <= now)
    };
    // In cluster mode a pattern pinned to one slot visits only its keys.
    let pinned = match &db.slots {
        Some(ix) if !all => crate::cluster::pattern_hash_slot(pat).map(|s| (ix, s)),
        _ => None,
    };
    let found: Vec<&[u8]> = match pinned {
        Some((ix, slot)) => ix.keys(slot).filter(live).collect(),
        None => db.keys.iter().map(|(k, _)| k).filter(live).collect(),
    };
    let r = &mut ctx.c.reply;
    r.array(found.len());
    for k in found {
        r.bulk(k);
    }
    Ok(())
}

/// The type names `SCAN ... TYPE` accepts.
const TYPE_NAMES: &[&str] = &["string", "list", "set", "zset", "hash", "stream"];

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
pub fn scan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = std::str::from_utf8(&args[1])
        .ok()
        .filter(|s| !s.starts_with('+'))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let mut count: i64 = 10;
    let mut pat: Option<&[u8]> = None;
    // Some(None): a TYPE no value can have (Redis 8.0 filters everything).
    let mut want_type: Option<Option<&'static str>> = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - i;
        if eq_ic(&args[i], "count") && more >= 2 {
            count = args.i64_at(i + 1)?;
            if count < 1 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else if eq_ic(&args[i], "match") && more >= 2 {
            pat = if &args[i + 1][..] == b"*" {
                None
            } else {
                Some(&args[i + 1])
            };
            i += 2;
        } else if eq_ic(&args[i], "type") && more >= 2 {
            want_type = Some(TYPE_NAMES.iter().copied().find(|t| eq_ic(&args[i + 1], t)));
            i += 2;
        } else if eq_ic(&args[i], "novalues") {
            return Err(CmdError::msg(
                "ERR NOVALUES option can only be used in HSCAN",
            ));
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let dbi = ctx.c.db;
    let mut found: Vec<Box<[u8]>> = Vec::new();
    let mut sampled: i64 = 0;
    let mut maxiter = count.saturating_mul(10);
    let mut cursor = cursor;
    // In cluster mode a pattern may pin every match to one slot: scan only
    // that slot's keys. As in Redis, the cursor then carries the slot in
    // its low 14 bits.
    let pinned = match (&ctx.st.dbs[dbi].slots, pat) {
        (Some(ix), Some(p)) => crate::cluster::pattern_hash_slot(p).map(|s| (ix, s)),
        _ => None,
    };
    if let Some((ix, slot)) = pinned {
        let at = (cursor & 0x3FFF) as usize;
        let mut c = if at < slot { 0 } else { cursor >> 14 };
        if at <= slot {
            loop {
                c = ix.scan_slot(slot, c, |k, _| {
                    sampled += 1;
                    if pat.is_none_or(|p| glob_match(p, k, false)) {
                        found.push(k.into());
                    }
                });
                if c == 0 || maxiter == 0 || sampled >= count {
                    break;
                }
                maxiter -= 1;
            }
        }
        cursor = if c == 0 { 0 } else { (c << 14) | slot as u64 };
    } else {
        let d = &ctx.st.dbs[dbi].keys;
        loop {
            cursor = d.scan(cursor, |k, _| {
                sampled += 1;
                if pat.is_none_or(|p| glob_match(p, k, false)) {
                    found.push(k.into());
                }
            });
            if cursor == 0 || maxiter == 0 || sampled >= count {
                break;
            }
            maxiter -= 1;
        }
    }
    // Drop expired keys (expiring them) and those of the wrong type.
    found.retain(|k| {
        if expire_if_due(ctx, dbi, k) {
            return false;
        }
        match want_type {
            None => true,
            Some(t) => {
                let actual = ctx.st.dbs[dbi].keys.get(k).map(|o| o.v.type_name());
                t.is_some() && actual == t
            }
        }
    });
    let r = &mut ctx.c.reply;
    r.array(2);
    r.bulk(cursor.to_string().as_bytes());
    r.array(found.len());
    for k in &found {
        r.bulk(k);
    }
    Ok(())
}

/// RANDOMKEY: a random live key, or null. Expired keys met on the way are
/// expired.
pub fn randomkey(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let dbi = ctx.c.db;
    let deleting = ctx.st.expire_deletes();
    let all_volatile = {
        let db = &ctx.st.dbs[dbi];
        db.keys.len() == db.expires.len()
    };
    let mut tries = 100;
    loop {
        let Some(k) = ctx.st.dbs[dbi]
            .keys
            .random(&mut ctx.st.rng)
            .map(|(k, _)| crate::db::Key::from(k))
        else {
            ctx.c.reply.null();
            return Ok(());
        };
        if all_volatile && !deleting {
            // A replica cannot delete: bound the search as Redis does.
            tries -= 1;
            if tries == 0 {
                ctx.c.reply.bulk(&k);
                return Ok(());
            }
        }
        if expire_if_due(ctx, dbi, &k) {
            continue;
        }
        ctx.c.reply.bulk(&k);
        return Ok(());
    }
}

/* ---------------------------------------------------------------------
 * Expiry: EXPIRE family, TTL family, PERSIST
 * ------------------------------------------------------------------- */

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

/// Parses the NX|XX|GT|LT options after the time argument.
fn expire_flags(args: &Args) -> Result<u8, CmdError> {
    let mut f = 0;
    for a in args.iter().skip(3) {
        f |= if eq_ic(a, "nx") {
            EXPIRE_NX
        } else if eq_ic(a, "xx") {
            EXPIRE_XX
        } else if eq_ic(a, "gt") {
            EXPIRE_GT
        } else if eq_ic(a, "lt") {
            EXPIRE_LT
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(a)
            )));
        };
    }
    if f & EXPIRE_NX != 0 && f & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f & EXPIRE_GT != 0 && f & EXPIRE_LT != 0 {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// Turns the time argument into absolute milliseconds: `when` in `unit_ms`
/// units plus `base`. None on overflow, as Redis checks it.
pub fn expire_at_ms(when: i64, unit_ms: i64, base: i64) -> Option<i64> {
    let ms = if unit_ms == 1000 {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return None;
        }
        when * 1000
    } else {
        when
    };
    if ms > i64::MAX - base {
        return None;
    }
    Some(ms + base)
}

/// Whether the NX|XX|GT|LT conditions allow replacing `current` (None: the
/// key has no TTL, an infinite one) with `when`.
fn expire_allowed(flags: u8, current: Option<i64>, when: i64) -> bool {
    if flags & EXPIRE_NX != 0 && current.is_some() {
        return false;
    }
    if flags & EXPIRE_XX != 0 && current.is_none() {
        return false;
    }
    if flags & EXPIRE_GT != 0 && current.is_none_or(|c| when <= c) {
        return false;
    }
    if flags & EXPIRE_LT != 0 && current.is_some_and(|c| when >= c) {
        return false;
    }
    true
}

/// Core of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT.
fn expire_generic(
    ctx: &mut Ctx,
    args: &Args,
    relative: bool,
    unit_ms: i64,
    name: &str,
) -> CmdResult {
    let flags = expire_flags(args)?;
    let when = args.i64_at(2)?;
    let base = if relative { ctx.now() } else { 0 };
    let when = expire_at_ms(when, unit_ms, base)
        .ok_or_else(|| CmdError::msg(format!("ERR invalid expire time in '{name}' command")))?;
    let key = &args[1];
    if ctx.lookup_write(key).is_none() {
        ctx.c.reply.int(0);
        return Ok(());
    }
    let current = ctx.db().get_expire(key);
    if !expire_allowed(flags, current, when) {
        ctx.c.reply.int(0);
        return Ok(());
    }
    // A time already past deletes the key, unless we are a replica, which
    // waits for its master's DEL.
    // Either way replicas and the AOF see an absolute time (or the DEL),
    // so their TTLs do not drift with the propagation delay.
    if when <= ctx.now() && !ctx.st.is_replica && ctx.st.loading.is_none() {
        ctx.db().delete(key);
        ctx.wrote(key, "del", notify::GENERIC);
        let del: &[u8] = if ctx.st.cfg.hot.lazyfree_lazy_expire {
            b"UNLINK"
        } else {
            b"DEL"
        };
        ctx.propagate_as(vec![del.to_vec(), key.to_vec()]);
    } else {
        ctx.db().set_expire(key, when);
        ctx.wrote(key, "expire", notify::GENERIC);
        if relative || unit_ms != 1 {
            let mut argv = vec![
                b"PEXPIREAT".to_vec(),
                key.to_vec(),
                when.to_string().into_bytes(),
            ];
            argv.extend(args.iter().skip(3).map(|a| a.to_vec()));
            ctx.propagate_as(argv);
        }
    }
    ctx.c.reply.int(1);
    Ok(())
}

/// EXPIRE key seconds [NX | XX | GT | LT]
pub fn expire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, true, 1000, "expire")
}

/// PEXPIRE key milliseconds [NX | XX | GT | LT]
pub fn pexpire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, true, 1, "pexpire")
}

/// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
pub fn expireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, false, 1000, "expireat")
}

/// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
pub fn pexpireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, false, 1, "pexpireat")
}

/// Core of TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing key,
/// -1 for one without TTL.
fn ttl_generic(ctx: &mut Ctx, args: &Args, ms: bool, absolute: bool) -> CmdResult {
    let key = &args[1];
    let db = ctx.c.db;
    if ctx.st.lookup(db, key, true, false).is_none() {
        ctx.c.reply.int(-2);
        return Ok(());
    }
    let Some(when) = ctx.db().get_expire(key) else {
        ctx.c.reply.int(-1);
        return Ok(());
    };
    let t = if absolute {
        when
    } else {
        when.saturating_sub(ctx.now())
    }
    .max(0);
    let t = if ms { t } else { t.saturating_add(500) / 1000 };
    ctx.c.reply.int(t);
    Ok(())
}

/// TTL key
pub fn ttl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

/// PTTL key
pub fn pttl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

/// EXPIRETIME key
pub fn expiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

/// PEXPIRETIME key
pub fn pexpiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

/// PERSIST key: 1 when a TTL was removed.
pub fn persist(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    if ctx.lookup_write(key).is_some() && ctx.db().persist(key) {
        ctx.wrote(key, "persist", notify::GENERIC);
        ctx.c.reply.int(1);
    } else {
        ctx.c.reply.int(0);
    }
    Ok(())
}

/* ---------------------------------------------------------------------
 * OBJECT
 * ------------------------------------------------------------------- */

/// Looks a key up for OBJECT without touching it or counting stats.
fn object_lookup<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a mut Obj> {
    let db = ctx.c.db;
    ctx.st.lookup_notify(db, key, true, false, false)
}

fn lfu_policy(ctx: &Ctx) -> bool {
    ctx.st.cfg.get("maxmemory-policy").contains("lfu")
}

/// OBJECT ENCODING key
fn object_encoding(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match object_lookup(ctx, &args[2]).map(|o| o.v.encoding()) {
        Some(e) => ctx.c.reply.bulk_str(e),
        None => ctx.c.reply.null(),
    }
    Ok(())
}

/// OBJECT FREQ key (LFU policies only)
fn object_freq(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lfu = lfu_policy(ctx);
    let Some(o) = object_lookup(ctx, &args[2]) else {
        ctx.c.reply.null();
        return Ok(());
    };
    if !lfu {
        return Err(CmdError::msg(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let f = crate::evict::lfu_decr_and_return(o.lru);
    ctx.c.reply.int(f as i64);
    Ok(())
}

/// OBJECT IDLETIME key (not under LFU policies)
fn object_idletime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lfu = lfu_policy(ctx);
    let Some(o) = object_lookup(ctx, &args[2]) else {
        ctx.c.reply.null();
        return Ok(());
    };
    if lfu {
        return Err(CmdError::msg(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let idle = crate::db::value::idle_seconds(o.lru);
    ctx.c.reply.int(idle as i64);
    Ok(())
}

/// OBJECT REFCOUNT key: small non-negative integers are shared objects in
/// Redis (refcount INT_MAX) unless maxmemory uses an LRU/LFU policy.
fn object_refcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let policy = ctx.st.cfg.get("maxmemory-policy");
    let no_shared =
        ctx.st.cfg.int("maxmemory") != 0 && (policy.contains("lru") || policy.contains("lfu"));
    let Some(o) = object_lookup(ctx, &args[2]) else {
        ctx.c.reply.null();
        return Ok(());
    };
    let shared =
        matches!(o.v, crate::db::Value::Str(crate::db::Str::Int(n)) if (0..10000).contains(&n));
    let rc = if shared && !no_shared && !o.unshared {
        i32::MAX as i64
    } else {
        1
    };
    ctx.c.reply.int(rc);
    Ok(())
}

/// OBJECT HELP
fn object_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    ];
    crate::commands::introspection::reply_help(&mut ctx.c.reply, "OBJECT", HELP);
    Ok(())
}

/// DUMP key
pub fn dump(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    match o {
        None => r.null(),
        Some(o) => r.bulk(&crate::persist::rdb::dump_payload(&o.v)),
    }
    Ok(())
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
pub fn restore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut i = 4;
    while i < args.len() {
        let more = i + 1 < args.len();
        if eq_ic(&args[i], "replace") {
            replace = true;
        } else if eq_ic(&args[i], "absttl") {
            absttl = true;
        } else if eq_ic(&args[i], "idletime") && more && freq.is_none() {
            let v = args.i64_at(i + 1)?;
            if v < 0 {
                return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            i += 1;
        } else if eq_ic(&args[i], "freq") && more && idle.is_none() {
            let v = args.i64_at(i + 1)?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(v);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    // An existing key is refused before the TTL is even parsed, as in
    // Redis's restoreCommand.
    let key = &args[1];
    if !replace && ctx.lookup_write(key).is_some() {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let ttl = args.i64_at(2)?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let max = ctx.st.cfg.hot.proto_max_bulk_len.max(0) as u64;
    // `clients` sanitizes what clients send, not what our master does.
    let deep = match ctx.st.cfg.get("sanitize-dump-payload") {
        "yes" => true,
        "clients" => !ctx.c.is_master,
        _ => false,
    };
    let v = match crate::persist::rdb::restore_payload_opts(&args[3], max, deep) {
        None => {
            return Err(CmdError::msg(
                "ERR DUMP payload version or checksum are wrong",
            ));
        }
        Some(Err(e)) => {
            log::debug!(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> {}",
                e.0
            );
            return Err(CmdError::msg("ERR Bad data format"));
        }
        Some(Ok(v)) => v,
    };
    let when = if ttl == 0 {
        None
    } else if absttl {
        Some(ttl)
    } else {
        Some(
            ttl.checked_add(ctx.now())
                .ok_or_else(|| CmdError::msg("ERR Invalid TTL value, must be >= 0"))?,
        )
    };
    let existed = ctx.db().delete(key);
    if matches!(when, Some(w) if w <= ctx.now()) {
        // Already expired: nothing to create, but an old value is gone.
        if existed {
            ctx.wrote(key, "del", notify::GENERIC);
            let del: &[u8] = if ctx.st.cfg.bool("lazyfree-lazy-server-del") {
                b"UNLINK"
            } else {
                b"DEL"
            };
            ctx.propagate_as(vec![del.to_vec(), key.to_vec()]);
        } else {
            ctx.prevent_propagation();
        }
        return ctx.ok();
    }
    ctx.db().add(key, v);
    if let Some(w) = when {
        ctx.db().set_expire(key, w);
    }
    if let Some(secs) = idle
        && let Some(o) = ctx.db().keys.get_mut(key)
    {
        o.lru = crate::db::value::lru_clock().wrapping_sub(secs.min(0xFF_FFFF) as u32) & 0xFF_FFFF;
    }
    if let Some(clock) = freq.and_then(|f| crate::evict::lfu_clock(f as u32))
        && let Some(o) = ctx.db().keys.get_mut(key)
    {
        o.lru = clock;
    }
    ctx.wrote(key, "restore", notify::GENERIC);
    if let (Some(w), false) = (when, absttl) {
        let mut argv: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        argv[2] = w.to_string().into_bytes();
        argv.push(b"ABSTTL".to_vec());
        ctx.propagate_as(argv);
    }
    ctx.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expire_time_overflow() {
        assert_eq!(expire_at_ms(10, 1000, 5), Some(10_005));
        assert_eq!(expire_at_ms(-10, 1000, 0), Some(-10_000));
        assert_eq!(expire_at_ms(9_223_372_036_854_776, 1000, 0), None);
        assert_eq!(expire_at_ms(-9_223_372_036_854_776, 1000, 0), None);
        // Fits once multiplied, but not once the base time is added.
        assert_eq!(
            expire_at_ms(9_223_370_399_119_966, 1000, 1_700_000_000_000),
            None
        );
        assert_eq!(
            expire_at_ms(9_223_372_036_854_770_000, 1, 1_700_000_000_000),
            None
        );
        assert_eq!(expire_at_ms(i64::MIN, 1, 0), Some(i64::MIN));
    }

    #[test]
    fn expire_conditions() {
        assert!(expire_allowed(EXPIRE_NX, None, 5));
        assert!(!expire_allowed(EXPIRE_NX, Some(1), 5));
        assert!(!expire_allowed(EXPIRE_XX, None, 5));
        assert!(expire_allowed(EXPIRE_XX, Some(1), 5));
        assert!(!expire_allowed(EXPIRE_GT, None, 5));
        assert!(expire_allowed(EXPIRE_GT, Some(1), 5));
        assert!(!expire_allowed(EXPIRE_GT, Some(5), 5));
        assert!(expire_allowed(EXPIRE_LT, None, 5));
        assert!(!expire_allowed(EXPIRE_LT, Some(5), 5));
        assert!(expire_allowed(EXPIRE_LT | EXPIRE_XX, Some(9), 5));
        assert!(!expire_allowed(EXPIRE_LT | EXPIRE_XX, None, 5));
    }
}
