//! Replication commands of the master side: SYNC, PSYNC, REPLCONF.

use crate::command::flags::*;
use crate::command::{CmdResult, CommandSpec, Ctx, NO_KEYS, cmd};
use crate::resp::Args;
use crate::util::eq_ic;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "sync",
        1,
        ADMIN | NO_ASYNC_LOADING | NO_MULTI | NOSCRIPT,
        NO_KEYS,
        "server",
        "1.0.0",
        "An internal command used in replication.",
        sync,
    ),
    cmd(
        "psync",
        -3,
        ADMIN | NO_ASYNC_LOADING | NO_MULTI | NOSCRIPT,
        NO_KEYS,
        "server",
        "2.8.0",
        "An internal command used in replication.",
        psync,
    ),
    cmd(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        NO_KEYS,
        "server",
        "3.0.0",
        "An internal command for configuring the replication stream.",
        replconf,
    ),
];

/// Sends a full snapshot and turns the client into a replica fed by the
/// replication stream.
fn full_sync(ctx: &mut Ctx) {
    let img = crate::persist::rdb::save(
        &ctx.st.dbs,
        ctx.st.cfg.bool("rdbcompression"),
        ctx.st.now_ms,
    );
    let r = &mut ctx.c.reply;
    r.raw(b"$");
    r.raw(img.len().to_string().as_bytes());
    r.raw(b"\r\n");
    r.raw(&img);
    ctx.c.replica = true;
    let t = ctx.c.token;
    ctx.st.repl.replicas.push(t);
    // The new replica knows no SELECT yet.
    ctx.st.repl.stream_db = None;
    log::info!("Synchronization with replica {} succeeded", ctx.c.addr);
}

/// SYNC
fn sync(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.c.replica {
        return Ok(());
    }
    log::info!("Replica {} asks for synchronization", ctx.c.addr);
    full_sync(ctx);
    Ok(())
}

/// PSYNC replid offset
fn psync(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.c.replica {
        return Ok(());
    }
    let line = format!("FULLRESYNC {} {}", ctx.st.repl.replid, ctx.st.repl.offset);
    ctx.c.reply.simple(&line);
    full_sync(ctx);
    Ok(())
}

/// REPLCONF option value [option value ...]
fn replconf(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(crate::command::CmdError::Syntax);
    }
    // ACKs carry no reply: they flow while the stream is one-way.
    if args.len() >= 2 && (eq_ic(&args[1], "ack") || eq_ic(&args[1], "fack")) {
        return Ok(());
    }
    if args.len() >= 2 && eq_ic(&args[1], "getack") {
        return Ok(());
    }
    ctx.ok()
}
