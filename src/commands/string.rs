//! String commands: GET, SET and friends, counters, ranges, LCS.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::db::{Str, Value};
use crate::resp::Args;
use crate::util::eq_ic;

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
    cmd(
        "set",
        -3,
        WRITE | DENYOOM,
        keys(1, 1, 1),
        "string",
        "1.0.0",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        set,
    ),
];

/// GET key
pub fn get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
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

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms | KEEPTTL]
pub fn set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<(i64, bool, bool)> = None; // (value, in_ms, absolute)
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let has_next = i + 1 < args.len();
        if eq_ic(a, "nx") && !xx {
            nx = true;
        } else if eq_ic(a, "xx") && !nx {
            xx = true;
        } else if eq_ic(a, "get") {
            get = true;
        } else if eq_ic(a, "keepttl") && expire.is_none() {
            keepttl = true;
        } else if (eq_ic(a, "ex") || eq_ic(a, "px") || eq_ic(a, "exat") || eq_ic(a, "pxat"))
            && !keepttl
            && expire.is_none()
            && has_next
        {
            let ms = eq_ic(a, "px") || eq_ic(a, "pxat");
            let abs = eq_ic(a, "exat") || eq_ic(a, "pxat");
            expire = Some((args.i64_at(i + 1)?, ms, abs));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let name = if get { "set" } else { "set" };
    let when = match expire {
        Some((v, ms, abs)) => Some(expire_time(ctx.now(), v, ms, abs, name)?),
        None => None,
    };
    set_generic(ctx, &args[1], &args[2], nx, xx, get, keepttl, when)
}

/// Turns a relative or absolute expire argument into unix milliseconds,
/// with Redis's checks and error text.
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

/// The core shared by SET, SETNX, SETEX, PSETEX and GETSET.
#[allow(clippy::too_many_arguments)]
pub fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    val: &[u8],
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    when: Option<i64>,
) -> CmdResult {
    let exists = match ctx.lookup_write(key) {
        Some(o) => {
            if get {
                let s = o.v.as_str()?;
                let mut t = [0u8; 20];
                let b = s.bytes(&mut t).to_vec();
                ctx.c.reply.bulk(&b);
            }
            true
        }
        None => {
            if get {
                ctx.c.reply.null();
            }
            false
        }
    };
    if (nx && exists) || (xx && !exists) {
        if !get {
            ctx.c.reply.null();
        }
        return Ok(());
    }
    let db = ctx.db();
    db.set(key, Value::Str(Str::from_bytes(val)), keepttl);
    if let Some(w) = when {
        db.set_expire(key, w);
    }
    ctx.wrote(key, "set", notify::STRING);
    if !get {
        ctx.c.reply.ok();
    }
    Ok(())
}
