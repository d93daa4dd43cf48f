//! List commands (a first, minimal family): LPUSH, RPUSH, LPOP, RPOP,
//! LLEN, LRANGE, LINDEX over `Value::List`.
//!
//! As in Redis's `t_list.c`, pushes and pops share one generic core each
//! (`push_generic`, `pop_generic`), and a list that becomes empty is
//! deleted with its key.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::db::Value;
use crate::resp::Args;
use std::collections::VecDeque;

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
];

/// Which end of a list a command works on.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum End {
    Head,
    Tail,
}

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

/// LPUSH key element [element ...]
pub fn lpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, End::Head)
}

/// RPUSH key element [element ...]
pub fn rpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, End::Tail)
}

/// Pushes `args[2..]` one by one at `end`, creating the list if needed.
/// Replies with the new length.
fn push_generic(ctx: &mut Ctx, args: &Args, end: End) -> CmdResult {
    let key = &args[1];
    let exists = match ctx.lookup_write(key) {
        None => false,
        Some(o) => {
            o.v.as_list()?;
            true
        }
    };
    if !exists {
        ctx.db().add(key, Value::List(VecDeque::new()));
    }
    let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
    let l = o.v.as_list_mut()?;
    for e in args.iter().skip(2) {
        match end {
            End::Head => l.push_front(e.to_vec()),
            End::Tail => l.push_back(e.to_vec()),
        }
    }
    let n = l.len();
    let event = if end == End::Head { "lpush" } else { "rpush" };
    ctx.wrote(key, event, notify::LIST);
    ctx.c.reply.int(n as i64);
    Ok(())
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
    let name = if end == End::Head { "lpop" } else { "rpop" };
    if args.len() > 3 {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{name}' command"
        )));
    }
    let count = if args.len() == 3 {
        let c = args.i64_at(2)?;
        if c < 0 {
            return Err(CmdError::msg("ERR value is out of range, must be positive"));
        }
        Some(c as usize)
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
    let pop = |l: &mut VecDeque<Vec<u8>>| match end {
        End::Head => l.pop_front(),
        End::Tail => l.pop_back(),
    };
    match count {
        Some(0) => {
            r.array(0);
            return Ok(());
        }
        Some(c) => {
            let n = c.min(l.len());
            r.array(n);
            for _ in 0..n {
                if let Some(e) = pop(l) {
                    r.bulk(&e);
                }
            }
        }
        None => match pop(l) {
            Some(e) => r.bulk(&e),
            None => r.null(),
        },
    }
    let empty = l.is_empty();
    ctx.wrote(key, name, notify::LIST);
    if empty {
        ctx.db().delete(key);
        let db = ctx.c.db;
        ctx.st.notify(notify::GENERIC, "del", key, db);
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
            for x in l.range(s..=e) {
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
    let i = if i < 0 {
        (l.len() as i64).saturating_add(i)
    } else {
        i
    };
    match usize::try_from(i).ok().and_then(|i| l.get(i)) {
        Some(e) => r.bulk(e),
        None => r.null(),
    }
    Ok(())
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
        .filter(|v| v.is_finite())
        .ok_or_else(|| CmdError::msg("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let ms = (secs * 1000.0).ceil();
    if ms > (i64::MAX / 2) as f64 {
        return Err(CmdError::msg("ERR timeout is out of range"));
    }
    Ok(ms as i64)
}

/// Pops from the first non-empty list among the keys, replying
/// `[key, element]`; parks the client when all are empty.
fn bpop_generic(ctx: &mut Ctx, args: &Args, end: End) -> CmdResult {
    let timeout = parse_timeout(&args[args.len() - 1])?;
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| &args[i]).collect();
    for &key in &keys {
        if let Some(o) = ctx.lookup_write(key) {
            o.v.as_list()?;
        }
    }
    for &key in &keys {
        let (o, r) = ctx.lookup_write_r(key);
        let Some(o) = o else { continue };
        let l = o.v.as_list_mut()?;
        let e = match end {
            End::Head => l.pop_front(),
            End::Tail => l.pop_back(),
        };
        let Some(e) = e else { continue };
        r.array(2);
        r.bulk(key);
        r.bulk(&e);
        let empty = l.is_empty();
        let name = if end == End::Head { "lpop" } else { "rpop" };
        ctx.wrote(key, name, notify::LIST);
        ctx.propagate_as(vec![name.as_bytes().to_vec(), key.to_vec()]);
        if empty {
            ctx.db().delete(key);
            let db = ctx.c.db;
            ctx.st.notify(notify::GENERIC, "del", key, db);
        }
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
}
