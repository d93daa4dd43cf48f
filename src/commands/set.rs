//! Set commands (`t_set.c`): SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER,
//! SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER[CARD|STORE], SUNION[STORE],
//! SDIFF[STORE], SSCAN, over `types::set::Set`, which owns the encodings
//! and their conversions.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, keys};
use crate::config::notify;
use crate::db::Value;
use crate::resp::{Args, ReplyBuf};
use crate::types::limits;
use crate::types::set::Set;
use crate::util::{eq_ic, glob_match, parse_i64};

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "sadd",
        -3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "set",
        "1.0.0",
        "Adds one or more members to a set. Creates the key if it doesn't exist.",
        sadd,
    ),
    cmd(
        "srem",
        -3,
        WRITE | FAST,
        keys(1, 1, 1),
        "set",
        "1.0.0",
        "Removes one or more members from a set. Deletes the set if the last member was removed.",
        srem,
    ),
    cmd(
        "smembers",
        2,
        READONLY,
        keys(1, 1, 1),
        "set",
        "1.0.0",
        "Returns all members of a set.",
        smembers,
    ),
    cmd(
        "sismember",
        3,
        READONLY | FAST,
        keys(1, 1, 1),
        "set",
        "1.0.0",
        "Determines whether a member belongs to a set.",
        sismember,
    ),
    cmd(
        "smismember",
        -3,
        READONLY | FAST,
        keys(1, 1, 1),
        "set",
        "6.2.0",
        "Determines whether multiple members belong to a set.",
        smismember,
    ),
    cmd(
        "scard",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "set",
        "1.0.0",
        "Returns the number of members in a set.",
        scard,
    ),
    cmd(
        "spop",
        -2,
        WRITE | FAST,
        keys(1, 1, 1),
        "set",
        "1.0.0",
        "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
        spop,
    ),
    cmd(
        "srandmember",
        -2,
        READONLY,
        keys(1, 1, 1),
        "set",
        "1.0.0",
        "Get one or multiple random members from a set",
        srandmember,
    ),
    cmd(
        "smove",
        4,
        WRITE | FAST,
        keys(1, 2, 1),
        "set",
        "1.0.0",
        "Moves a member from one set to another.",
        smove,
    ),
    cmd(
        "sinter",
        -2,
        READONLY,
        keys(1, -1, 1),
        "set",
        "1.0.0",
        "Returns the intersect of multiple sets.",
        sinter,
    ),
    // Keys are counted by numkeys: no fixed legacy range.
    CommandSpec {
        getkeys: Some(crate::commands::list::mpop_finder),
        ..cmd(
            "sintercard",
            -3,
            READONLY,
            NO_KEYS,
            "set",
            "7.0.0",
            "Returns the number of members of the intersect of multiple sets.",
            sintercard,
        )
    },
    cmd(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        keys(1, -1, 1),
        "set",
        "1.0.0",
        "Stores the intersect of multiple sets in a key.",
        sinterstore,
    ),
    cmd(
        "sunion",
        -2,
        READONLY,
        keys(1, -1, 1),
        "set",
        "1.0.0",
        "Returns the union of multiple sets.",
        sunion,
    ),
    cmd(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        keys(1, -1, 1),
        "set",
        "1.0.0",
        "Stores the union of multiple sets in a key.",
        sunionstore,
    ),
    cmd(
        "sdiff",
        -2,
        READONLY,
        keys(1, -1, 1),
        "set",
        "1.0.0",
        "Returns the difference of multiple sets.",
        sdiff,
    ),
    cmd(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        keys(1, -1, 1),
        "set",
        "1.0.0",
        "Stores the difference of multiple sets in a key.",
        sdiffstore,
    ),
    cmd(
        "sscan",
        -3,
        READONLY,
        keys(1, 1, 1),
        "set",
        "2.8.0",
        "Iterates over members of a set.",
        sscan,
    ),
];

/// Borrows the server's random generator out of `ctx` for the duration of
/// `f` (the keyspace is borrowed at the same time).
pub(crate) fn with_rng<T>(
    ctx: &mut Ctx,
    f: impl FnOnce(&mut Ctx, &mut crate::util::Rng) -> T,
) -> T {
    let mut rng = std::mem::take(&mut ctx.st.rng);
    let out = f(ctx, &mut rng);
    ctx.st.rng = rng;
    out
}

/// SADD key member [member ...]
pub fn sadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let lim = limits();
    let n = args.len() - 2;
    let exists = match ctx.lookup_write(key) {
        Some(o) => {
            o.v.as_set_mut()?.maybe_convert(n, &lim);
            true
        }
        None => false,
    };
    if !exists {
        let s = Set::create(&args[2], n, &lim);
        ctx.db().add(key, Value::Set(Box::new(s)));
    }
    let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
    let s = o.v.as_set_mut()?;
    let mut added = 0;
    for m in args.iter().skip(2) {
        if s.add(m, &lim) {
            added += 1;
        }
    }
    if added > 0 {
        ctx.wrote(key, "sadd", notify::SET);
        ctx.st.dirty += added - 1;
    }
    ctx.c.reply.int(added as i64);
    Ok(())
}

/// SREM key member [member ...]
pub fn srem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    crate::command::remove_members(ctx, args, crate::db::Value::as_set_mut, "srem", notify::SET)
}

/// SMEMBERS key
pub fn smembers(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    match o {
        None => r.set(0),
        Some(o) => {
            let s = o.v.as_set()?;
            r.set(s.len());
            s.for_each(|m| r.bulk(m));
        }
    }
    Ok(())
}

/// SISMEMBER key member
pub fn sismember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let hit = match o {
        None => false,
        Some(o) => o.v.as_set()?.contains(&args[2]),
    };
    r.int(hit as i64);
    Ok(())
}

/// SMISMEMBER key member [member ...]
pub fn smismember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let s = match o {
        None => None,
        Some(o) => Some(o.v.as_set()?),
    };
    r.array(args.len() - 2);
    for m in args.iter().skip(2) {
        r.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

/// SCARD key
pub fn scard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let n = match o {
        None => 0,
        Some(o) => o.v.as_set()?.len(),
    };
    r.int(n as i64);
    Ok(())
}

/// SPOP key [count]
///
/// Without a count, pops one member and propagates as SREM. With a count:
/// popping everything propagates as DEL (UNLINK under
/// lazyfree-lazy-server-del); otherwise as SREMs of up to 1024 members.
pub fn spop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if args.len() == 3 {
        return spop_count(ctx, args);
    }
    let key = &args[1];
    let popped = with_rng(
        ctx,
        |ctx, rng| -> Result<Option<(Vec<u8>, bool)>, CmdError> {
            let Some(o) = ctx.lookup_write(key) else {
                return Ok(None);
            };
            let s = o.v.as_set_mut()?;
            Ok(s.pop_random(rng).map(|m| (m, s.is_empty())))
        },
    )?;
    let Some((m, empty)) = popped else {
        ctx.c.reply.null();
        return Ok(());
    };
    ctx.c.reply.bulk(&m);
    ctx.wrote(key, "spop", notify::SET);
    ctx.propagate_as(vec![b"srem".to_vec(), key.to_vec(), m]);
    if empty {
        ctx.emptied(key);
    }
    Ok(())
}

/// A SPOP batch is propagated as SREMs of at most this many members.
const SPOP_BATCH: usize = 1024;
/// SPOP with a count rebuilds the set from the members it keeps once the
/// remainder is small compared with the count (Redis's strategy switch).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn spop_count(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = args.i64_at(2)?;
    if count < 0 {
        return Err(CmdError::msg("ERR value is out of range, must be positive"));
    }
    let count = count as u64;
    let key = &args[1];
    let lazy = ctx.st.cfg.bool("lazyfree-lazy-server-del");
    let lim = limits();
    let size = match ctx.lookup_write(key) {
        None => 0,
        Some(o) => o.v.as_set()?.len(),
    };
    if size == 0 || count == 0 {
        ctx.c.reply.set(0);
        return Ok(());
    }
    if count >= size as u64 {
        let members = ctx
            .lookup_write(key)
            .ok_or(CmdError::NoSuchKey)?
            .v
            .as_set()?
            .members();
        let r = &mut ctx.c.reply;
        r.set(members.len());
        for m in &members {
            r.bulk(m);
        }
        ctx.wrote(key, "spop", notify::SET);
        ctx.st.dirty += size as u64 - 1;
        ctx.emptied(key);
        let del: &[u8] = if lazy { b"unlink" } else { b"del" };
        ctx.propagate_as(vec![del.to_vec(), key.to_vec()]);
        return Ok(());
    }
    let count = count as usize;
    let remaining = size - count;
    let popped = with_rng(ctx, |ctx, rng| -> Result<Vec<Vec<u8>>, CmdError> {
        let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
        let s = o.v.as_set_mut()?;
        if remaining * SPOP_MOVE_STRATEGY_MUL > count {
            let out = s.random_distinct(count, rng);
            for m in &out {
                s.remove(m);
            }
            Ok(out)
        } else {
            // Keep `remaining` random members in a fresh set, return the
            // rest.
            let keep = s.random_distinct(remaining, rng);
            let mut fresh = match s.encoding() {
                "intset" => Set::new_intset(),
                _ => Set::new_listpack(),
            };
            for m in &keep {
                s.remove(m);
                fresh.add(m, &lim);
            }
            let out = s.members();
            *s = fresh;
            Ok(out)
        }
    })?;
    let r = &mut ctx.c.reply;
    r.set(popped.len());
    for m in &popped {
        r.bulk(m);
    }
    ctx.wrote(key, "spop", notify::SET);
    ctx.st.dirty += count as u64 - 1;
    for chunk in popped.chunks(SPOP_BATCH) {
        let mut argv = Vec::with_capacity(chunk.len() + 2);
        argv.push(b"srem".to_vec());
        argv.push(key.to_vec());
        argv.extend(chunk.iter().cloned());
        ctx.propagate_as(argv);
    }
    Ok(())
}

/// SRANDMEMBER key [count]
pub fn srandmember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if args.len() == 3 {
        let l = crate::command::range_arg(&args[2], -i64::MAX, i64::MAX, None)?;
        ctx.arm_reply_limit();
        return with_rng(ctx, |ctx, rng| {
            let (o, r) = ctx.lookup_r(&args[1]);
            let Some(o) = o else {
                r.array(0);
                return Ok(());
            };
            let s = o.v.as_set()?;
            if l == 0 {
                r.array(0);
            } else if l < 0 || l == 1 {
                let n = l.unsigned_abs();
                r.array(n as usize);
                for _ in 0..n {
                    if r.over_limit() {
                        break;
                    }
                    if let Some(m) = s.random(rng) {
                        r.bulk(&m);
                    }
                }
            } else {
                let out = s.random_distinct(l as usize, rng);
                r.array(out.len());
                for m in &out {
                    r.bulk(m);
                }
            }
            Ok(())
        });
    }
    with_rng(ctx, |ctx, rng| {
        let (o, r) = ctx.lookup_r(&args[1]);
        match o {
            None => r.null(),
            Some(o) => match o.v.as_set()?.random(rng) {
                Some(m) => r.bulk(&m),
                None => r.null(),
            },
        }
        Ok(())
    })
}

/// SMOVE source destination member
pub fn smove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (src, dst, m) = (&args[1], &args[2], &args[3]);
    let lim = limits();
    let src_exists = match ctx.lookup_write(src) {
        None => false,
        Some(o) => {
            o.v.as_set()?;
            true
        }
    };
    if !src_exists {
        ctx.c.reply.int(0);
        return Ok(());
    }
    if let Some(o) = ctx.lookup_write(dst) {
        o.v.as_set()?;
    }
    if src == dst {
        let hit = ctx
            .lookup_write(src)
            .ok_or(CmdError::NoSuchKey)?
            .v
            .as_set()?
            .contains(m);
        ctx.c.reply.int(hit as i64);
        return Ok(());
    }
    let o = ctx.lookup_write(src).ok_or(CmdError::NoSuchKey)?;
    let s = o.v.as_set_mut()?;
    if !s.remove(m) {
        ctx.c.reply.int(0);
        return Ok(());
    }
    let empty = s.is_empty();
    ctx.wrote(src, "srem", notify::SET);
    if empty {
        ctx.emptied(src);
    }
    if ctx.lookup_write(dst).is_none() {
        ctx.db()
            .add(dst, Value::Set(Box::new(Set::create(m, 1, &lim))));
    }
    let o = ctx.lookup_write(dst).ok_or(CmdError::NoSuchKey)?;
    if o.v.as_set_mut()?.add(m, &lim) {
        ctx.wrote(dst, "sadd", notify::SET);
    }
    ctx.c.reply.int(1);
    Ok(())
}

/// Looks up every key in `keys` (expiring due ones) and checks that the
/// live ones are sets; returns which exist. WRONGTYPE on the first key of
/// another type.
fn check_sets(ctx: &mut Ctx, keys: &[&[u8]]) -> Result<Vec<bool>, CmdError> {
    let mut exist = Vec::with_capacity(keys.len());
    for k in keys {
        match ctx.lookup(k) {
            None => exist.push(false),
            Some(o) => {
                o.v.as_set()?;
                exist.push(true);
            }
        }
    }
    Ok(exist)
}

/// The sets at `keys` (None for missing keys), after `check_sets`.
fn sets_of<'a>(ctx: &'a Ctx, keys: &[&[u8]]) -> Vec<Option<&'a Set>> {
    let db = &ctx.st.dbs[ctx.c.db];
    keys.iter()
        .map(|k| db.keys.get(k).and_then(|o| o.v.as_set().ok()))
        .collect()
}

/// An intersection's members (reply modes) and stored set (store mode).
type InterResult = Option<(Vec<Vec<u8>>, Option<Set>)>;

/// What an intersection is for.
enum InterMode {
    Reply,
    Card(usize),
    Store,
}

/// The intersection of the sets at `keys`. For `Store`, the result set
/// with Redis's encoding (intset if the smallest input is one, else a
/// listpack that grows as needed, re-packed as an intset when all members
/// are integers); otherwise a plain list of members (stopping at a
/// positive `Card` limit).
fn intersect(ctx: &mut Ctx, keys: &[&[u8]], mode: &InterMode) -> Result<InterResult, CmdError> {
    let exist = check_sets(ctx, keys)?;
    if exist.iter().any(|e| !e) {
        return Ok(None);
    }
    let lim = limits();
    let mut sets: Vec<&Set> = sets_of(ctx, keys).into_iter().flatten().collect();
    sets.sort_by_key(|s| s.len());
    let first = sets[0];
    let limit = match mode {
        InterMode::Card(l) => *l,
        _ => 0,
    };
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut dst = matches!(mode, InterMode::Store).then(|| first.empty_like());
    let mut only_integers = true;
    let mut done = false;
    first.for_each(|m| {
        if done {
            return;
        }
        if sets[1..]
            .iter()
            .all(|s| std::ptr::eq(*s, first) || s.contains(m))
        {
            match &mut dst {
                Some(d) => {
                    if only_integers && parse_i64(m).is_none() {
                        only_integers = false;
                    }
                    d.add(m, &lim);
                }
                None => {
                    out.push(m.to_vec());
                    if limit > 0 && out.len() >= limit {
                        done = true;
                    }
                }
            }
        }
    });
    if let Some(d) = &mut dst
        && only_integers
    {
        d.maybe_to_intset(&lim);
    }
    Ok(Some((out, dst)))
}

/// SINTER key [key ...]
pub fn sinter(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    let res = intersect(ctx, &keys, &InterMode::Reply)?;
    let r = &mut ctx.c.reply;
    match res {
        None => r.set(0),
        Some((out, _)) => {
            r.set(out.len());
            for m in &out {
                r.bulk(m);
            }
        }
    }
    Ok(())
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn sintercard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let numkeys = parse_i64(&args[1])
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    if numkeys > args.len() as i64 - 2 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if eq_ic(&args[i], "limit") && i + 1 < args.len() {
            let l = parse_i64(&args[i + 1])
                .filter(|&n| n >= 0)
                .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))?;
            limit = l as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys: Vec<&[u8]> = args.iter().skip(2).take(numkeys).collect();
    let n = match intersect(ctx, &keys, &InterMode::Card(limit))? {
        None => 0,
        Some((out, _)) => out.len(),
    };
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// Stores `set` at `dst` (replacing whatever was there, TTL dropped) and
/// replies with its size; an empty result deletes `dst` instead.
fn store_result(ctx: &mut Ctx, dst: &[u8], set: Option<Set>, event: &str) {
    match set {
        Some(s) if !s.is_empty() => {
            let n = s.len();
            ctx.db().set(dst, Value::Set(Box::new(s)), false);
            ctx.wrote(dst, event, notify::SET);
            ctx.c.reply.int(n as i64);
        }
        _ => {
            ctx.c.reply.int(0);
            if ctx.lookup_write(dst).is_some() {
                ctx.db().delete(dst);
                let db = ctx.c.db;
                ctx.st.dirty += 1;
                ctx.st.blocking.signal(db, dst);
                ctx.st.key_modified(db, dst);
                ctx.st.notify(notify::GENERIC, "del", dst, db);
            }
        }
    }
}

/// SINTERSTORE destination key [key ...]
pub fn sinterstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    let res = intersect(ctx, &keys, &InterMode::Store)?;
    store_result(ctx, &args[1], res.and_then(|r| r.1), "sinterstore");
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Diff,
}

/// SUNION/SDIFF and their STORE forms (Redis's `sunionDiffGenericCommand`).
/// The result set starts as an intset (always when storing; when replying,
/// only if every input is an intset, which keeps the reply sorted) and
/// converts as members are added.
fn union_diff(ctx: &mut Ctx, keys: &[&[u8]], store: bool, op: Op) -> Result<Set, CmdError> {
    check_sets(ctx, keys)?;
    let lim = limits();
    let sets = sets_of(ctx, keys);
    let all_intsets = sets.iter().flatten().all(|s| s.encoding() == "intset");
    let mut dst = if store || all_intsets {
        Set::new_intset()
    } else {
        Set::new_hashtable()
    };
    match op {
        Op::Union => {
            for s in sets.iter().flatten() {
                s.for_each(|m| {
                    dst.add(m, &lim);
                });
            }
        }
        Op::Diff => {
            let Some(first) = sets[0] else {
                return Ok(dst);
            };
            if sets[1..]
                .iter()
                .any(|s| s.is_some_and(|s| std::ptr::eq(s, first)))
            {
                return Ok(dst);
            }
            first.for_each(|m| {
                if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                    dst.add(m, &lim);
                }
            });
        }
    }
    Ok(dst)
}

fn reply_set(r: &mut ReplyBuf, s: &Set) {
    r.set(s.len());
    s.for_each(|m| r.bulk(m));
}

/// SUNION key [key ...]
pub fn sunion(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    let s = union_diff(ctx, &keys, false, Op::Union)?;
    reply_set(&mut ctx.c.reply, &s);
    Ok(())
}

/// SUNIONSTORE destination key [key ...]
pub fn sunionstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    let s = union_diff(ctx, &keys, true, Op::Union)?;
    store_result(ctx, &args[1], Some(s), "sunionstore");
    Ok(())
}

/// SDIFF key [key ...]
pub fn sdiff(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    let s = union_diff(ctx, &keys, false, Op::Diff)?;
    reply_set(&mut ctx.c.reply, &s);
    Ok(())
}

/// SDIFFSTORE destination key [key ...]
pub fn sdiffstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    let s = union_diff(ctx, &keys, true, Op::Diff)?;
    store_result(ctx, &args[1], Some(s), "sdiffstore");
    Ok(())
}

/// Options of SSCAN/HSCAN (and ZSCAN): COUNT, MATCH, NOVALUES.
pub struct ScanOpts<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
    pub novalues: bool,
}

/// Parses a collection scan's cursor, as Redis's `parseScanCursorOrReply`.
pub fn parse_cursor(b: &[u8]) -> Result<u64, CmdError> {
    std::str::from_utf8(b)
        .ok()
        .filter(|s| !s.starts_with('+'))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| CmdError::msg("ERR invalid cursor"))
}

/// The reply to a scan of a missing key: cursor 0, no elements.
pub fn reply_empty_scan(r: &mut crate::resp::ReplyBuf) {
    r.array(2);
    r.bulk(b"0");
    r.array(0);
}

/// Parses the options of a collection scan from `args[3..]`. NOVALUES is
/// only accepted when `hash`.
pub fn parse_scan_opts(args: &Args, hash: bool) -> Result<ScanOpts<'_>, CmdError> {
    let mut o = ScanOpts {
        count: 10,
        pattern: None,
        novalues: false,
    };
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - i;
        if eq_ic(&args[i], "count") && more >= 2 {
            let c = args.i64_at(i + 1)?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = c as usize;
            i += 2;
        } else if eq_ic(&args[i], "match") && more >= 2 {
            o.pattern = if &args[i + 1][..] == b"*" {
                None
            } else {
                Some(&args[i + 1])
            };
            i += 2;
        } else if eq_ic(&args[i], "novalues") {
            if !hash {
                return Err(CmdError::msg(
                    "ERR NOVALUES option can only be used in HSCAN",
                ));
            }
            o.novalues = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

/// Runs scan steps (`step(cursor, sink)` returns the next cursor) until
/// `count` entries were sampled, the cursor wraps, or ten times `count`
/// buckets were visited, as Redis's `scanGenericCommand` does.
pub fn scan_loop(
    mut cursor: u64,
    count: usize,
    mut step: impl FnMut(u64, &mut usize) -> u64,
) -> u64 {
    let mut sampled = 0usize;
    let mut maxiter = count.saturating_mul(10);
    loop {
        cursor = step(cursor, &mut sampled);
        if cursor == 0 || maxiter == 0 || sampled >= count {
            return cursor;
        }
        maxiter -= 1;
    }
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
pub fn sscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        reply_empty_scan(r);
        return Ok(());
    };
    let s = o.v.as_set()?;
    let opts = parse_scan_opts(args, false)?;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let keep = |m: &[u8]| opts.pattern.is_none_or(|p| glob_match(p, m, false));
    let next = if s.scan_is_single_pass() {
        s.scan(0, |m| {
            if keep(m) {
                found.push(m.to_vec())
            }
        })
    } else {
        scan_loop(cursor, opts.count, |c, sampled| {
            s.scan(c, |m| {
                *sampled += 1;
                if keep(m) {
                    found.push(m.to_vec());
                }
            })
        })
    };
    r.array(2);
    r.bulk(next.to_string().as_bytes());
    r.array(found.len());
    for m in &found {
        r.bulk(m);
    }
    Ok(())
}
