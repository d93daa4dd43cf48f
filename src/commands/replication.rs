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
        "replicaof",
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        NO_KEYS,
        "server",
        "5.0.0",
        "Configures a server as replica of another, or promotes it to a master.",
        replicaof,
    ),
    cmd(
        "slaveof",
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        NO_KEYS,
        "server",
        "1.0.0",
        "Sets a Redis server as a replica of another, or promotes it to being a master.",
        replicaof,
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
    let libs = ctx.st.scripts.library_codes();
    let img = crate::persist::rdb::save_with_functions(
        &ctx.st.dbs,
        ctx.st.cfg.bool("rdbcompression"),
        ctx.st.now_ms,
        &libs,
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
    if args.len().is_multiple_of(2) {
        return Err(crate::command::CmdError::Syntax);
    }
    // ACKs carry no reply: they flow while the stream is one-way.
    if args.len() >= 2 && (eq_ic(&args[1], "ack") || eq_ic(&args[1], "fack")) {
        return Ok(());
    }
    if args.len() >= 2 && eq_ic(&args[1], "getack") {
        if ctx.c.is_master {
            let off = ctx
                .st
                .master
                .as_ref()
                .map(|l| l.offset)
                .unwrap_or(0)
                .to_string();
            let r = &mut ctx.c.reply;
            r.array(3);
            r.bulk(b"REPLCONF");
            r.bulk(b"ACK");
            r.bulk(off.as_bytes());
        }
        return Ok(());
    }
    let mut i = 1;
    while i + 1 < args.len() {
        if eq_ic(&args[i], "listening-port") {
            ctx.c.replica_port = crate::util::parse_i64(&args[i + 1])
                .unwrap_or(0)
                .clamp(0, 65535) as u16;
        }
        i += 2;
    }
    ctx.ok()
}

/// REPLICAOF host port | NO ONE
fn replicaof(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.st.cluster.is_some() {
        return Err(crate::command::CmdError::msg(
            "ERR REPLICAOF not allowed in cluster mode.",
        ));
    }
    if eq_ic(&args[1], "no") && eq_ic(&args[2], "one") {
        ctx.st.pending.replicaof = Some(None);
        return ctx.ok();
    }
    let port = crate::util::parse_i64(&args[2])
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| crate::command::CmdError::msg("ERR Invalid master port"))?;
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if let Some(l) = &ctx.st.master
        && l.host == host
        && l.port as i64 == port
    {
        ctx.c
            .reply
            .simple("OK Already connected to specified master");
        return Ok(());
    }
    ctx.st.pending.replicaof = Some(Some((host, port as u16)));
    ctx.ok()
}
