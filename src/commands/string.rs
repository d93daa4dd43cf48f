//! String commands: GET, SET and friends, counters, ranges, bits, LCS.
//!
//! Like Redis's `t_string.c`, a few generic cores do the work and the
//! commands are thin wrappers around them:
//! - `set_generic` serves SET, SETNX, SETEX, PSETEX and GETSET;
//! - `incr_by` serves INCR, DECR, INCRBY and DECRBY;
//! - `getrange` serves GETRANGE and SUBSTR; `mset_generic` MSET and MSETNX.
//!
//! Encodings follow Redis: values stored whole by SET-like commands get the
//! encoding `Str::from_bytes` picks (int, embstr or raw), in-place edits
//! (APPEND, SETRANGE, SETBIT) make the value raw, counters are int.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::db::{Str, Value};
use crate::longdouble::LongDouble;
use crate::resp::Args;
use crate::util::eq_ic;

/// SET's key finder: with GET the old value is read too.
fn set_keys(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    use crate::command::keyspecs::flag::*;
    let get = (3..args.len()).any(|i| eq_ic(&args[i], "get"));
    vec![(
        1,
        if get {
            RW | ACCESS | UPDATE
        } else {
            OW | UPDATE
        },
    )]
}

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "get",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "string",
        "1.0.0",
        "Returns the string value of a key.",
        get,
    ),
    // Not FAST: it may implicitly delete a large value.
    CommandSpec {
        getkeys: Some(set_keys),
        ..cmd(
            "set",
            -3,
            WRITE | DENYOOM,
            keys(1, 1, 1),
            "string",
            "1.0.0",
            "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            set,
        )
    },
    cmd(
        "setnx",
        3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "string",
        "1.0.0",
        "Set the string value of a key only when the key doesn't exist.",
        setnx,
    ),
    cmd(
        "setex",
        4,
        WRITE | DENYOOM,
        keys(1, 1, 1),
        "string",
        "2.0.0",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
        setex,
    ),
    cmd(
        "psetex",
        4,
        WRITE | DENYOOM,
        keys(1, 1, 1),
        "string",
        "2.6.0",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
        psetex,
    ),
    cmd(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "string",
        "1.0.0",
        "Returns the previous string value of a key after setting it to a new value.",
        getset,
    ),
    cmd(
        "getex",
        -2,
        WRITE | FAST,
        keys(1, 1, 1),
        "string",
        "6.2.0",
        "Returns the string value of a key after setting its expiration time.",
        getex,
    ),
    cmd(
        "getdel",
        2,
        WRITE | FAST,
        keys(1, 1, 1),
        "string",
        "6.2.0",
        "Returns the string value of a key after deleting the key.",
        getdel,
    ),
    cmd(
        "mget",
        -2,
        READONLY | FAST,
        keys(1, -1, 1),
        "string",
        "1.0.0",
        "Atomically returns the string values of one or more keys.",
        mget,
    ),
    cmd(
        "mset",
        -3,
        WRITE | DENYOOM,
        keys(1, -1, 2),
        "string",
        "1.0.1",
        "Atomically creates or modifies the string values of one or more keys.",
        mset,
    ),
    cmd(
        "msetnx",
        -3,
        WRITE | DENYOOM,
        keys(1, -1, 2),
        "string",
        "1.0.1",
        "Atomically modifies the string values of one or more keys only when all keys don't exist.",
        msetnx,
    ),
    cmd(
        "strlen",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "string",
        "2.2.0",
        "Returns the length of a string value.",
        strlen,
    ),
    cmd(
        "getrange",
        4,
        READONLY,
        keys(1, 1, 1),
        "string",
        "2.4.0",
        "Returns a substring of the string stored at a key.",
        getrange,
    ),
    cmd(
        "substr",
        4,
        READONLY,
        keys(1, 1, 1),
        "string",
        "1.0.0",
        "Returns a substring from a string value.",
        getrange,
    ),
    cmd(
        "setrange",
        4,
        WRITE | DENYOOM,
        keys(1, 1, 1),
        "string",
        "2.2.0",
        "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
        setrange,
    ),
    cmd(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "string",
        "2.0.0",
        "Appends a string to the value of a key. Creates the key if it doesn't exist.",
        append,
    ),
    cmd(
        "incr",
        2,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "string",
        "1.0.0",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        incr,
    ),
    cmd(
        "decr",
        2,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "string",
        "1.0.0",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        decr,
    ),
    cmd(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "string",
        "1.0.0",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        incrby,
    ),
    cmd(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "string",
        "1.0.0",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
        decrby,
    ),
    cmd(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "string",
        "2.6.0",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        incrbyfloat,
    ),
    cmd(
        "lcs",
        -3,
        READONLY,
        keys(1, 2, 1),
        "string",
        "7.0.0",
        "Finds the longest common substring.",
        lcs,
    ),
    cmd(
        "setbit",
        4,
        WRITE | DENYOOM,
        keys(1, 1, 1),
        "bitmap",
        "2.2.0",
        "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
        setbit,
    ),
    cmd(
        "getbit",
        3,
        READONLY | FAST,
        keys(1, 1, 1),
        "bitmap",
        "2.2.0",
        "Returns a bit value by offset.",
        getbit,
    ),
];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Redis's `checkStringLength`: a string of `size + append` bytes must fit
/// in `proto-max-bulk-len` (and the sum must not overflow).
fn check_string_length(ctx: &Ctx, size: i64, append: i64) -> CmdResult {
    let max = ctx.st.cfg.hot.proto_max_bulk_len;
    match size.checked_add(append) {
        Some(total) if total <= max => Ok(()),
        _ => Err(CmdError::msg(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

fn arity_error(name: &str) -> CmdError {
    CmdError::msg(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

/// Looks `key` up for reading and writes its string value, or null when it
/// is missing. Redis's `getGenericCommand`: a wrong type is an error and
/// nothing is written.
fn get_generic(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let (o, r) = ctx.lookup_r(key);
    match o {
        None => r.null(),
        Some(o) => {
            let s = o.v.as_str()?;
            let mut t = [0u8; 20];
            r.bulk(s.bytes(&mut t));
        }
    }
    Ok(())
}

/// The new value of a string written whole, with SET's encoding.
fn new_str(b: &[u8]) -> Value {
    Value::Str(Str::from_bytes(b))
}

// ---------------------------------------------------------------------------
// GET, SET and variants
// ---------------------------------------------------------------------------

/// GET key
///
/// # Errors
/// WRONGTYPE when the key does not hold a string.
pub fn get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    get_generic(ctx, &args[1])
}

/// How an expire argument is to be read: its unit and whether it is an
/// absolute unix time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpireArg {
    pub pos: usize,
    pub in_ms: bool,
    pub absolute: bool,
}

/// The options of SET (`for_set`) or GETEX, parsed as Redis's
/// `parseExtendedStringArgumentsOrReply` does.
#[derive(Default, Debug, PartialEq)]
pub struct ExtOpts {
    pub nx: bool,
    pub xx: bool,
    pub get: bool,
    pub keepttl: bool,
    pub persist: bool,
    pub expire: Option<ExpireArg>,
}

/// Parses `args[from..]` as SET options (NX XX GET KEEPTTL EX PX EXAT PXAT)
/// or, when `!for_set`, as GETEX options (PERSIST EX PX EXAT PXAT).
/// Conflicting or unknown options are a syntax error.
pub fn parse_ext(args: &Args, from: usize, for_set: bool) -> Result<ExtOpts, CmdError> {
    let mut o = ExtOpts::default();
    let mut i = from;
    while i < args.len() {
        let a = &args[i];
        let has_next = i + 1 < args.len();
        let timed = o.expire.is_some();
        if for_set && eq_ic(a, "nx") && !o.xx {
            o.nx = true;
        } else if for_set && eq_ic(a, "xx") && !o.nx {
            o.xx = true;
        } else if for_set && eq_ic(a, "get") {
            o.get = true;
        } else if for_set && eq_ic(a, "keepttl") && !timed {
            o.keepttl = true;
        } else if !for_set && eq_ic(a, "persist") && !timed {
            o.persist = true;
        } else if let Some((in_ms, absolute)) = expire_kind(a) {
            // The same option twice is a conflict too, as in Redis.
            if o.keepttl || o.persist || timed || !has_next {
                return Err(CmdError::Syntax);
            }
            o.expire = Some(ExpireArg {
                pos: i + 1,
                in_ms,
                absolute,
            });
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

/// EX, PX, EXAT, PXAT as (in milliseconds, absolute).
fn expire_kind(a: &[u8]) -> Option<(bool, bool)> {
    if eq_ic(a, "ex") {
        Some((false, false))
    } else if eq_ic(a, "px") {
        Some((true, false))
    } else if eq_ic(a, "exat") {
        Some((false, true))
    } else if eq_ic(a, "pxat") {
        Some((true, true))
    } else {
        None
    }
}

/// Turns a relative or absolute expire argument into unix milliseconds,
/// with Redis's checks and error text.
///
/// # Errors
/// "invalid expire time in '<cmd>' command" for a non-positive value or
/// one that overflows once converted.
pub fn expire_time(
    now: i64,
    v: i64,
    in_ms: bool,
    absolute: bool,
    cmd: &str,
) -> Result<i64, CmdError> {
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{cmd}' command"));
    if v <= 0 || (!in_ms && v > i64::MAX / 1000) {
        return Err(invalid());
    }
    let ms = if in_ms { v } else { v * 1000 };
    if absolute {
        Ok(ms)
    } else {
        ms.checked_add(now).ok_or_else(invalid)
    }
}

/// Reads the expire argument described by `e` (if any) into unix ms.
fn expire_from(
    ctx: &Ctx,
    args: &Args,
    e: Option<ExpireArg>,
    cmd: &str,
) -> Result<Option<i64>, CmdError> {
    match e {
        None => Ok(None),
        Some(e) => {
            let v = args.i64_at(e.pos)?;
            expire_time(ctx.now(), v, e.in_ms, e.absolute, cmd).map(Some)
        }
    }
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms | KEEPTTL]
///
/// # Errors
/// Syntax error for unknown or conflicting options; "invalid expire time";
/// WRONGTYPE with GET on a non-string.
pub fn set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = parse_ext(args, 3, true)?;
    let when = expire_from(ctx, args, o.expire, "set")?;
    let how = SetHow {
        nx: o.nx,
        xx: o.xx,
        get: o.get,
        keepttl: o.keepttl,
        int_reply: false,
    };
    if !set_generic(ctx, &args[1], &args[2], how, when)? {
        return Ok(());
    }
    match (when, o.expire) {
        // Relative times and EXAT travel as PXAT, so replicas and the AOF
        // get the same absolute deadline.
        (Some(w), Some(e)) if !(e.in_ms && e.absolute) => propagate_set_pxat(ctx, args, 2, w),
        (None, _) if o.get => {
            // GET changes nothing on a replica: propagate without it.
            let argv = args
                .iter()
                .enumerate()
                .filter(|&(i, a)| i < 3 || !eq_ic(a, "get"))
                .map(|(_, a)| a.to_vec())
                .collect();
            ctx.propagate_as(argv);
        }
        _ => {}
    }
    Ok(())
}

/// Propagates `SET key <args[val]> PXAT when`.
fn propagate_set_pxat(ctx: &mut Ctx, args: &Args, val: usize, when: i64) {
    let mut t = [0u8; 20];
    let argv = vec![
        b"SET".to_vec(),
        args[1].to_vec(),
        args[val].to_vec(),
        b"PXAT".to_vec(),
        crate::util::fmt_i64(when, &mut t).to_vec(),
    ];
    ctx.propagate_as(argv);
}

/// SETNX key value: 1 if the key was set, 0 if it already existed.
pub fn setnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let how = SetHow {
        nx: true,
        int_reply: true,
        ..Default::default()
    };
    set_generic(ctx, &args[1], &args[2], how, None)?;
    Ok(())
}

/// SETEX key seconds value
pub fn setex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let when = expire_time(ctx.now(), args.i64_at(2)?, false, false, "setex")?;
    set_generic(ctx, &args[1], &args[3], SetHow::default(), Some(when))?;
    propagate_set_pxat(ctx, args, 3, when);
    Ok(())
}

/// PSETEX key milliseconds value
pub fn psetex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let when = expire_time(ctx.now(), args.i64_at(2)?, true, false, "psetex")?;
    set_generic(ctx, &args[1], &args[3], SetHow::default(), Some(when))?;
    propagate_set_pxat(ctx, args, 3, when);
    Ok(())
}

/// GETSET key value: SET with GET, and no options.
pub fn getset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let how = SetHow {
        get: true,
        ..Default::default()
    };
    set_generic(ctx, &args[1], &args[2], how, None)?;
    ctx.propagate_as(vec![b"SET".to_vec(), args[1].to_vec(), args[2].to_vec()]);
    Ok(())
}

/// The flags of `set_generic`.
#[derive(Default, Clone, Copy)]
pub struct SetHow {
    pub nx: bool,
    pub xx: bool,
    /// Reply with the old value instead of OK / null.
    pub get: bool,
    pub keepttl: bool,
    /// Reply 1 / 0 (SETNX) instead of OK / null.
    pub int_reply: bool,
}

/// The core shared by SET, SETNX, SETEX, PSETEX and GETSET, as Redis's
/// `setGenericCommand`. `when` is an absolute expire time already checked.
/// Returns whether the key was written (false when NX / XX prevented it);
/// the caller decides how the write propagates.
pub fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    val: &[u8],
    how: SetHow,
    when: Option<i64>,
) -> Result<bool, CmdError> {
    if how.get {
        get_generic(ctx, key)?;
    }
    // A plain SET needs no lookup, only the lazy expiry a lookup does
    // (its DEL must reach replicas before this SET).
    let exists = if how.nx || how.xx {
        ctx.lookup_write(key).is_some()
    } else {
        let db = ctx.c.db;
        ctx.st.expire_if_due(db, key);
        false
    };
    if (how.nx && exists) || (how.xx && !exists) {
        if how.int_reply {
            ctx.c.reply.int(0);
        } else if !how.get {
            ctx.c.reply.null();
        }
        return Ok(false);
    }
    let db = ctx.db();
    db.set(key, new_str(val), how.keepttl);
    if let Some(w) = when {
        db.set_expire(key, w);
    }
    ctx.wrote(key, "set", notify::STRING);
    if when.is_some() {
        let db = ctx.c.db;
        ctx.st.notify(notify::GENERIC, "expire", key, db);
    }
    if how.int_reply {
        ctx.c.reply.int(1);
    } else if !how.get {
        ctx.c.reply.ok();
    }
    Ok(true)
}

/// GETEX key [EX s | PX ms | EXAT ts | PXAT ms | PERSIST]
///
/// Replies like GET, then changes the key's time to live.
pub fn getex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = parse_ext(args, 2, false)?;
    let key = &args[1];
    // Redis checks the expire value only once the key is known to hold a
    // string: a missing key replies null whatever the value.
    let when = expire_from(ctx, args, o.expire, "getex");
    let (obj, r) = ctx.lookup_r(key);
    let Some(obj) = obj else {
        r.null();
        return Ok(());
    };
    let s = obj.v.as_str()?;
    let when = when?;
    let mut t = [0u8; 20];
    r.bulk(s.bytes(&mut t));
    let absolute = o.expire.is_some_and(|e| e.absolute);
    let dbi = ctx.c.db;
    match when {
        Some(w) if absolute && w <= ctx.now() => {
            ctx.db().delete(key);
            ctx.wrote(key, "del", notify::GENERIC);
            let del: &[u8] = if ctx.st.cfg.hot.lazyfree_lazy_expire {
                b"UNLINK"
            } else {
                b"DEL"
            };
            ctx.propagate_as(vec![del.to_vec(), key.to_vec()]);
        }
        Some(w) => {
            ctx.db().set_expire(key, w);
            ctx.wrote(key, "expire", notify::GENERIC);
            let mut t = [0u8; 20];
            let ms = crate::util::fmt_i64(w, &mut t).to_vec();
            ctx.propagate_as(vec![b"PEXPIREAT".to_vec(), key.to_vec(), ms]);
        }
        None if o.persist && ctx.st.dbs[dbi].persist(key) => {
            ctx.wrote(key, "persist", notify::GENERIC);
            ctx.propagate_as(vec![b"PERSIST".to_vec(), key.to_vec()]);
        }
        None => {}
    }
    Ok(())
}

/// GETDEL key: GET, then delete the key.
pub fn getdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    get_generic(ctx, key)?;
    if ctx.db().delete(key) {
        ctx.wrote(key, "del", notify::GENERIC);
        ctx.propagate_as(vec![b"DEL".to_vec(), key.to_vec()]);
    }
    Ok(())
}

/// MGET key [key ...]: null for missing keys and for non-strings.
pub fn mget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.c.reply.array(args.len() - 1);
    for k in args.iter().skip(1) {
        let (o, r) = ctx.lookup_r(k);
        match o.map(|o| &o.v) {
            Some(Value::Str(s)) => {
                let mut t = [0u8; 20];
                r.bulk(s.bytes(&mut t));
            }
            _ => r.null(),
        }
    }
    Ok(())
}

/// MSET key value [key value ...]
pub fn mset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    mset_generic(ctx, args, false)
}

/// MSETNX key value [key value ...]: 1 when all keys were set, 0 (and
/// nothing set) when any of them exists.
pub fn msetnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    mset_generic(ctx, args, true)
}

fn mset_generic(ctx: &mut Ctx, args: &Args, nx: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(arity_error(if nx { "msetnx" } else { "mset" }));
    }
    if nx {
        for k in (1..args.len()).step_by(2) {
            if ctx.lookup_write(&args[k]).is_some() {
                ctx.c.reply.int(0);
                return Ok(());
            }
        }
    }
    for k in (1..args.len()).step_by(2) {
        ctx.db().set(&args[k], new_str(&args[k + 1]), false);
        ctx.wrote(&args[k], "set", notify::STRING);
    }
    if nx {
        ctx.c.reply.int(1);
    } else {
        ctx.c.reply.ok();
    }
    Ok(())
}

/// STRLEN key: 0 when the key is missing.
pub fn strlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let n = match o {
        None => 0,
        Some(o) => o.v.as_str()?.len(),
    };
    r.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

/// The byte range `[start, end]` (inclusive, negative from the end) of a
/// string of `len` bytes, clamped as GETRANGE does; None when empty.
pub fn str_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= len {
        e = len - 1;
    }
    if s > e || len == 0 {
        None
    } else {
        Some((s as usize, e as usize))
    }
}

/// GETRANGE key start end (and SUBSTR, its old name)
pub fn getrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let start = args.i64_at(2)?;
    let end = args.i64_at(3)?;
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        r.bulk(b"");
        return Ok(());
    };
    let s = o.v.as_str()?;
    let mut t = [0u8; 20];
    let b = s.bytes(&mut t);
    match str_range(start, end, b.len()) {
        Some((s, e)) => r.bulk(&b[s..=e]),
        None => r.bulk(b""),
    }
    Ok(())
}

/// SETRANGE key offset value: overwrites from `offset`, zero-padding a
/// shorter string. Replies with the new length.
///
/// # Errors
/// "offset is out of range" for a negative offset; "string exceeds maximum
/// allowed size" past `proto-max-bulk-len`.
pub fn setrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let offset = args.i64_at(2)?;
    if offset < 0 {
        return Err(CmdError::OutOfRange("offset"));
    }
    let key = &args[1];
    let val = &args[3];
    let old_len = match ctx.lookup_write(key) {
        None => None,
        Some(o) => Some(o.v.as_str()?.len()),
    };
    let Some(old_len) = old_len else {
        if val.is_empty() {
            ctx.c.reply.int(0);
            return Ok(());
        }
        check_string_length(ctx, offset, val.len() as i64)?;
        let mut b = vec![0u8; offset as usize + val.len()];
        b[offset as usize..].copy_from_slice(val);
        ctx.db().add(key, Value::Str(Str::raw(b)));
        ctx.wrote(key, "setrange", notify::STRING);
        ctx.c.reply.int((offset as usize + val.len()) as i64);
        return Ok(());
    };
    if val.is_empty() {
        ctx.c.reply.int(old_len as i64);
        return Ok(());
    }
    check_string_length(ctx, offset, val.len() as i64)?;
    let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
    let b = o.v.as_str_mut()?.make_raw();
    let off = offset as usize;
    if b.len() < off + val.len() {
        b.resize(off + val.len(), 0);
    }
    b[off..off + val.len()].copy_from_slice(val);
    let n = b.len();
    ctx.wrote(key, "setrange", notify::STRING);
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// APPEND key value: replies with the new length.
pub fn append(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let val = &args[2];
    let old_len = match ctx.lookup_write(key) {
        None => None,
        Some(o) => Some(o.v.as_str()?.len()),
    };
    let total = match old_len {
        None => {
            ctx.db().add(key, new_str(val));
            val.len()
        }
        Some(old) => {
            check_string_length(ctx, old as i64, val.len() as i64)?;
            let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
            let b = o.v.as_str_mut()?.make_raw();
            b.extend_from_slice(val);
            b.len()
        }
    };
    ctx.wrote(key, "append", notify::STRING);
    ctx.c.reply.int(total as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------

/// INCR key
pub fn incr(ctx: &mut Ctx, args: &Args) -> CmdResult {
    incr_by(ctx, &args[1], 1)
}

/// DECR key
pub fn decr(ctx: &mut Ctx, args: &Args) -> CmdResult {
    incr_by(ctx, &args[1], -1)
}

/// INCRBY key increment
pub fn incrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let d = args.i64_at(2)?;
    incr_by(ctx, &args[1], d)
}

/// DECRBY key decrement
pub fn decrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let d = args.i64_at(2)?;
    let d = d
        .checked_neg()
        .ok_or_else(|| CmdError::msg("ERR decrement would overflow"))?;
    incr_by(ctx, &args[1], d)
}

/// The integer a string holds, as `getLongLongFromObject` reads it.
fn str_as_i64(s: &Str) -> Option<i64> {
    s.to_i64()
}

/// The core of INCR, DECR, INCRBY and DECRBY: adds `delta` to the integer
/// at `key` (0 when missing), keeping its TTL. The result is int-encoded.
///
/// # Errors
/// WRONGTYPE; "value is not an integer or out of range" when the value is
/// not a canonical i64; "increment or decrement would overflow".
pub fn incr_by(ctx: &mut Ctx, key: &[u8], delta: i64) -> CmdResult {
    let cur = match ctx.lookup_write(key) {
        None => None,
        Some(o) => Some(str_as_i64(o.v.as_str()?).ok_or(CmdError::NotInteger)?),
    };
    let new = cur
        .unwrap_or(0)
        .checked_add(delta)
        .ok_or(CmdError::Overflow)?;
    let v = Value::Str(Str::Int(new));
    match ctx.lookup_write(key) {
        // A new value is a new object in Redis: shared when small.
        Some(o) => {
            o.v = v;
            o.unshared = false;
        }
        None => ctx.db().add(key, v),
    }
    ctx.wrote(key, "incrby", notify::STRING);
    ctx.c.reply.int(new);
    Ok(())
}

/// INCRBYFLOAT key increment: the new value, formatted without exponent
/// or trailing zeros, is stored as a plain string and replied as a bulk.
///
/// # Errors
/// WRONGTYPE; "value is not a valid float" for the stored value or the
/// increment; "increment would produce NaN or Infinity".
pub fn incrbyfloat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let cur = match ctx.lookup_write(key) {
        None => LongDouble::from_i64(0),
        Some(o) => match o.v.as_str()? {
            Str::Int(n) => LongDouble::from_i64(*n),
            other => {
                let mut t = [0u8; 20];
                LongDouble::parse(other.bytes(&mut t)).ok_or(CmdError::NotFloat)?
            }
        },
    };
    let incr = LongDouble::parse(&args[2]).ok_or(CmdError::NotFloat)?;
    let new = cur
        .checked_add(incr)
        .ok_or_else(|| CmdError::msg("ERR increment would produce NaN or Infinity"))?;
    let text = new.to_human().into_bytes();
    let v = Value::Str(Str::text(&text));
    match ctx.lookup_write(key) {
        Some(o) => o.v = v,
        None => ctx.db().add(key, v),
    }
    ctx.wrote(key, "incrbyfloat", notify::STRING);
    // Replicas get the result, so float formatting cannot make them drift.
    ctx.propagate_as(vec![
        b"SET".to_vec(),
        key.to_vec(),
        text.clone(),
        b"KEEPTTL".to_vec(),
    ]);
    ctx.c.reply.bulk(&text);
    Ok(())
}

// ---------------------------------------------------------------------------
// Bits
// ---------------------------------------------------------------------------

/// Parses a bit offset argument as Redis's `getBitOffsetFromArgument`
/// (without the `#` form): non-negative, and its byte within
/// `proto-max-bulk-len`.
pub fn bit_offset(arg: &[u8], max_bulk_len: i64) -> Result<u64, CmdError> {
    let err = || CmdError::msg("ERR bit offset is not an integer or out of range");
    let v = crate::util::parse_i64(arg).ok_or_else(err)?;
    if v < 0 || (v >> 3) >= max_bulk_len {
        return Err(err());
    }
    Ok(v as u64)
}

/// SETBIT key offset value: replies with the bit's previous value.
pub fn setbit(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let off = bit_offset(&args[2], ctx.st.cfg.hot.proto_max_bulk_len)?;
    let err = || CmdError::msg("ERR bit is not an integer or out of range");
    let on = crate::util::parse_i64(&args[3]).ok_or_else(err)?;
    if on & !1 != 0 {
        return Err(err());
    }
    let key = &args[1];
    let byte = (off >> 3) as usize;
    let bit = 7 - (off & 7) as u8;
    let exists = match ctx.lookup_write(key) {
        None => false,
        Some(o) => {
            o.v.as_str()?;
            true
        }
    };
    if !exists {
        ctx.db().add(key, Value::Str(Str::raw(Vec::new())));
    }
    let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
    let b = o.v.as_str_mut()?.make_raw();
    let grew = b.len() < byte + 1;
    if grew {
        b.resize(byte + 1, 0);
    }
    let old = (b[byte] >> bit) & 1;
    if grew || old as i64 != on {
        b[byte] = (b[byte] & !(1 << bit)) | ((on as u8) << bit);
        ctx.wrote(key, "setbit", notify::STRING);
    }
    ctx.c.reply.int(old as i64);
    Ok(())
}

/// GETBIT key offset: 0 past the end of the string or for a missing key.
pub fn getbit(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let off = bit_offset(&args[2], ctx.st.cfg.hot.proto_max_bulk_len)?;
    let (o, r) = ctx.lookup_r(&args[1]);
    let bit = match o {
        None => 0,
        Some(o) => {
            let s = o.v.as_str()?;
            let mut t = [0u8; 20];
            let b = s.bytes(&mut t);
            let byte = (off >> 3) as usize;
            match b.get(byte) {
                Some(&c) => (c >> (7 - (off & 7))) & 1,
                None => 0,
            }
        }
    };
    r.int(bit as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------

/// One matching run of an LCS: inclusive ranges in `a` and in `b`.
#[derive(Debug, PartialEq, Clone, Copy)]
pub struct LcsMatch {
    pub a: (usize, usize),
    pub b: (usize, usize),
}

impl LcsMatch {
    /// Length of the run (the same in both strings).
    pub fn run_len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }
}

/// The longest common subsequence of `a` and `b` by dynamic programming:
/// its length, the subsequence itself and its matching runs, from the end
/// of the strings backwards (the order Redis reports them in).
pub fn lcs_compute(a: &[u8], b: &[u8]) -> (usize, Vec<u8>, Vec<LcsMatch>) {
    let (alen, blen) = (a.len(), b.len());
    let w = blen + 1;
    let mut t = vec![0u32; (alen + 1) * w];
    for i in 1..=alen {
        for j in 1..=blen {
            t[i * w + j] = if a[i - 1] == b[j - 1] {
                t[(i - 1) * w + j - 1] + 1
            } else {
                t[(i - 1) * w + j].max(t[i * w + j - 1])
            };
        }
    }
    let total = t[alen * w + blen] as usize;
    let mut seq = vec![0u8; total];
    let mut idx = total;
    let mut runs = Vec::new();
    let mut cur: Option<LcsMatch> = None;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            seq[idx - 1] = a[i - 1];
            match &mut cur {
                None => {
                    cur = Some(LcsMatch {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    })
                }
                Some(m) if m.a.0 == i && m.b.0 == j => {
                    m.a.0 -= 1;
                    m.b.0 -= 1;
                }
                Some(_) => emit = true,
            }
            if cur.is_some_and(|m| m.a.0 == 0 || m.b.0 == 0) {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if t[(i - 1) * w + j] > t[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if cur.is_some() {
                emit = true;
            }
        }
        if emit && let Some(m) = cur.take() {
            runs.push(m);
        }
    }
    (total, seq, runs)
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
///
/// # Errors
/// "The specified keys must contain string values"; syntax error; LEN with
/// IDX; a table larger than `proto-max-bulk-len`.
pub fn lcs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Both keys are looked up (a miss fires `keymiss`) before either's
    // type is checked, as in Redis.
    let mut vals: [Option<Vec<u8>>; 2] = [Some(Vec::new()), Some(Vec::new())];
    for (n, v) in vals.iter_mut().enumerate() {
        if let Some(o) = ctx.lookup(&args[1 + n]) {
            *v = o.v.as_str().ok().map(|s| s.to_vec());
        }
    }
    let [Some(a), Some(b)] = vals else {
        return Err(CmdError::msg(
            "ERR The specified keys must contain string values",
        ));
    };
    let vals = [a, b];
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j];
        let more = j + 1 < args.len();
        if eq_ic(opt, "idx") {
            getidx = true;
        } else if eq_ic(opt, "len") {
            getlen = true;
        } else if eq_ic(opt, "withmatchlen") {
            withmatchlen = true;
        } else if eq_ic(opt, "minmatchlen") && more {
            minmatchlen = args.i64_at(j + 1)?.max(0);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if getlen && getidx {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (a, b) = (&vals[0], &vals[1]);
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CmdError::msg("ERR String too long for LCS"));
    }
    let cells = (a.len() as u128 + 1) * (b.len() as u128 + 1) * 4;
    if cells > ctx.st.cfg.hot.proto_max_bulk_len.max(0) as u128 {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let (total, seq, runs) = lcs_compute(a, b);
    let r = ctx.reply();
    if getidx {
        let shown: Vec<&LcsMatch> = runs
            .iter()
            .filter(|m| minmatchlen == 0 || m.run_len() as i64 >= minmatchlen)
            .collect();
        r.map(2);
        r.bulk(b"matches");
        r.array(shown.len());
        for m in shown {
            r.array(2 + withmatchlen as usize);
            r.array(2);
            r.int(m.a.0 as i64);
            r.int(m.a.1 as i64);
            r.array(2);
            r.int(m.b.0 as i64);
            r.int(m.b.1 as i64);
            if withmatchlen {
                r.int(m.run_len() as i64);
            }
        }
        r.bulk(b"len");
        r.int(total as i64);
    } else if getlen {
        r.int(total as i64);
    } else {
        r.bulk(&seq);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Args {
        let b: Vec<&[u8]> = s.iter().map(|x| x.as_bytes()).collect();
        Args::from_slices(&b)
    }

    #[test]
    fn set_options() {
        let a = v(&["set", "k", "v", "nx", "get", "px", "100"]);
        let o = parse_ext(&a, 3, true).unwrap();
        assert!(o.nx && o.get && !o.xx);
        assert_eq!(
            o.expire,
            Some(ExpireArg {
                pos: 6,
                in_ms: true,
                absolute: false
            })
        );
        for bad in [
            &["set", "k", "v", "nx", "xx"][..],
            &["set", "k", "v", "ex", "1", "px", "1"],
            &["set", "k", "v", "keepttl", "ex", "1"],
            &["set", "k", "v", "ex"],
            &["set", "k", "v", "persist"],
            &["set", "k", "v", "ex", "1", "ex", "2"],
        ] {
            assert_eq!(
                parse_ext(&v(bad), 3, true),
                Err(CmdError::Syntax),
                "{bad:?}"
            );
        }
        let o = parse_ext(&v(&["getex", "k", "persist"]), 2, false).unwrap();
        assert!(o.persist);
        assert!(parse_ext(&v(&["getex", "k", "nx"]), 2, false).is_err());
        assert!(parse_ext(&v(&["getex", "k", "persist", "ex", "1"]), 2, false).is_err());
    }

    #[test]
    fn expire_times() {
        assert_eq!(expire_time(1000, 5, false, false, "set"), Ok(6000));
        assert_eq!(expire_time(1000, 5, true, true, "set"), Ok(5));
        assert!(expire_time(1000, 0, false, false, "set").is_err());
        assert!(expire_time(1000, i64::MAX, false, false, "set").is_err());
        assert!(expire_time(1000, i64::MAX, true, false, "set").is_err());
        let e = expire_time(0, -1, true, false, "setex").unwrap_err();
        assert_eq!(e.text(), "ERR invalid expire time in 'setex' command");
    }

    #[test]
    fn ranges() {
        assert_eq!(str_range(0, 3, 11), Some((0, 3)));
        assert_eq!(str_range(0, -1, 11), Some((0, 10)));
        assert_eq!(str_range(-4, -1, 11), Some((7, 10)));
        assert_eq!(str_range(5, 3, 11), None);
        assert_eq!(str_range(5, 5000, 11), Some((5, 10)));
        assert_eq!(str_range(-5000, 10000, 11), Some((0, 10)));
        assert_eq!(str_range(-1, -3, 5), None);
        assert_eq!(str_range(0, -1, 0), None);
        assert_eq!(str_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }

    #[test]
    fn bit_offsets() {
        assert_eq!(bit_offset(b"7", 512), Ok(7));
        assert!(bit_offset(b"-1", 512).is_err());
        assert!(bit_offset(b"4096", 512).is_err());
        assert_eq!(bit_offset(b"4095", 512), Ok(4095));
        assert!(bit_offset(b"x", 512).is_err());
    }

    #[test]
    fn lcs_runs() {
        let (n, s, runs) = lcs_compute(b"ohmytext", b"mynewtext");
        assert_eq!(n, 6);
        assert_eq!(s, b"mytext");
        assert_eq!(
            runs,
            vec![
                LcsMatch {
                    a: (4, 7),
                    b: (5, 8)
                },
                LcsMatch {
                    a: (2, 3),
                    b: (0, 1)
                }
            ]
        );
        assert_eq!(lcs_compute(b"", b"abc"), (0, vec![], vec![]));
    }
}
