//! Hash commands (`t_hash.c`): HSET, HSETNX, HMSET, HGET, HMGET, HDEL,
//! HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT,
//! HRANDFIELD, HSCAN, HGETDEL, over `types::hash::Hash`, which owns the
//! listpack/hashtable encodings and their conversions. Hash-field expiry
//! (HEXPIRE and friends) is not implemented.

use super::set::{delete_emptied, parse_cursor, parse_scan_opts, scan_loop, with_rng};
use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::db::Value;
use crate::resp::Args;
use crate::types::hash::Hash;
use crate::types::limits;
use crate::util::{eq_ic, fmt_human_double, glob_match, parse_f64, parse_i64};

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
    let (o, r) = ctx.lookup_r(&args[1]);
    match o {
        None => r.null(),
        Some(o) => match o.v.as_hash()?.get(&args[2]) {
            Some(v) => r.bulk(v),
            None => r.null(),
        },
    }
    Ok(())
}

/// HMGET key field [field ...]
pub fn hmget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let h = match o {
        None => None,
        Some(o) => Some(o.v.as_hash()?),
    };
    r.array(args.len() - 2);
    for f in args.iter().skip(2) {
        match h.and_then(|h| h.get(f)) {
            Some(v) => r.bulk(v),
            None => r.null(),
        }
    }
    Ok(())
}

/// HDEL key field [field ...]
pub fn hdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let (o, r) = ctx.lookup_write_r(key);
    let Some(o) = o else {
        r.int(0);
        return Ok(());
    };
    let h = o.v.as_hash_mut()?;
    let mut deleted = 0;
    for f in args.iter().skip(2) {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let empty = h.is_empty();
    r.int(deleted as i64);
    if deleted > 0 {
        ctx.wrote(key, "hdel", notify::HASH);
        ctx.st.dirty += deleted - 1;
        if empty {
            delete_emptied(ctx, key);
        }
    }
    Ok(())
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
    let (o, r) = ctx.lookup_r(&args[1]);
    let n = match o {
        None => 0,
        Some(o) => o.v.as_hash()?.get(&args[2]).map_or(0, |v| v.len()),
    };
    r.int(n as i64);
    Ok(())
}

/// HEXISTS key field
pub fn hexists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let hit = match o {
        None => false,
        Some(o) => o.v.as_hash()?.contains(&args[2]),
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
    match part {
        Part::Both => r.map(h.len()),
        _ => r.array(h.len()),
    }
    h.for_each(|k, v| {
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
    h.set(&args[2], new.to_string().as_bytes(), &lim);
    ctx.wrote(key, "hincrby", notify::HASH);
    ctx.c.reply.int(new);
    Ok(())
}

/// HINCRBYFLOAT key field increment
///
/// Propagates as HSET with the resulting value, so replicas do not redo
/// the floating point arithmetic.
pub fn hincrbyfloat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let incr = args.f64_at(3)?;
    if incr.is_nan() || incr.is_infinite() {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let key = &args[1];
    check_hash(ctx, key)?;
    let old = match ctx.lookup_write(key) {
        None => 0.0,
        Some(o) => match o.v.as_hash()?.get(&args[2]) {
            None => 0.0,
            Some(v) => {
                parse_f64(v).ok_or_else(|| CmdError::msg("ERR hash value is not a float"))?
            }
        },
    };
    let new = old + incr;
    if new.is_nan() || new.is_infinite() {
        return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
    }
    let text = fmt_human_double(new);
    let lim = limits();
    let h = hash_or_create(ctx, key)?;
    h.set(&args[2], text.as_bytes(), &lim);
    ctx.wrote(key, "hincrbyfloat", notify::HASH);
    ctx.c.reply.bulk(text.as_bytes());
    ctx.propagate_as(vec![
        b"hset".to_vec(),
        key.to_vec(),
        args[2].to_vec(),
        text.into_bytes(),
    ]);
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]
pub fn hrandfield(ctx: &mut Ctx, args: &Args) -> CmdResult {
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
    let l = args.i64_at(2)?;
    if l == i64::MIN {
        return Err(CmdError::msg(format!(
            "ERR value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    let withvalues = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], "withvalues") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
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
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        r.array(2);
        r.bulk(b"0");
        r.array(0);
        return Ok(());
    };
    let h = o.v.as_hash()?;
    let opts = parse_scan_opts(args, true)?;
    let mut found: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let keep = |k: &[u8]| opts.pattern.is_none_or(|p| glob_match(p, k, false));
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
            delete_emptied(ctx, key);
        }
    }
    Ok(())
}
