//! Hash commands (`t_hash.c`): HSET, HSETNX, HMSET, HGET, HMGET, HDEL,
//! HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT,
//! HRANDFIELD, HSCAN, HGETDEL, over `types::hash::Hash`, which owns the
//! listpack/hashtable encodings and their conversions; and hash-field
//! expiry (Redis 7.4/8.0): HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT, HTTL,
//! HPTTL, HEXPIRETIME, HPEXPIRETIME, HPERSIST, HGETEX, HSETEX. Expired
//! fields are removed lazily when a command names them (propagated as
//! HDEL, notified as `hexpired`) and actively by `active_expire_fields`.

use super::set::{parse_cursor, parse_scan_opts, scan_loop, with_rng};
use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::db::Value;
use crate::longdouble::LongDouble;
use crate::resp::Args;
use crate::types::hash::Hash;
use crate::types::limits;
use crate::util::{eq_ic, glob_match, parse_i64};

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "hset",
        -4,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Creates or modifies the value of a field in a hash.",
        hset,
    ),
    cmd(
        "hsetnx",
        4,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Sets the value of a field in a hash only when the field doesn't exist.",
        hsetnx,
    ),
    cmd(
        "hmset",
        -4,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Sets the values of multiple fields.",
        hmset,
    ),
    cmd(
        "hget",
        3,
        READONLY | FAST,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the value of a field in a hash.",
        hget,
    ),
    cmd(
        "hmget",
        -3,
        READONLY | FAST,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the values of all fields in a hash.",
        hmget,
    ),
    cmd(
        "hdel",
        -3,
        WRITE | FAST,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
        hdel,
    ),
    cmd(
        "hlen",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Returns the number of fields in a hash.",
        hlen,
    ),
    cmd(
        "hstrlen",
        3,
        READONLY | FAST,
        keys(1, 1, 1),
        "hash",
        "3.2.0",
        "Returns the length of the value of a field.",
        hstrlen,
    ),
    cmd(
        "hexists",
        3,
        READONLY | FAST,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Determines whether a field exists in a hash.",
        hexists,
    ),
    cmd(
        "hkeys",
        2,
        READONLY,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Returns all fields in a hash.",
        hkeys,
    ),
    cmd(
        "hvals",
        2,
        READONLY,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Returns all values in a hash.",
        hvals,
    ),
    cmd(
        "hgetall",
        2,
        READONLY,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Returns all fields and values in a hash.",
        hgetall,
    ),
    cmd(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "hash",
        "2.0.0",
        "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
        hincrby,
    ),
    cmd(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "hash",
        "2.6.0",
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
        hincrbyfloat,
    ),
    cmd(
        "hrandfield",
        -2,
        READONLY,
        keys(1, 1, 1),
        "hash",
        "6.2.0",
        "Returns one or more random fields from a hash.",
        hrandfield,
    ),
    cmd(
        "hscan",
        -3,
        READONLY,
        keys(1, 1, 1),
        "hash",
        "2.8.0",
        "Iterates over fields and values of a hash.",
        hscan,
    ),
    cmd(
        "hgetdel",
        -5,
        WRITE | FAST,
        keys(1, 1, 1),
        "hash",
        "8.0.0",
        "Returns the value of a field and deletes it from the hash.",
        hgetdel,
    ),
    cmd(
        "hexpire",
        -6,
        WRITE | FAST,
        keys(1, 1, 1),
        "hash",
        "7.4.0",
        "Set expiry for hash field using relative time to expire (seconds)",
        hexpire,
    ),
    cmd(
        "hpexpire",
        -6,
        WRITE | FAST,
        keys(1, 1, 1),
        "hash",
        "7.4.0",
        "Set expiry for hash field using relative time to expire (milliseconds)",
        hpexpire,
    ),
    cmd(
        "hexpireat",
        -6,
        WRITE | FAST,
        keys(1, 1, 1),
        "hash",
        "7.4.0",
        "Set expiry for hash field using an absolute Unix timestamp (seconds)",
        hexpireat,
    ),
    cmd(
        "hpexpireat",
        -6,
        WRITE | FAST,
        keys(1, 1, 1),
        "hash",
        "7.4.0",
        "Set expiry for hash field using an absolute Unix timestamp (milliseconds)",
        hpexpireat,
    ),
    cmd(
        "httl",
        -5,
        READONLY | FAST,
        keys(1, 1, 1),
        "hash",
        "7.4.0",
        "Returns the TTL in seconds of a hash field.",
        httl,
    ),
    cmd(
        "hpttl",
        -5,
        READONLY | FAST,
        keys(1, 1, 1),
        "hash",
        "7.4.0",
        "Returns the TTL in milliseconds of a hash field.",
        hpttl,
    ),
    cmd(
        "hexpiretime",
        -5,
        READONLY | FAST,
        keys(1, 1, 1),
        "hash",
        "7.4.0",
        "Returns the expiration time of a hash field as a Unix timestamp, in seconds.",
        hexpiretime,
    ),
    cmd(
        "hpexpiretime",
        -5,
        READONLY | FAST,
        keys(1, 1, 1),
        "hash",
        "7.4.0",
        "Returns the expiration time of a hash field as a Unix timestamp, in msec.",
        hpexpiretime,
    ),
    cmd(
        "hpersist",
        -5,
        WRITE | FAST,
        keys(1, 1, 1),
        "hash",
        "7.4.0",
        "Removes the expiration time for each specified field",
        hpersist,
    ),
    cmd(
        "hgetex",
        -5,
        WRITE | FAST,
        keys(1, 1, 1),
        "hash",
        "8.0.0",
        "Get the value of one or more fields of a given hash key, and optionally set their expiration.",
        hgetex,
    ),
    cmd(
        "hsetex",
        -6,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "hash",
        "8.0.0",
        "Set the value of one or more fields of a given hash key, and optionally set their expiration.",
        hsetex,
    ),
];

/// The hash at `key` for writing, created empty (listpack) if missing.
/// WRONGTYPE if another type is there.
fn hash_or_create<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<&'a mut Hash, CmdError> {
    if ctx.lookup_write(key).is_none() {
        ctx.db().add(key, Value::Hash(Box::default()));
    }
    ctx.lookup_write(key)
        .ok_or(CmdError::NoSuchKey)?
        .v
        .as_hash_mut()
}

/// Checks the type at `key` without creating anything.
fn check_hash(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CmdError> {
    match ctx.lookup_write(key) {
        None => Ok(false),
        Some(o) => o.v.as_hash().map(|_| true),
    }
}

/// HSET key field value [field value ...]
pub fn hset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hset_generic(ctx, args, true)
}

/// HMSET key field value [field value ...] (replies OK)
pub fn hmset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hset_generic(ctx, args, false)
}

fn hset_generic(ctx: &mut Ctx, args: &Args, count_reply: bool) -> CmdResult {
    if args.len() % 2 == 1 {
        let name = if count_reply { "hset" } else { "hmset" };
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{name}' command"
        )));
    }
    let key = &args[1];
    check_hash(ctx, key)?;
    let lim = limits();
    let pairs: Vec<&[u8]> = args.iter().skip(2).collect();
    let h = hash_or_create(ctx, key)?;
    h.try_conversion(&pairs, &lim);
    let mut created = 0;
    for p in pairs.chunks(2) {
        if h.set(p[0], p[1], &lim) {
            created += 1;
        }
    }
    ctx.wrote(key, "hset", notify::HASH);
    ctx.st.dirty += (pairs.len() / 2) as u64 - 1;
    if count_reply {
        ctx.c.reply.int(created);
    } else {
        ctx.c.reply.ok();
    }
    Ok(())
}

/// HSETNX key field value
pub fn hsetnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    lazy_expire(ctx, key, [&args[2]]);
    let exists = match ctx.lookup_write(key) {
        None => false,
        Some(o) => o.v.as_hash()?.contains(&args[2]),
    };
    if exists {
        ctx.c.reply.int(0);
        return Ok(());
    }
    let lim = limits();
    let h = hash_or_create(ctx, key)?;
    h.try_conversion(&[&args[2], &args[3]], &lim);
    h.set(&args[2], &args[3], &lim);
    ctx.wrote(key, "hset", notify::HASH);
    ctx.c.reply.int(1);
    Ok(())
}

/// HGET key field
pub fn hget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    lazy_expire(ctx, &args[1], [&args[2]]);
    let now = ctx.now();
    let (o, r) = ctx.lookup_r(&args[1]);
    match o {
        None => r.null(),
        Some(o) => match o.v.as_hash()?.get_live(&args[2], now) {
            Some(v) => r.bulk(v),
            None => r.null(),
        },
    }
    Ok(())
}

/// HMGET key field [field ...]
pub fn hmget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    lazy_expire(ctx, &args[1], args.iter().skip(2));
    let now = ctx.now();
    let (o, r) = ctx.lookup_r(&args[1]);
    let h = match o {
        None => None,
        Some(o) => Some(o.v.as_hash()?),
    };
    r.array(args.len() - 2);
    for f in args.iter().skip(2) {
        match h.and_then(|h| h.get_live(f, now)) {
            Some(v) => r.bulk(v),
            None => r.null(),
        }
    }
    Ok(())
}

/// HDEL key field [field ...]
pub fn hdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    crate::command::remove_members(
        ctx,
        args,
        crate::db::Value::as_hash_mut,
        "hdel",
        notify::HASH,
    )
}

/// HLEN key
pub fn hlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let n = match o {
        None => 0,
        Some(o) => o.v.as_hash()?.len(),
    };
    r.int(n as i64);
    Ok(())
}

/// HSTRLEN key field
pub fn hstrlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    lazy_expire(ctx, &args[1], [&args[2]]);
    let now = ctx.now();
    let (o, r) = ctx.lookup_r(&args[1]);
    let n = match o {
        None => 0,
        Some(o) => {
            o.v.as_hash()?
                .get_live(&args[2], now)
                .map_or(0, |v| v.len())
        }
    };
    r.int(n as i64);
    Ok(())
}

/// HEXISTS key field
pub fn hexists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    lazy_expire(ctx, &args[1], [&args[2]]);
    let now = ctx.now();
    let (o, r) = ctx.lookup_r(&args[1]);
    let hit = match o {
        None => false,
        Some(o) => o.v.as_hash()?.get_live(&args[2], now).is_some(),
    };
    r.int(hit as i64);
    Ok(())
}

/// What HKEYS/HVALS/HGETALL return.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    Keys,
    Vals,
    Both,
}

fn getall_generic(ctx: &mut Ctx, args: &Args, part: Part) -> CmdResult {
    let now = ctx.now();
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        if part == Part::Both {
            r.map(0);
        } else {
            r.array(0);
        }
        return Ok(());
    };
    let h = o.v.as_hash()?;
    let n = h.live_len(now);
    match part {
        Part::Both => r.map(n),
        _ => r.array(n),
    }
    h.for_each_live(now, |k, v| {
        if part != Part::Vals {
            r.bulk(k);
        }
        if part != Part::Keys {
            r.bulk(v);
        }
    });
    Ok(())
}

/// HKEYS key
pub fn hkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    getall_generic(ctx, args, Part::Keys)
}

/// HVALS key
pub fn hvals(ctx: &mut Ctx, args: &Args) -> CmdResult {
    getall_generic(ctx, args, Part::Vals)
}

/// HGETALL key (a map in RESP3)
pub fn hgetall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    getall_generic(ctx, args, Part::Both)
}

/// HINCRBY key field increment
///
/// # Errors
/// "hash value is not an integer", "increment or decrement would overflow".
pub fn hincrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let incr = args.i64_at(3)?;
    let key = &args[1];
    check_hash(ctx, key)?;
    lazy_expire(ctx, key, [&args[2]]);
    let old = match ctx.lookup_write(key) {
        None => 0,
        Some(o) => match o.v.as_hash()?.get(&args[2]) {
            None => 0,
            Some(v) => {
                parse_i64(v).ok_or_else(|| CmdError::msg("ERR hash value is not an integer"))?
            }
        },
    };
    let new = old
        .checked_add(incr)
        .ok_or_else(|| CmdError::msg("ERR increment or decrement would overflow"))?;
    let lim = limits();
    let h = hash_or_create(ctx, key)?;
    h.set_keep_ttl(&args[2], new.to_string().as_bytes(), &lim);
    ctx.wrote(key, "hincrby", notify::HASH);
    ctx.c.reply.int(new);
    Ok(())
}

/// HINCRBYFLOAT key field increment
///
/// Propagates as HSET with the resulting value, so replicas do not redo
/// the floating point arithmetic.
pub fn hincrbyfloat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let incr = LongDouble::parse(&args[3]).ok_or(CmdError::NotFloat)?;
    if incr.is_infinite() {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let key = &args[1];
    check_hash(ctx, key)?;
    lazy_expire(ctx, key, [&args[2]]);
    let old = match ctx.lookup_write(key) {
        None => None,
        Some(o) => o.v.as_hash()?.get(&args[2]).map(LongDouble::parse),
    };
    let old = match old {
        None => LongDouble::from_i64(0),
        Some(v) => v.ok_or_else(|| CmdError::msg("ERR hash value is not a float"))?,
    };
    let text = old
        .checked_add(incr)
        .ok_or_else(|| CmdError::msg("ERR increment would produce NaN or Infinity"))?
        .to_human();
    let lim = limits();
    let h = hash_or_create(ctx, key)?;
    h.set_keep_ttl(&args[2], text.as_bytes(), &lim);
    ctx.wrote(key, "hincrbyfloat", notify::HASH);
    ctx.c.reply.bulk(text.as_bytes());
    // The final value (no float formatting differences on the other side),
    // and KEEPTTL so a replica keeps the field's TTL, as Redis 8 does.
    ctx.propagate_as(vec![
        b"HSETEX".to_vec(),
        key.to_vec(),
        b"KEEPTTL".to_vec(),
        b"FIELDS".to_vec(),
        b"1".to_vec(),
        args[2].to_vec(),
        text.into_bytes(),
    ]);
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]
pub fn hrandfield(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_all_due(ctx, &args[1]);
    if args.len() == 2 {
        return with_rng(ctx, |ctx, rng| {
            let (o, r) = ctx.lookup_r(&args[1]);
            match o {
                None => r.null(),
                Some(o) => match o.v.as_hash()?.random(rng) {
                    Some((k, _)) => r.bulk(k),
                    None => r.null(),
                },
            }
            Ok(())
        });
    }
    let l = crate::command::range_arg(&args[2], -i64::MAX, i64::MAX, None)?;
    let withvalues = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], "withvalues") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    ctx.arm_reply_limit();
    with_rng(ctx, |ctx, rng| {
        let (o, r) = ctx.lookup_r(&args[1]);
        let Some(o) = o else {
            r.array(0);
            return Ok(());
        };
        let h = o.v.as_hash()?;
        if l == 0 {
            r.array(0);
            return Ok(());
        }
        let resp3 = r.resp >= 3;
        let emit = |r: &mut crate::resp::ReplyBuf, k: &[u8], v: &[u8]| {
            if withvalues && resp3 {
                r.array(2);
            }
            r.bulk(k);
            if withvalues {
                r.bulk(v);
            }
        };
        let header = |r: &mut crate::resp::ReplyBuf, n: usize| {
            if withvalues && !resp3 {
                r.array(n * 2);
            } else {
                r.array(n);
            }
        };
        if l < 0 || l == 1 {
            let n = l.unsigned_abs() as usize;
            header(r, n);
            for _ in 0..n {
                if r.over_limit() {
                    break;
                }
                if let Some((k, v)) = h.random(rng) {
                    emit(r, k, v);
                }
            }
        } else {
            let out = h.random_distinct(l as usize, rng);
            header(r, out.len());
            for (k, v) in &out {
                emit(r, k, v);
            }
        }
        Ok(())
    })
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]
pub fn hscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let now = ctx.now();
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        super::set::reply_empty_scan(r);
        return Ok(());
    };
    let h = o.v.as_hash()?;
    let opts = parse_scan_opts(args, true)?;
    let mut found: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let keep =
        |k: &[u8]| !h.is_expired(k, now) && opts.pattern.is_none_or(|p| glob_match(p, k, false));
    let next = if h.encoding() == "listpack" {
        h.scan(0, |k, v| {
            if keep(k) {
                found.push((k.to_vec(), v.to_vec()))
            }
        })
    } else {
        scan_loop(cursor, opts.count, |c, sampled| {
            h.scan(c, |k, v| {
                *sampled += 1;
                if keep(k) {
                    found.push((k.to_vec(), v.to_vec()));
                }
            })
        })
    };
    r.array(2);
    r.bulk(next.to_string().as_bytes());
    r.array(if opts.novalues {
        found.len()
    } else {
        found.len() * 2
    });
    for (k, v) in &found {
        r.bulk(k);
        if !opts.novalues {
            r.bulk(v);
        }
    }
    Ok(())
}

/// HGETDEL key FIELDS numfields field [field ...]
///
/// Replies with the values (null for missing fields) and deletes the
/// fields; propagates as HDEL of the fields.
pub fn hgetdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    check_hash(ctx, key)?;
    if !eq_ic(&args[2], "fields") {
        return Err(CmdError::msg(
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ));
    }
    let n = parse_i64(&args[3])
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::msg("ERR Number of fields must be a positive integer"))?;
    if n != args.len() as i64 - 4 {
        return Err(CmdError::msg(
            "ERR The `numfields` parameter must match the number of arguments",
        ));
    }
    lazy_expire(ctx, key, args.iter().skip(4));
    let (o, r) = ctx.lookup_write_r(key);
    r.array(n as usize);
    let Some(o) = o else {
        for _ in 0..n {
            r.null();
        }
        return Ok(());
    };
    let h = o.v.as_hash_mut()?;
    let mut deleted = 0u64;
    for f in args.iter().skip(4) {
        match h.get(f) {
            Some(v) => {
                r.bulk(v);
                h.remove(f);
                deleted += 1;
            }
            None => r.null(),
        }
    }
    let empty = h.is_empty();
    if deleted > 0 {
        ctx.wrote(key, "hdel", notify::HASH);
        ctx.st.dirty += deleted - 1;
        let mut argv = vec![b"hdel".to_vec(), key.to_vec()];
        argv.extend(args.iter().skip(4).map(|f| f.to_vec()));
        ctx.propagate_as(argv);
        if empty {
            ctx.emptied(key);
        }
    }
    Ok(())
}

// ---- Hash-field expiry ------------------------------------------------

/// Largest absolute field expire time in ms (Redis's `HFE_MAX_ABS_TIME_MSEC`).
const HFE_MAX_ABS_MS: i64 = (1 << 46) - 1;

/// Redis's `parseExpireTime` for field TTLs: `arg` in seconds or ms,
/// relative to `base` (0 for absolute times); returns unix ms.
fn parse_field_expire(arg: &[u8], secs: bool, base: i64, cmd: &[u8]) -> Result<i64, CmdError> {
    let bad = || {
        CmdError::msg(format!(
            "ERR invalid expire time in '{}' command",
            String::from_utf8_lossy(cmd).to_lowercase()
        ))
    };
    let mut v = parse_i64(arg).ok_or(CmdError::NotInteger)?;
    if v < 0 {
        return Err(CmdError::msg("ERR invalid expire time, must be >= 0"));
    }
    if secs {
        if v > HFE_MAX_ABS_MS / 1000 {
            return Err(bad());
        }
        v *= 1000;
    }
    if v > HFE_MAX_ABS_MS - base {
        return Err(bad());
    }
    Ok(v + base)
}

/// Parses `FIELDS numfields field...` where `FIELDS` is at `at`; returns
/// the index of the first field. `nmsg` is the error for a bad count.
fn parse_fields(args: &Args, at: usize, nmsg: &str) -> Result<usize, CmdError> {
    if at >= args.len() || !eq_ic(&args[at], "fields") {
        return Err(CmdError::msg(
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ));
    }
    let n = (at + 1 < args.len())
        .then(|| parse_i64(&args[at + 1]))
        .flatten()
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::msg(format!("ERR {nmsg}")))?;
    if n != args.len() as i64 - at as i64 - 2 {
        return Err(CmdError::msg(
            "ERR The `numfields` parameter must match the number of arguments",
        ));
    }
    Ok(at + 2)
}

/// Bookkeeping after fields of `key` in `db` expired (lazily or in the
/// cron): stats, HDEL per field to replicas, `hexpired`, and the key's
/// deletion (`del`) if the hash is now empty.
pub fn fields_expired(
    st: &mut crate::server::State,
    db: usize,
    key: &[u8],
    gone: &[Vec<u8>],
    empty: bool,
    in_command: bool,
) {
    if gone.is_empty() {
        return;
    }
    st.stats.expired_subkeys += gone.len() as u64;
    for f in gone {
        let argv = vec![b"HDEL".to_vec(), key.to_vec(), f.clone()];
        if in_command {
            // Wrapped with the command's own propagation, as Redis does.
            st.repl.pre.push(argv);
        } else {
            st.repl.feed(db, argv.iter().map(|a| a.as_slice()));
        }
    }
    st.key_modified(db, key);
    st.notify(notify::HASH, "hexpired", key, db);
    if empty {
        st.dbs[db].delete(key);
        st.notify(notify::GENERIC, "del", key, db);
    }
}

/// `lazy_expire_opt` that deletes the key when its hash empties.
pub fn lazy_expire<'a>(
    ctx: &mut Ctx,
    key: &[u8],
    fields: impl IntoIterator<Item = &'a [u8]>,
) -> usize {
    lazy_expire_opt(false, ctx, key, fields)
}

/// Lazy field expiry: removes those of `fields` of the hash at `key` whose
/// TTL passed. Returns how many were removed.
fn lazy_expire_opt<'a>(
    keep_key: bool,
    ctx: &mut Ctx,
    key: &[u8],
    fields: impl IntoIterator<Item = &'a [u8]>,
) -> usize {
    if !ctx.st.expire_deletes() {
        return 0;
    }
    let now = ctx.now();
    let db = ctx.c.db;
    let Some(o) = ctx.st.lookup(db, key, false, false) else {
        return 0;
    };
    let Ok(h) = o.v.as_hash_mut() else {
        return 0;
    };
    if !h.has_ttls() {
        return 0;
    }
    let mut gone = Vec::new();
    for f in fields {
        if h.is_expired(f, now) {
            h.remove(f);
            gone.push(f.to_vec());
        }
    }
    let empty = h.is_empty() && !keep_key;
    fields_expired(ctx.st, db, key, &gone, empty, true);
    gone.len()
}

/// Removes every expired field of the hash at `key` (HRANDFIELD does).
fn expire_all_due(ctx: &mut Ctx, key: &[u8]) {
    if !ctx.st.expire_deletes() {
        return;
    }
    let now = ctx.now();
    let db = ctx.c.db;
    let Some(o) = ctx.st.lookup(db, key, false, false) else {
        return;
    };
    let Ok(h) = o.v.as_hash_mut() else {
        return;
    };
    let gone = h.expire_due(now, usize::MAX);
    let empty = h.is_empty();
    fields_expired(ctx.st, db, key, &gone, empty, true);
}

/// Active expiry of hash fields over every db: removes up to `budget`
/// due fields in total. Called from the server cron.
pub fn active_expire_fields(st: &mut crate::server::State, budget: usize) {
    let now = st.now_ms;
    let mut left = budget;
    for db in 0..st.dbs.len() {
        if st.dbs[db].hfe.is_empty() {
            continue;
        }
        // Earliest field TTL first, as Redis's ebuckets order hashes: the
        // HDELs reach replicas and the AOF in expiry order.
        let d = &st.dbs[db];
        let mut keys: Vec<(i64, Vec<u8>)> = d
            .hfe
            .iter()
            .map(|k| {
                let min = match d.keys.get(k).map(|o| &o.v) {
                    Some(Value::Hash(h)) => h.min_ttl().unwrap_or(i64::MAX),
                    _ => i64::MIN,
                };
                (min, k.clone())
            })
            .collect();
        keys.sort_unstable();
        for (_, key) in keys {
            if left == 0 {
                return;
            }
            if st.dbs[db].expire_if_needed(&key, now, false) {
                continue;
            }
            let Some(Value::Hash(h)) = st.dbs[db].keys.get_mut(&key).map(|o| &mut o.v) else {
                st.dbs[db].hfe.remove(&key);
                continue;
            };
            let gone = h.expire_due(now, left);
            let empty = h.is_empty();
            let done = !h.has_ttls();
            left -= gone.len();
            if done || empty {
                st.dbs[db].hfe.remove(&key);
            }
            fields_expired(st, db, &key, &gone, empty, false);
        }
    }
}

/// Per-field results of the HEXPIRE family (`SetExRes`).
const E_NO_FIELD: i64 = -2;
const E_FAIL: i64 = 0;
const E_OK: i64 = 1;
const E_DELETED: i64 = 2;

#[derive(Clone, Copy, PartialEq)]
enum Cond {
    None,
    Nx,
    Xx,
    Gt,
    Lt,
}

/// Whether a field whose current expire time is `prev` may get `new`.
fn cond_ok(cond: Cond, prev: Option<i64>, new: i64) -> bool {
    match (cond, prev) {
        (Cond::Xx | Cond::Gt, None) => false,
        (Cond::Nx, Some(_)) => false,
        (Cond::Gt, Some(p)) => p < new,
        (Cond::Lt, Some(p)) => p > new,
        _ => true,
    }
}

/// Sets the TTL of each field (or deletes it when `when` has passed);
/// returns the per-field codes. HDELs for deleted fields are fed to
/// replicas right away, as Redis's `propagateHashFieldDeletion`.
fn set_field_ttls(ctx: &mut Ctx, key: &[u8], fields: &[&[u8]], when: i64, cond: Cond) -> Vec<i64> {
    let now = ctx.now();
    let deletes = ctx.st.expire_deletes();
    let db = ctx.c.db;
    let mut out = Vec::with_capacity(fields.len());
    let mut hdels = Vec::new();
    if let Some(o) = ctx.st.lookup(db, key, false, false)
        && let Ok(h) = o.v.as_hash_mut()
    {
        h.make_ex();
        for f in fields {
            if !h.contains(f) {
                out.push(E_NO_FIELD);
            } else if !cond_ok(cond, h.ttl_of(f), when) {
                out.push(E_FAIL);
            } else if deletes && when <= now {
                h.remove(f);
                hdels.push(f.to_vec());
                out.push(E_DELETED);
            } else {
                h.set_ttl(f, when);
                out.push(E_OK);
            }
        }
    }
    ctx.st.stats.expired_subkeys += hdels.len() as u64;
    for f in &hdels {
        ctx.st
            .repl
            .pre
            .push(vec![b"HDEL".to_vec(), key.to_vec(), f.to_vec()]);
    }
    if out.contains(&E_OK) {
        ctx.db().hfe.insert(key.to_vec());
    }
    out
}

/// Deletes the key if its hash became empty (notifying `del`).
fn delete_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let empty =
        matches!(ctx.lookup_write(key), Some(o) if o.v.as_hash().is_ok_and(|h| h.is_empty()));
    if empty {
        ctx.emptied(key);
    }
}

fn hexpire_generic(ctx: &mut Ctx, args: &Args, secs: bool, relative: bool) -> CmdResult {
    let key = &args[1];
    let exists = check_hash(ctx, key)?;
    let base = if relative { ctx.now() } else { 0 };
    let when = parse_field_expire(&args[2], secs, base, &args[0])?;
    let cond = match &args[3] {
        a if eq_ic(a, "nx") => Cond::Nx,
        a if eq_ic(a, "xx") => Cond::Xx,
        a if eq_ic(a, "gt") => Cond::Gt,
        a if eq_ic(a, "lt") => Cond::Lt,
        _ => Cond::None,
    };
    let at = if cond == Cond::None { 3 } else { 4 };
    let first = parse_fields(args, at, "Parameter `numFields` should be greater than 0")?;
    let fields: Vec<&[u8]> = args.iter().skip(first).collect();
    if !exists {
        let r = ctx.reply();
        r.array(fields.len());
        for _ in &fields {
            r.int(E_NO_FIELD);
        }
        return Ok(());
    }
    let res = set_field_ttls(ctx, key, &fields, when, cond);
    let r = ctx.reply();
    r.array(res.len());
    for &c in &res {
        r.int(c);
    }
    let updated = res.iter().filter(|&&c| c == E_OK).count() as u64;
    let deleted = res.iter().filter(|&&c| c == E_DELETED).count() as u64;
    if updated + deleted > 0 {
        ctx.wrote(
            key,
            if deleted > 0 { "hdel" } else { "hexpire" },
            notify::HASH,
        );
        ctx.st.dirty += updated + deleted - 1;
    }
    delete_if_empty(ctx, key);
    if updated == 0 {
        ctx.prevent_propagation();
        return Ok(());
    }
    let mut argv = vec![
        b"hpexpireat".to_vec(),
        key.to_vec(),
        when.to_string().into_bytes(),
    ];
    if cond != Cond::None {
        argv.push(args[3].to_vec());
    }
    argv.push(b"FIELDS".to_vec());
    argv.push(updated.to_string().into_bytes());
    for (f, &c) in fields.iter().zip(&res) {
        if c == E_OK {
            argv.push(f.to_vec());
        }
    }
    ctx.propagate_as(argv);
    Ok(())
}

/// HEXPIRE key seconds [NX|XX|GT|LT] FIELDS numfields field [field ...]
pub fn hexpire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hexpire_generic(ctx, args, true, true)
}

/// HPEXPIRE key milliseconds [NX|XX|GT|LT] FIELDS numfields field [field ...]
pub fn hpexpire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hexpire_generic(ctx, args, false, true)
}

/// HEXPIREAT key unix-time-seconds [NX|XX|GT|LT] FIELDS numfields field...
pub fn hexpireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hexpire_generic(ctx, args, true, false)
}

/// HPEXPIREAT key unix-time-ms [NX|XX|GT|LT] FIELDS numfields field...
pub fn hpexpireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hexpire_generic(ctx, args, false, false)
}

/// What HTTL and friends report.
#[derive(Clone, Copy)]
enum TtlKind {
    Ttl,
    Pttl,
    ExpireTime,
    PexpireTime,
}

fn httl_generic(ctx: &mut Ctx, args: &Args, kind: TtlKind) -> CmdResult {
    let now = ctx.now();
    let (o, r) = ctx.lookup_r(&args[1]);
    let h = match o {
        None => None,
        Some(o) => Some(o.v.as_hash()?),
    };
    let first = parse_fields(args, 2, "Number of fields must be a positive integer")?;
    r.array(args.len() - first);
    for f in args.iter().skip(first) {
        let Some(h) = h else {
            r.int(-2);
            continue;
        };
        if !h.contains(f) {
            r.int(-2);
            continue;
        }
        match h.ttl_of(f) {
            None => r.int(-1),
            Some(w) if w <= now => r.int(-2),
            Some(w) => r.int(match kind {
                TtlKind::Ttl => (w + 999 - now) / 1000,
                TtlKind::Pttl => w - now,
                TtlKind::ExpireTime => (w + 999) / 1000,
                TtlKind::PexpireTime => w,
            }),
        }
    }
    Ok(())
}

/// HTTL key FIELDS numfields field [field ...]
pub fn httl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    httl_generic(ctx, args, TtlKind::Ttl)
}

/// HPTTL key FIELDS numfields field [field ...]
pub fn hpttl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    httl_generic(ctx, args, TtlKind::Pttl)
}

/// HEXPIRETIME key FIELDS numfields field [field ...]
pub fn hexpiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    httl_generic(ctx, args, TtlKind::ExpireTime)
}

/// HPEXPIRETIME key FIELDS numfields field [field ...]
pub fn hpexpiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    httl_generic(ctx, args, TtlKind::PexpireTime)
}

/// HPERSIST key FIELDS numfields field [field ...]
pub fn hpersist(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    check_hash(ctx, key)?;
    let first = parse_fields(args, 2, "Number of fields must be a positive integer")?;
    let now = ctx.now();
    let (mut o, r) = ctx.lookup_write_r(key);
    r.array(args.len() - first);
    let mut changed = false;
    for f in args.iter().skip(first) {
        let Some(h) = o.as_deref_mut().map(|o| o.v.as_hash_mut()).transpose()? else {
            r.int(-2);
            continue;
        };
        if !h.contains(f) {
            r.int(-2);
            continue;
        }
        match h.ttl_of(f) {
            None => r.int(-1),
            Some(w) if w < now => r.int(-2),
            Some(_) => {
                h.persist(f);
                changed = true;
                r.int(1);
            }
        }
    }
    if changed {
        ctx.wrote(key, "hpersist", notify::HASH);
    }
    Ok(())
}

/// HGETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST] FIELDS numfields field...
///
/// Propagates as HPEXPIREAT (or HPERSIST) of the fields it changed.
pub fn hgetex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    #[derive(PartialEq, Clone, Copy)]
    enum Op {
        Get,
        Expire,
        Persist,
    }
    let key = &args[1];
    let exists = check_hash(ctx, key)?;
    let opt = &args[2];
    let now = ctx.now();
    let (op, when, at) =
        if eq_ic(opt, "ex") || eq_ic(opt, "px") || eq_ic(opt, "exat") || eq_ic(opt, "pxat") {
            let secs = eq_ic(opt, "ex") || eq_ic(opt, "exat");
            let base = if eq_ic(opt, "ex") || eq_ic(opt, "px") {
                now
            } else {
                0
            };
            let w = parse_field_expire(&args[3], secs, base, &args[0])?;
            (Op::Expire, w, 4)
        } else if eq_ic(opt, "persist") {
            (Op::Persist, 0, 3)
        } else {
            (Op::Get, 0, 2)
        };
    if at + 1 >= args.len() {
        return Err(CmdError::msg(
            "ERR wrong number of arguments for 'hgetex' command",
        ));
    }
    let first = parse_fields(args, at, "Number of fields must be a positive integer")?;
    let fields: Vec<&[u8]> = args.iter().skip(first).collect();
    if !exists {
        let r = ctx.reply();
        r.array(fields.len());
        for _ in &fields {
            r.null();
        }
        return Ok(());
    }
    // Lazy expiry without deleting the key yet (Redis avoids the hash
    // deletion until the end of the command).
    let deletes = ctx.st.expire_deletes();
    let db = ctx.c.db;
    let mut expired = Vec::new();
    let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(fields.len());
    {
        let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
        let h = o.v.as_hash_mut()?;
        for f in &fields {
            if h.is_expired(f, now) {
                if deletes && h.remove(f) {
                    expired.push(f.to_vec());
                }
                values.push(None);
            } else {
                values.push(h.get(f).map(|v| v.to_vec()));
            }
        }
    }
    ctx.st.stats.expired_subkeys += expired.len() as u64;
    for f in &expired {
        ctx.st
            .repl
            .pre
            .push(vec![b"HDEL".to_vec(), key.to_vec(), f.to_vec()]);
    }
    // Redis gets and expires field by field: a field named again after a
    // deadline in the past deleted it reads as missing.
    if op == Op::Expire && deletes && when <= now {
        let mut seen: Vec<&[u8]> = Vec::new();
        for (f, v) in fields.iter().zip(values.iter_mut()) {
            if seen.contains(f) {
                *v = None;
            } else if v.is_some() {
                seen.push(f);
            }
        }
    }
    let mut present: Vec<&[u8]> = Vec::new();
    for (f, v) in fields.iter().zip(&values) {
        if v.is_some() && !present.contains(f) {
            present.push(f);
        }
    }
    let mut updated: Vec<&[u8]> = Vec::new();
    let mut deleted = 0u64;
    match op {
        Op::Get => {}
        Op::Expire => {
            let res = set_field_ttls(ctx, key, &present, when, Cond::None);
            for (f, &c) in present.iter().zip(&res) {
                match c {
                    E_OK => updated.push(f),
                    E_DELETED => deleted += 1,
                    _ => {}
                }
            }
        }
        Op::Persist => {
            let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
            let h = o.v.as_hash_mut()?;
            h.make_ex();
            for f in &present {
                if h.persist(f) {
                    updated.push(f);
                }
            }
        }
    }
    let r = ctx.reply();
    r.array(values.len());
    for v in &values {
        match v {
            Some(v) => r.bulk(v),
            None => r.null(),
        }
    }
    if expired.is_empty() && deleted == 0 && updated.is_empty() {
        return Ok(());
    }
    ctx.st.dirty += deleted + updated.len() as u64;
    ctx.st.key_modified(db, key);
    ctx.st.blocking.signal(db, key);
    if !expired.is_empty() {
        ctx.st.notify(notify::HASH, "hexpired", key, db);
    }
    if !updated.is_empty() {
        let mut argv = if op == Op::Persist {
            ctx.st.notify(notify::HASH, "hpersist", key, db);
            vec![b"hpersist".to_vec(), key.to_vec()]
        } else {
            ctx.st.notify(notify::HASH, "hexpire", key, db);
            vec![
                b"hpexpireat".to_vec(),
                key.to_vec(),
                when.to_string().into_bytes(),
            ]
        };
        argv.push(b"FIELDS".to_vec());
        argv.push(updated.len().to_string().into_bytes());
        argv.extend(updated.iter().map(|f| f.to_vec()));
        ctx.propagate_as(argv);
    } else {
        if deleted > 0 {
            ctx.st.notify(notify::HASH, "hdel", key, db);
        }
        ctx.prevent_propagation();
    }
    delete_if_empty(ctx, key);
    Ok(())
}

/// HSETEX key [FNX|FXX] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]
/// FIELDS numfields field value [field value ...]
///
/// Replies 1 when the fields were set, 0 when FNX/FXX prevented it.
pub fn hsetex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    #[derive(PartialEq, Clone, Copy)]
    enum Ttl {
        Discard,
        Keep,
        Set,
    }
    let key = &args[1];
    let now = ctx.now();
    let mut fnx = false;
    let mut fxx = false;
    let mut ttl = Ttl::Discard;
    let mut when = 0i64;
    let mut pxat = false;
    let mut first = None;
    let arity = || CmdError::msg("ERR wrong number of arguments for 'hsetex' command");
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "fields") {
            if i + 3 >= args.len() {
                return Err(arity());
            }
            let n = parse_i64(&args[i + 1])
                .filter(|&n| (1..=i32::MAX as i64).contains(&n))
                .ok_or_else(|| CmdError::msg("ERR invalid number of fields"))?;
            let remaining = args.len() - i - 2;
            if !remaining.is_multiple_of(2) || n as usize != remaining / 2 {
                return Err(arity());
            }
            first = Some(i + 2);
            break;
        } else if eq_ic(a, "ex") || eq_ic(a, "px") || eq_ic(a, "exat") || eq_ic(a, "pxat") {
            if ttl != Ttl::Discard {
                return Err(CmdError::msg(
                    "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
                ));
            }
            if i + 1 >= args.len() {
                return Err(CmdError::msg("ERR missing expire time"));
            }
            let secs = eq_ic(a, "ex") || eq_ic(a, "exat");
            let base = if eq_ic(a, "ex") || eq_ic(a, "px") {
                now
            } else {
                0
            };
            pxat = eq_ic(a, "pxat");
            when = parse_field_expire(&args[i + 1], secs, base, &args[0])?;
            ttl = Ttl::Set;
            i += 1;
        } else if eq_ic(a, "keepttl") {
            if ttl != Ttl::Discard {
                return Err(CmdError::msg(
                    "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
                ));
            }
            ttl = Ttl::Keep;
        } else if eq_ic(a, "fxx") || eq_ic(a, "fnx") {
            if fnx || fxx {
                return Err(CmdError::msg(
                    "ERR Only one of FXX or FNX arguments can be specified",
                ));
            }
            if eq_ic(a, "fxx") {
                fxx = true;
            } else {
                fnx = true;
            }
        } else {
            return Err(CmdError::msg(format!(
                "ERR unknown argument: {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    let Some(first) = first else {
        return Err(arity());
    };
    let exists = check_hash(ctx, key)?;
    if !exists && fxx {
        ctx.c.reply.int(0);
        return Ok(());
    }
    let pairs: Vec<&[u8]> = args.iter().skip(first).collect();
    let fields: Vec<&[u8]> = pairs.iter().step_by(2).copied().collect();
    let mut expired = 0;
    if exists && (fnx || fxx) {
        // The key stays even if emptied: HSETEX may fill it again.
        expired = lazy_expire_opt(true, ctx, key, fields.iter().copied());
        let found = match ctx.lookup_write(key) {
            None => 0,
            Some(o) => {
                let h = o.v.as_hash()?;
                fields.iter().filter(|f| h.contains(f)).count()
            }
        };
        if (fnx && found > 0) || (fxx && found < fields.len()) {
            ctx.c.reply.int(0);
            delete_if_empty(ctx, key);
            return Ok(());
        }
    }
    let _ = expired;
    let lim = limits();
    hash_or_create(ctx, key)?.try_conversion(&pairs, &lim);
    let mut deleted = 0;
    for p in pairs.chunks(2) {
        let h = hash_or_create(ctx, key)?;
        if ttl == Ttl::Discard {
            h.set(p[0], p[1], &lim);
        } else {
            h.set_keep_ttl(p[0], p[1], &lim);
        }
        // Field by field, as Redis: a time in the past deletes each field
        // before the next is added, so the hash never passes
        // hash-max-listpack-entries on the way (and stays a listpack).
        if ttl == Ttl::Set {
            let res = set_field_ttls(ctx, key, &[p[0]], when, Cond::None);
            deleted += res.iter().filter(|&&c| c == E_DELETED).count();
        }
    }
    ctx.wrote(key, "hset", notify::HASH);
    ctx.st.dirty += fields.len() as u64 - 1;
    let db = ctx.c.db;
    if ttl == Ttl::Set {
        ctx.st.notify(
            notify::HASH,
            if deleted > 0 { "hdel" } else { "hexpire" },
            key,
            db,
        );
    }
    ctx.c.reply.int(1);
    if deleted > 0 {
        ctx.prevent_propagation();
    } else if ttl == Ttl::Set && !pxat {
        let mut argv: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        for j in 2..first {
            let a = &args[j];
            if eq_ic(a, "ex") || eq_ic(a, "px") || eq_ic(a, "exat") {
                argv[j] = b"PXAT".to_vec();
                argv[j + 1] = when.to_string().into_bytes();
            }
        }
        ctx.propagate_as(argv);
    }
    delete_if_empty(ctx, key);
    Ok(())
}
