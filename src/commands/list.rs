//! List commands over `Value::List` (`crate::types::list::List`, which
//! owns the listpack/quicklist encoding decisions).
//!
//! As in Redis's `t_list.c`, pushes, pops and moves share one generic core
//! each (`push_generic`, `pop_generic`, `lmove_generic`), blocking variants
//! park the client with `Ctx::block` and are re-run when a key is written,
//! and a list that becomes empty is deleted with its key.

use crate::command::flags::*;
use crate::command::{
    ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, keys, range_arg,
};
use crate::config::notify;
use crate::db::Value;
use crate::resp::Args;
pub use crate::types::list::End;
use crate::types::list::List;
use crate::util::eq_ic;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "blpop",
        -3,
        WRITE | BLOCKING,
        keys(1, -2, 1),
        "list",
        "2.0.0",
        "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        blpop,
    ),
    cmd(
        "brpop",
        -3,
        WRITE | BLOCKING,
        keys(1, -2, 1),
        "list",
        "2.0.0",
        "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        brpop,
    ),
    cmd(
        "lpush",
        -3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
        lpush,
    ),
    cmd(
        "rpush",
        -3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Appends one or more elements to a list. Creates the key if it doesn't exist.",
        rpush,
    ),
    cmd(
        "lpop",
        -2,
        WRITE | FAST,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
        lpop,
    ),
    cmd(
        "rpop",
        -2,
        WRITE | FAST,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
        rpop,
    ),
    cmd(
        "llen",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Returns the length of a list.",
        llen,
    ),
    cmd(
        "lrange",
        4,
        READONLY,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Returns a range of elements from a list.",
        lrange,
    ),
    cmd(
        "lindex",
        3,
        READONLY,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Returns an element from a list by its index.",
        lindex,
    ),
    cmd(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "list",
        "2.2.0",
        "Prepends one or more elements to a list only when the list exists.",
        lpushx,
    ),
    cmd(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "list",
        "2.2.0",
        "Appends an element to a list only when the list exists.",
        rpushx,
    ),
    cmd(
        "linsert",
        5,
        WRITE | DENYOOM,
        keys(1, 1, 1),
        "list",
        "2.2.0",
        "Inserts an element before or after another element in a list.",
        linsert,
    ),
    cmd(
        "lset",
        4,
        WRITE | DENYOOM,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Sets the value of an element in a list by its index.",
        lset,
    ),
    cmd(
        "lrem",
        4,
        WRITE,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Removes elements from a list. Deletes the list if the last element was removed.",
        lrem,
    ),
    cmd(
        "ltrim",
        4,
        WRITE,
        keys(1, 1, 1),
        "list",
        "1.0.0",
        "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
        ltrim,
    ),
    cmd(
        "lpos",
        -3,
        READONLY,
        keys(1, 1, 1),
        "list",
        "6.0.6",
        "Returns the index of matching elements in a list.",
        lpos,
    ),
    cmd(
        "lmove",
        5,
        WRITE | DENYOOM,
        keys(1, 2, 1),
        "list",
        "6.2.0",
        "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
        lmove,
    ),
    cmd(
        "rpoplpush",
        3,
        WRITE | DENYOOM,
        keys(1, 2, 1),
        "list",
        "1.2.0",
        "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.",
        rpoplpush,
    ),
    cmd(
        "blmove",
        6,
        WRITE | DENYOOM | BLOCKING,
        keys(1, 2, 1),
        "list",
        "6.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
        blmove,
    ),
    cmd(
        "brpoplpush",
        4,
        WRITE | DENYOOM | BLOCKING,
        keys(1, 2, 1),
        "list",
        "2.2.0",
        "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
        brpoplpush,
    ),
    // Keys are given by a count argument (movable keys), as in Redis's
    // legacy key spec (0, 0, 0).
    CommandSpec {
        getkeys: Some(mpop_finder),
        ..cmd(
            "lmpop",
            -4,
            WRITE,
            NO_KEYS,
            "list",
            "7.0.0",
            "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
            lmpop,
        )
    },
    CommandSpec {
        getkeys: Some(blmpop_finder),
        ..cmd(
            "blmpop",
            -5,
            WRITE | BLOCKING,
            NO_KEYS,
            "list",
            "7.0.0",
            "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
            blmpop,
        )
    },
];

/// The inclusive index range `[start, end]` (negative from the end) of a
/// list of `len` elements, clamped as LRANGE does; None when empty.
pub fn list_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 {
        len.saturating_add(start)
    } else {
        start
    };
    let mut e = if end < 0 {
        len.saturating_add(end)
    } else {
        end
    };
    s = s.max(0);
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, e as usize))
}

fn pop_event(end: End) -> &'static str {
    if end == End::Head { "lpop" } else { "rpop" }
}

fn push_event(end: End) -> &'static str {
    if end == End::Head { "lpush" } else { "rpush" }
}

/// LEFT or RIGHT.
fn parse_end(a: &[u8]) -> Result<End, CmdError> {
    if eq_ic(a, "left") {
        Ok(End::Head)
    } else if eq_ic(a, "right") {
        Ok(End::Tail)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Whether `key` exists, without expiring it. A woken client looks before
/// it touches: Redis serves blocked clients without deleting expired keys
/// (their DEL is propagated by whoever accesses them next).
fn present(ctx: &mut Ctx, key: &[u8]) -> bool {
    let now = ctx.now();
    ctx.db().peek(key, now).is_some()
}

/// The list at `key` for writing: None when missing, WRONGTYPE otherwise.
fn list_mut<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut List>, CmdError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(o) => o.v.as_list_mut().map(Some),
    }
}

/// `wrote` counts one change; Redis counts one per element pushed or
/// removed (`n` in all, possibly 0).
fn dirty_elements(ctx: &mut Ctx, n: usize) {
    ctx.st.dirty = ctx.st.dirty.saturating_add(n as u64).saturating_sub(1);
}

/// After elements were removed from the list at `key` (and `wrote` was
/// called): deletes it when empty, else lets it shrink to a listpack.
fn removed(ctx: &mut Ctx, key: &[u8]) {
    let empty = match list_mut(ctx, key) {
        Ok(Some(l)) => {
            l.shrink();
            l.is_empty()
        }
        _ => return,
    };
    if empty {
        ctx.emptied(key);
    }
}

/// LPUSH key element [element ...]
pub fn lpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, End::Head, false)
}

/// RPUSH key element [element ...]
pub fn rpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, End::Tail, false)
}

/// LPUSHX key element [element ...]: only onto an existing list.
pub fn lpushx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, End::Head, true)
}

/// RPUSHX key element [element ...]: only onto an existing list.
pub fn rpushx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, End::Tail, true)
}

/// Pushes `args[2..]` one by one at `end`, creating the list unless `xx`.
/// Replies with the new length (0 for a missing key under `xx`).
fn push_generic(ctx: &mut Ctx, args: &Args, end: End, xx: bool) -> CmdResult {
    let key = &args[1];
    if list_mut(ctx, key)?.is_none() {
        if xx {
            ctx.c.reply.int(0);
            return Ok(());
        }
        ctx.db().add(key, Value::List(Box::new(List::new())));
    }
    let l = list_mut(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
    let elems: Vec<&[u8]> = args.iter().skip(2).collect();
    l.push_all(end, &elems);
    let n = l.len();
    ctx.wrote(key, push_event(end), notify::LIST);
    dirty_elements(ctx, elems.len());
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 when the
/// pivot is not found, 0 when the key is missing.
pub fn linsert(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let after = if eq_ic(&args[2], "after") {
        true
    } else if eq_ic(&args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let key = &args[1];
    let Some(l) = list_mut(ctx, key)? else {
        ctx.c.reply.int(0);
        return Ok(());
    };
    let Some(pos) = l.iter().position(|e| e == &args[3][..]) else {
        // Redis converts before searching; a failed insert keeps that.
        l.grow(std::iter::once(args[4].len()));
        ctx.c.reply.int(-1);
        return Ok(());
    };
    l.insert(pos, after, &args[4]);
    let n = l.len();
    ctx.wrote(key, "linsert", notify::LIST);
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// LSET key index element
///
/// # Errors
/// "no such key"; "index out of range".
pub fn lset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let Some(l) = list_mut(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let i = args.i64_at(2)?;
    let Some(i) = l.index(i) else {
        l.grow(std::iter::once(args[3].len()));
        return Err(CmdError::msg("ERR index out of range"));
    };
    l.set(i, &args[3]);
    l.shrink();
    ctx.wrote(key, "lset", notify::LIST);
    ctx.ok()
}

/// LPOP key [count]
pub fn lpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop_generic(ctx, args, End::Head)
}

/// RPOP key [count]
pub fn rpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop_generic(ctx, args, End::Tail)
}

/// Pops one element (a bulk reply) or, with a count, up to `count`
/// elements (an array). A missing key replies null (a null array with a
/// count).
///
/// # Errors
/// Arity past the count; "value is out of range, must be positive" for a
/// negative count; WRONGTYPE.
fn pop_generic(ctx: &mut Ctx, args: &Args, end: End) -> CmdResult {
    let name = pop_event(end);
    if args.len() > 3 {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{name}' command"
        )));
    }
    let count = if args.len() == 3 {
        Some(range_arg(
            &args[2],
            0,
            i64::MAX,
            Some("ERR value is out of range, must be positive"),
        )? as usize)
    } else {
        None
    };
    let key = &args[1];
    let (o, r) = ctx.lookup_write_r(key);
    let Some(o) = o else {
        if count.is_some() {
            r.null_array();
        } else {
            r.null();
        }
        return Ok(());
    };
    let l = o.v.as_list_mut()?;
    let popped = match count {
        Some(0) => {
            r.array(0);
            return Ok(());
        }
        Some(c) => {
            let n = c.min(l.len());
            r.array(n);
            for _ in 0..n {
                if let Some(e) = l.pop(end) {
                    r.bulk(&e);
                }
            }
            n
        }
        None => match l.pop(end) {
            Some(e) => {
                r.bulk(&e);
                1
            }
            None => {
                r.null();
                0
            }
        },
    };
    ctx.wrote(key, name, notify::LIST);
    dirty_elements(ctx, popped);
    removed(ctx, key);
    Ok(())
}

/// Pops up to `count` elements from the first non-empty list among
/// `keys`, replying `[key, [elements...]]` and propagating as [LR]POP key
/// count. Returns false (replying nothing) when every list is empty.
fn mpop_keys(ctx: &mut Ctx, keys: &[&[u8]], end: End, count: usize) -> Result<bool, CmdError> {
    let rerun = ctx.st.blocking.rerun;
    let timed_out = ctx.block_timed_out();
    for &key in keys {
        if rerun && !present(ctx, key) {
            continue;
        }
        let (o, r) = ctx.lookup_write_r(key);
        let Some(o) = o else { continue };
        let l = match o.v.as_list_mut() {
            Ok(l) => l,
            // A timed-out re-run only writes the timeout reply.
            Err(_) if timed_out => continue,
            Err(e) => return Err(e),
        };
        if l.is_empty() {
            continue;
        }
        let n = count.min(l.len());
        r.array(2);
        r.bulk(key);
        r.array(n);
        for _ in 0..n {
            if let Some(e) = l.pop(end) {
                r.bulk(&e);
            }
        }
        ctx.wrote(key, pop_event(end), notify::LIST);
        dirty_elements(ctx, n);
        removed(ctx, key);
        ctx.propagate_as(vec![
            pop_event(end).as_bytes().to_vec(),
            key.to_vec(),
            n.to_string().into_bytes(),
        ]);
        return Ok(true);
    }
    Ok(false)
}

/// Key positions of `numkeys key [key ...]` with numkeys at `at` (LMPOP
/// 1, BLMPOP 2, EVAL 2...), as Redis's `genericGetKeys`: numkeys read as
/// `atoi` does, none when it is not positive or counts more arguments
/// than follow.
pub fn mpop_key_positions(args: &Args, at: usize) -> Vec<usize> {
    if at >= args.len() {
        return Vec::new();
    }
    let n = crate::util::atoi(&args[at]);
    if n < 1 || n as usize > args.len() - at - 1 {
        return Vec::new();
    }
    (at + 1..at + 1 + n as usize).collect()
}

/// Key finder of the commands with `numkeys key...` at argument 1.
pub fn mpop_finder(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    crate::command::unflagged(mpop_key_positions(args, 1))
}

/// Key finder of the commands with `timeout numkeys key...`.
pub fn blmpop_finder(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    crate::command::unflagged(mpop_key_positions(args, 2))
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` starting at `at`.
fn parse_mpop(args: &Args, at: usize) -> Result<(Vec<&[u8]>, End, usize), CmdError> {
    let n = range_arg(
        &args[at],
        1,
        i64::MAX,
        Some("ERR numkeys should be greater than 0"),
    )? as usize;
    let where_idx = at
        .checked_add(n)
        .and_then(|v| v.checked_add(1))
        .filter(|&w| w < args.len())
        .ok_or(CmdError::Syntax)?;
    let end = parse_end(&args[where_idx])?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(&args[j], "count") && j + 1 < args.len() {
            count = Some(range_arg(
                &args[j + 1],
                1,
                i64::MAX,
                Some("ERR count should be greater than 0"),
            )? as usize);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys = (at + 1..where_idx).map(|i| &args[i]).collect();
    Ok((keys, end, count.unwrap_or(1)))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn lmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (keys, end, count) = parse_mpop(args, 1)?;
    // Keys are tried in order: a wrong type after the first non-empty
    // list is never looked at (Redis's mpopGenericCommand).
    if !mpop_keys(ctx, &keys, end, count)? {
        ctx.c.reply.null_array();
    }
    Ok(())
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn blmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (keys, end, count) = parse_mpop(args, 2)?;
    let timeout = parse_timeout(&args[1])?;
    if mpop_keys(ctx, &keys, end, count)? {
        return Ok(());
    }
    if ctx.block_timed_out() || !ctx.block(args, &keys, timeout) {
        ctx.c.reply.null_array();
    }
    Ok(())
}

/// LLEN key: 0 when the key is missing.
pub fn llen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let n = match o {
        None => 0,
        Some(o) => o.v.as_list()?.len(),
    };
    r.int(n as i64);
    Ok(())
}

/// LRANGE key start stop
pub fn lrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let start = args.i64_at(2)?;
    let end = args.i64_at(3)?;
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        r.array(0);
        return Ok(());
    };
    let l = o.v.as_list()?;
    match list_range(start, end, l.len()) {
        None => r.array(0),
        Some((s, e)) => {
            r.array(e - s + 1);
            for x in l.range(s, e) {
                r.bulk(x);
            }
        }
    }
    Ok(())
}

/// LINDEX key index: null when out of range.
pub fn lindex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        r.null();
        return Ok(());
    };
    let l = o.v.as_list()?;
    let i = args.i64_at(2)?;
    match l.index(i).and_then(|i| l.get(i)) {
        Some(e) => r.bulk(e),
        None => r.null(),
    }
    Ok(())
}

/// LTRIM key start stop: keeps only the given range; OK even when the
/// key is missing.
pub fn ltrim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let start = args.i64_at(2)?;
    let end = args.i64_at(3)?;
    let key = &args[1];
    let Some(l) = list_mut(ctx, key)? else {
        return ctx.ok();
    };
    let len = l.len();
    let (ltrim, rtrim) = match list_range(start, end, len) {
        None => (len, 0),
        Some((s, e)) => (s, len - e - 1),
    };
    l.remove_range(0, ltrim);
    let left = l.len();
    l.remove_range(left - rtrim, rtrim);
    ctx.wrote(key, "ltrim", notify::LIST);
    dirty_elements(ctx, ltrim + rtrim);
    removed(ctx, key);
    ctx.ok()
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
pub fn lpos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<usize> = None;
    let mut maxlen: usize = 0;
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        if eq_ic(&args[j], "rank") && more {
            rank = range_arg(&args[j + 1], -i64::MAX, i64::MAX, None)?;
            if rank == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ic(&args[j], "count") && more {
            count = Some(range_arg(
                &args[j + 1],
                0,
                i64::MAX,
                Some("ERR COUNT can't be negative"),
            )? as usize);
        } else if eq_ic(&args[j], "maxlen") && more {
            maxlen = range_arg(
                &args[j + 1],
                0,
                i64::MAX,
                Some("ERR MAXLEN can't be negative"),
            )? as usize;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        if count.is_some() {
            r.array(0);
        } else {
            r.null();
        }
        return Ok(());
    };
    let l = o.v.as_list()?;
    let ele = &args[2][..];
    let len = l.len();
    let skip = rank.unsigned_abs() - 1;
    let limit = if maxlen == 0 { len } else { maxlen.min(len) };
    let want = match count {
        None => 1,
        Some(0) => usize::MAX,
        Some(c) => c,
    };
    let mut found: Vec<usize> = Vec::new();
    let mut matches: u64 = 0;
    let mut scan = |i: usize, e: &[u8]| {
        if e == ele {
            matches += 1;
            if matches > skip {
                found.push(i);
            }
        }
        found.len() >= want
    };
    if rank > 0 {
        for (i, e) in l.iter().enumerate().take(limit) {
            if scan(i, e) {
                break;
            }
        }
    } else {
        for (k, e) in l.iter().rev().enumerate().take(limit) {
            if scan(len - 1 - k, e) {
                break;
            }
        }
    }
    match count {
        Some(_) => {
            r.array(found.len());
            for i in found {
                r.int(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => r.int(i as i64),
            None => r.null(),
        },
    }
    Ok(())
}

/// LREM key count element: removes the first `count` occurrences (from
/// the tail when negative, all when 0); replies how many went.
pub fn lrem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let toremove = range_arg(&args[2], -i64::MAX, i64::MAX, None)?;
    let key = &args[1];
    let Some(l) = list_mut(ctx, key)? else {
        ctx.c.reply.int(0);
        return Ok(());
    };
    let ele = &args[3][..];
    let limit = if toremove == 0 {
        usize::MAX
    } else {
        toremove.unsigned_abs().min(usize::MAX as u64) as usize
    };
    let mut idx: Vec<usize> = if toremove >= 0 {
        l.iter()
            .enumerate()
            .filter(|(_, e)| *e == ele)
            .map(|(i, _)| i)
            .take(limit)
            .collect()
    } else {
        let len = l.len();
        l.iter()
            .rev()
            .enumerate()
            .filter(|(_, e)| *e == ele)
            .map(|(k, _)| len - 1 - k)
            .take(limit)
            .collect()
    };
    idx.sort_unstable();
    l.remove_indexes(&idx);
    let n = idx.len();
    if n > 0 {
        ctx.wrote(key, "lrem", notify::LIST);
        dirty_elements(ctx, n);
        removed(ctx, key);
    }
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
pub fn lmove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let from = parse_end(&args[3])?;
    let to = parse_end(&args[4])?;
    if !lmove_generic(ctx, &args[1], &args[2], from, to)? {
        ctx.c.reply.null();
    }
    Ok(())
}

/// RPOPLPUSH source destination
pub fn rpoplpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if !lmove_generic(ctx, &args[1], &args[2], End::Tail, End::Head)? {
        ctx.c.reply.null();
    }
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
pub fn blmove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let from = parse_end(&args[3])?;
    let to = parse_end(&args[4])?;
    let timeout = parse_timeout(&args[5])?;
    blmove_generic(ctx, args, from, to, timeout, || {
        args.iter().take(5).map(|a| a.to_vec()).collect()
    })
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let timeout = parse_timeout(&args[3])?;
    blmove_generic(ctx, args, End::Tail, End::Head, timeout, || {
        vec![b"rpoplpush".to_vec(), args[1].to_vec(), args[2].to_vec()]
    })
}

/// Serves a blocking move now (propagated as the non-blocking form built
/// by `as_cmd`) or parks the client on the source key.
fn blmove_generic(
    ctx: &mut Ctx,
    args: &Args,
    from: End,
    to: End,
    timeout: i64,
    as_cmd: impl Fn() -> Vec<Vec<u8>>,
) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let rerun = ctx.st.blocking.rerun;
    let timed_out = ctx.block_timed_out();
    let skip = rerun && !present(ctx, src);
    let found = match list_mut(ctx, src) {
        _ if skip => false,
        Ok(l) => l.is_some(),
        Err(_) if timed_out => false,
        Err(e) => return Err(e),
    };
    if found {
        if lmove_generic(ctx, src, dst, from, to)? {
            let mut argv = as_cmd();
            if argv[0].eq_ignore_ascii_case(b"blmove") {
                argv[0] = b"lmove".to_vec();
            }
            ctx.propagate_as(argv);
        }
        return Ok(());
    }
    // A timeout answers a null array, as for every blocked list command
    // (Redis's replyToBlockedClientTimedOut); a client that may not block
    // (MULTI, scripts) gets a null bulk, as LMOVE would answer.
    if ctx.block_timed_out() {
        ctx.c.reply.null_array();
    } else if !ctx.block(args, &[src], timeout) {
        ctx.c.reply.null();
    }
    Ok(())
}

/// Pops from `src` at `from` and pushes at `to` of `dst`, replying with
/// the element. Returns false (replying nothing) when `src` is missing.
///
/// # Errors
/// WRONGTYPE when either key holds another type (the destination is
/// checked only when the source has an element, as in Redis).
fn lmove_generic(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<bool, CmdError> {
    match list_mut(ctx, src)? {
        Some(l) if !l.is_empty() => {}
        _ => return Ok(false),
    }
    let dst_exists = list_mut(ctx, dst)?.is_some();
    let Some(v) = list_mut(ctx, src)?.and_then(|l| l.pop(from)) else {
        return Ok(false);
    };
    if !dst_exists {
        ctx.db().add(dst, Value::List(Box::new(List::new())));
    }
    if let Some(d) = list_mut(ctx, dst)? {
        d.push_all(to, &[&v]);
    }
    ctx.wrote(dst, push_event(to), notify::LIST);
    // The move counts once (for the pop), as in Redis.
    dirty_elements(ctx, 0);
    ctx.c.reply.bulk(&v);
    ctx.wrote(src, pop_event(from), notify::LIST);
    removed(ctx, src);
    Ok(true)
}

/// BLPOP key [key ...] timeout
pub fn blpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bpop_generic(ctx, args, End::Head)
}

/// BRPOP key [key ...] timeout
pub fn brpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bpop_generic(ctx, args, End::Tail)
}

/// Parses a blocking timeout in (fractional) seconds into milliseconds.
pub fn parse_timeout(a: &[u8]) -> Result<i64, CmdError> {
    let secs = crate::util::parse_f64(a)
        .or_else(|| parse_hex_float(a))
        .filter(|v| !v.is_nan())
        .ok_or_else(|| CmdError::msg("ERR timeout is not a float or out of range"))?;
    let ms = (secs * 1000.0).ceil();
    if ms > (i64::MAX / 2) as f64 {
        return Err(CmdError::msg("ERR timeout is out of range"));
    }
    if ms < 0.0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Ok(ms as i64)
}

/// strtold's hexadecimal integers (`0x7FFF...`), which Redis accepts
/// as timeouts.
pub(crate) fn parse_hex_float(a: &[u8]) -> Option<f64> {
    let (neg, rest) = match a.first() {
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        _ => (false, a),
    };
    let hex = rest
        .strip_prefix(b"0x")
        .or_else(|| rest.strip_prefix(b"0X"))?;
    if hex.is_empty() || hex.len() > 32 {
        return None;
    }
    let v = u128::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()? as f64;
    Some(if neg { -v } else { v })
}

/// Pops from the first non-empty list among the keys, replying
/// `[key, element]`; parks the client when all are empty.
fn bpop_generic(ctx: &mut Ctx, args: &Args, end: End) -> CmdResult {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| &args[i]).collect();
    let rerun = ctx.st.blocking.rerun;
    let timed_out = ctx.block_timed_out();
    for &key in &keys {
        if rerun && !present(ctx, key) {
            continue;
        }
        let (o, r) = ctx.lookup_write_r(key);
        let Some(o) = o else { continue };
        let l = match o.v.as_list_mut() {
            Ok(l) => l,
            // A woken client was served a key of its type (`Server::serves`)
            // and runs again as Redis re-runs it: another key of the wrong
            // type is an error then; only a timed-out re-run skips it.
            Err(_) if timed_out => continue,
            Err(e) => return Err(e),
        };
        let Some(e) = l.pop(end) else { continue };
        r.array(2);
        r.bulk(key);
        r.bulk(&e);
        let name = pop_event(end);
        ctx.wrote(key, name, notify::LIST);
        removed(ctx, key);
        ctx.propagate_as(vec![name.as_bytes().to_vec(), key.to_vec()]);
        return Ok(());
    }
    if ctx.block_timed_out() || !ctx.block(args, &keys, timeout) {
        ctx.c.reply.null_array();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(list_range(0, -1, 3), Some((0, 2)));
        assert_eq!(list_range(-2, -1, 3), Some((1, 2)));
        assert_eq!(list_range(2, 1, 3), None);
        assert_eq!(list_range(5, 10, 3), None);
        assert_eq!(list_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(list_range(0, -1, 0), None);
        assert_eq!(list_range(i64::MIN, i64::MIN, 3), None);
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout(b"0.001"), Ok(1));
        assert_eq!(parse_timeout(b"1"), Ok(1000));
        assert!(parse_timeout(b"-1").is_err());
        assert!(parse_timeout(b"abc").is_err());
        assert_eq!(
            parse_timeout(b"0x7FFFFFFFFFFFFF"),
            Err(CmdError::msg("ERR timeout is out of range"))
        );
    }
}
