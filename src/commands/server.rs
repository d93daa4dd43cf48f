//! Server commands: CONFIG, INFO, DEBUG, COMMAND, FLUSHALL/FLUSHDB, DBSIZE,
//! TIME, SHUTDOWN.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, container};
use crate::resp::Args;
use crate::util::eq_ic;

pub static COMMANDS: &[CommandSpec] = &[
    container(
        "config",
        "server",
        "2.0.0",
        "A container for server configuration commands.",
        CONFIG,
    ),
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
];

static CONFIG: &[CommandSpec] = &[
    cmd(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "server",
        "2.0.0",
        "Returns the effective values of configuration parameters.",
        config_get,
    ),
    cmd(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "server",
        "2.0.0",
        "Sets configuration parameters in-flight.",
        config_set,
    ),
    cmd(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "server",
        "2.0.0",
        "Resets the server's statistics.",
        config_resetstat,
    ),
];

fn config_get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let pats: Vec<Vec<u8>> = args.iter().skip(2).map(|a| a.to_vec()).collect();
    let vals = ctx.st.cfg.get_matching(&pats);
    let r = &mut ctx.c.reply;
    r.map(vals.len());
    for (k, v) in vals {
        r.bulk_str(k);
        r.bulk_str(&v);
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() % 2 != 0 {
        return Err(CmdError::msg(
            "ERR wrong number of arguments for 'config|set' command",
        ));
    }
    let pairs: Vec<(String, String)> = (2..args.len())
        .step_by(2)
        .map(|i| (args.str_at(i), args.str_at(i + 1)))
        .collect();
    let changed = ctx.st.cfg.set_many(&pairs).map_err(CmdError::Msg)?;
    for name in changed {
        if name == "loglevel" {
            crate::logging::set_level(ctx.st.cfg.get("loglevel"));
        }
    }
    ctx.ok()
}

fn config_resetstat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.st.stats = Default::default();
    ctx.st.cmdstats.clear();
    ctx.st.errstats.clear();
    ctx.ok()
}

/// FLUSHALL [ASYNC | SYNC]
pub fn flushall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    flush_mode(args)?;
    ctx.st.flushall();
    ctx.st.dirty += 1;
    ctx.ok()
}

fn flush_mode(args: &Args) -> Result<(), CmdError> {
    if args.len() > 2 || (args.len() == 2 && !eq_ic(&args[1], "async") && !eq_ic(&args[1], "sync"))
    {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// FLUSHDB [ASYNC | SYNC]
pub fn flushdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    flush_mode(args)?;
    ctx.db().flush();
    ctx.st.dirty += 1;
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
    let us = crate::util::now_us();
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
            return Err(CmdError::msg("ERR No shutdown in progress."));
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if f.nosave && f.save {
        return Err(CmdError::Syntax);
    }
    ctx.st.shutdown = Some(f);
    Ok(())
}

/// DEBUG subcommand [args...]
pub fn debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "set-active-expire" if args.len() == 3 => {
            ctx.st.active_expire = args.i64_at(2)? != 0;
            ctx.ok()
        }
        "sleep" if args.len() == 3 => {
            let secs = args.f64_at(2)?;
            std::thread::sleep(std::time::Duration::from_micros((secs * 1e6) as u64));
            ctx.ok()
        }
        _ => Err(CmdError::msg(format!(
            "ERR unknown subcommand '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&args[1])
        ))),
    }
}

static MEMORY: &[CommandSpec] = &[cmd(
    "usage",
    -3,
    READONLY,
    crate::command::keys(2, 2, 1),
    "server",
    "4.0.0",
    "Estimates the memory usage of a key.",
    memory_usage,
)];

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
