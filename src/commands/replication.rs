//! Replication commands of the master side: SYNC, PSYNC, REPLCONF.

use crate::client::Client;
use crate::command::flags::*;
use crate::command::{CmdResult, CommandSpec, Ctx, NO_KEYS, cmd};
use crate::resp::Args;
use crate::server::State;
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
    cmd(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        NO_KEYS,
        "server",
        "2.8.12",
        "Returns the replication role.",
        role,
    ),
    cmd(
        "wait",
        3,
        BLOCKING,
        NO_KEYS,
        "generic",
        "3.0.0",
        "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.",
        wait,
    ),
    cmd(
        "waitaof",
        4,
        BLOCKING,
        NO_KEYS,
        "generic",
        "7.2.0",
        "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas.",
        waitaof,
    ),
];

/// A full sync for the client: at once, or, with `repl-diskless-sync` and a
/// `repl-diskless-sync-delay`, once the delay has passed (the cron calls
/// `start_full_sync` for every replica then waiting, as Redis's
/// replicationStartPendingFork serves them from one snapshot). `psync`:
/// the reply starts with +FULLRESYNC.
fn full_sync(ctx: &mut Ctx, psync: bool) {
    let st = &mut *ctx.st;
    if st.cfg.bool("repl-diskless-sync") && st.cfg.int("repl-diskless-sync-delay") > 0 {
        ctx.c.sync_wait_since = st.now_ms.max(1);
        st.repl.waiting.push((ctx.c.token, psync));
        log::info!("Delay next BGSAVE for diskless SYNC");
        return;
    }
    let img = sync_payload(st, ctx.c);
    start_full_sync(st, ctx.c, psync, &img);
}

/// The RDB image a full sync sends `c`, less what its REPLCONF
/// rdb-filter-only left out.
pub fn sync_payload(st: &State, c: &Client) -> Vec<u8> {
    let libs = if c.sync_exclude_functions {
        Vec::new()
    } else {
        st.scripts.library_codes()
    };
    let dbs: &[crate::db::Db] = if c.sync_exclude_data { &[] } else { &st.dbs };
    crate::persist::rdb::save_with_functions(dbs, st.cfg.bool("rdbcompression"), st.now_ms, &libs)
}

/// Whether `c` takes the same full-sync image as a plain replica.
pub fn sync_unfiltered(c: &Client) -> bool {
    !c.sync_exclude_data && !c.sync_exclude_functions
}

/// Sends `img` as of the current offset and turns the client into a
/// replica fed by the replication stream from here on.
pub fn start_full_sync(st: &mut State, c: &mut Client, psync: bool, img: &[u8]) {
    let r = &mut c.reply;
    if psync {
        r.simple(&format!("FULLRESYNC {} {}", st.repl.replid, st.repl.offset));
    }
    r.raw(b"$");
    r.raw(img.len().to_string().as_bytes());
    r.raw(b"\r\n");
    r.raw(img);
    c.sync_wait_since = 0;
    attach_replica(st, c);
    st.repl.sync_full += 1;
    // The new replica knows no SELECT yet.
    st.repl.stream_db = None;
    log::info!("Synchronization with replica {} succeeded", c.addr);
}

/// The client becomes a replica fed by the stream from now on.
fn attach_replica(st: &mut State, c: &mut Client) {
    c.replica = true;
    c.repl_ack_off = 0;
    c.repl_ack_time = st.now_ms;
    let r = &mut st.repl;
    r.replicas.push(c.token);
    r.good_replicas += 1;
    // The periodic PING starts one period after a replica attaches.
    r.last_ping_ms = st.now_ms;
    if r.backlog.is_none() {
        let size = st.cfg.int("repl-backlog-size").max(1) as usize;
        r.backlog = Some(crate::repl::Backlog::new(r.offset + 1, size));
    }
}

/// SYNC
fn sync(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.c.replica || ctx.c.sync_wait_since != 0 {
        return Ok(());
    }
    log::info!("Replica {} asks for synchronization", ctx.c.addr);
    full_sync(ctx, false);
    Ok(())
}

/// PSYNC replid offset: continues from the backlog when the replica's
/// history is ours and the backlog still holds everything after `offset`
/// (the first byte it lacks); a full resync otherwise.
fn psync(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.c.replica || ctx.c.sync_wait_since != 0 {
        return Ok(());
    }
    let wanted = crate::util::parse_i64(&args[2]);
    if &args[1][..] != b"?" {
        let tail = match (&ctx.st.repl.backlog, wanted) {
            (Some(b), Some(from)) if args[1][..] == *ctx.st.repl.replid.as_bytes() => b.since(from),
            _ => None,
        };
        if let Some(tail) = tail {
            let line = format!("+CONTINUE {}\r\n", ctx.st.repl.replid);
            ctx.c.reply.raw(line.as_bytes());
            ctx.c.reply.raw(&tail);
            attach_replica(ctx.st, ctx.c);
            ctx.st.repl.sync_partial_ok += 1;
            log::info!(
                "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
                ctx.c.addr,
                tail.len(),
                wanted.unwrap_or(0)
            );
            return Ok(());
        }
        ctx.st.repl.sync_partial_err += 1;
    }
    full_sync(ctx, true);
    Ok(())
}

/// REPLCONF option value [option value ...]
fn replconf(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(crate::command::CmdError::Syntax);
    }
    // ACKs carry no reply: they flow while the stream is one-way.
    if args.len() >= 2 && (eq_ic(&args[1], "ack") || eq_ic(&args[1], "fack")) {
        // REPLCONF ACK <offset> [FACK <aof offset>]
        if ctx.c.replica && eq_ic(&args[1], "ack") {
            if let Some(off) = crate::util::parse_i64(&args[2])
                && off > ctx.c.repl_ack_off
            {
                ctx.c.repl_ack_off = off;
                ctx.st.blocking.acked = true;
            }
            if args.len() >= 5
                && eq_ic(&args[3], "fack")
                && let Some(off) = crate::util::parse_i64(&args[4])
                && off > ctx.c.repl_aof_off
            {
                ctx.c.repl_aof_off = off;
                ctx.st.blocking.acked = true;
            }
            ctx.c.repl_ack_time = ctx.st.now_ms;
            ctx.st.repl.recount_good = true;
        }
        return Ok(());
    }
    if args.len() >= 2 && eq_ic(&args[1], "getack") {
        if ctx.c.is_master {
            let off = ctx.st.master.as_ref().map(|l| l.offset).unwrap_or(0);
            let ack = ack_command(off, ctx.st.aof.fsynced_reploff);
            ctx.c.reply.raw(&ack);
        }
        return Ok(());
    }
    let mut i = 1;
    while i + 1 < args.len() {
        let val = &args[i + 1];
        if eq_ic(&args[i], "listening-port") {
            ctx.c.replica_port = crate::util::parse_i64(val).unwrap_or(0).clamp(0, 65535) as u16;
        } else if eq_ic(&args[i], "rdb-only") {
            // What follows the RDB is never read by such a client; it
            // gets the stream like any replica (the tool just closes).
            crate::command::range_arg(val, 0, 1, None)?;
        } else if eq_ic(&args[i], "rdb-filter-only") {
            // Include filters: none means an empty RDB; "functions" is
            // the one filter there is.
            let mut exclude_functions = true;
            for f in val
                .split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty())
            {
                if !eq_ic(f, "functions") {
                    return Err(crate::command::CmdError::msg(format!(
                        "ERR Unsupported rdb-filter-only option: {}",
                        String::from_utf8_lossy(f)
                    )));
                }
                exclude_functions = false;
            }
            ctx.c.sync_exclude_data = true;
            ctx.c.sync_exclude_functions = exclude_functions;
        }
        i += 2;
    }
    ctx.ok()
}

/// ROLE: ["master", offset, [[ip, port, acked offset]...]] or
/// ["slave", host, port, link state, offset applied (-1 before a sync)].
fn role(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    use crate::replica::Step;
    if let Some(l) = &ctx.st.master {
        let state = if l.link_up() {
            "connected"
        } else if l.conn.is_none() {
            "connect"
        } else {
            match l.step {
                Step::Connecting => "connecting",
                Step::BulkHeader | Step::Transfer => "sync",
                _ => "handshake",
            }
        };
        let off = if l.link_up() { l.offset } else { -1 };
        let r = &mut ctx.c.reply;
        r.array(5);
        r.bulk(b"slave");
        r.bulk(l.host.as_bytes());
        r.int(l.port as i64);
        r.bulk(state.as_bytes());
        r.int(off);
        return Ok(());
    }
    let replicas: Vec<(String, u16, i64)> = ctx
        .st
        .repl
        .replicas
        .iter()
        .filter_map(|&t| ctx.others.get(t).and_then(|c| c.as_deref()))
        .map(|c| (c.ip().to_string(), c.replica_port, c.repl_ack_off))
        .collect();
    let r = &mut ctx.c.reply;
    r.array(3);
    r.bulk(b"master");
    r.int(ctx.st.repl.offset);
    r.array(replicas.len());
    for (ip, port, off) in replicas {
        r.array(3);
        r.bulk(ip.as_bytes());
        r.bulk(port.to_string().as_bytes());
        r.bulk(off.to_string().as_bytes());
    }
    Ok(())
}

/// What a replica tells its master: REPLCONF ACK <applied offset>, with
/// FACK <offset on disk> while its AOF is on (for the master's WAITAOF).
pub fn ack_command(offset: i64, fsynced: i64) -> Vec<u8> {
    let off = offset.to_string();
    let fs = fsynced.to_string();
    let mut out = Vec::with_capacity(64);
    if fsynced == -1 {
        crate::repl::encode(
            &mut out,
            [&b"REPLCONF"[..], b"ACK", off.as_bytes()].into_iter(),
        );
    } else {
        crate::repl::encode(
            &mut out,
            [
                &b"REPLCONF"[..],
                b"ACK",
                off.as_bytes(),
                b"FACK",
                fs.as_bytes(),
            ]
            .into_iter(),
        );
    }
    out
}

/// WAIT numreplicas timeout: the number of replicas that acknowledged
/// this client's last propagated write, once it reaches `numreplicas` or
/// the timeout (ms, 0 = none) passes.
fn wait(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.st.master.is_some() {
        return Err(crate::command::CmdError::msg(
            "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
        ));
    }
    let want = crate::util::parse_i64(&args[1]).ok_or(crate::command::CmdError::NotInteger)?;
    let ms = wait_timeout(ctx, &args[2])?;
    let acked = acks_at(ctx, ctx.c.woff, |c| c.repl_ack_off);
    if acked >= want || ctx.block_timed_out() || !park(ctx, args, ms) {
        ctx.c.reply.int(acked);
    }
    Ok(())
}

/// WAITAOF numlocal numreplicas timeout: [whether our AOF has this
/// client's last write on disk, how many replicas' AOFs have it], once
/// both reach what was asked or the timeout passes.
fn waitaof(ctx: &mut Ctx, args: &Args) -> CmdResult {
    use crate::command::CmdError;
    if ctx.st.master.is_some() {
        return Err(CmdError::msg(
            "ERR WAITAOF cannot be used with replica instances. Please also note that writes to replicas are just local and are not propagated.",
        ));
    }
    let local = crate::command::range_arg(&args[1], 0, 1, None)?;
    let want = crate::util::parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    if want < 0 {
        return Err(CmdError::msg("ERR value is out of range, must be positive"));
    }
    let ms = wait_timeout(ctx, &args[3])?;
    if local == 1 && !ctx.st.cfg.bool("appendonly") {
        return Err(CmdError::msg(
            "ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.",
        ));
    }
    let target = ctx.c.woff;
    let on_disk = (ctx.st.aof.fsynced_reploff >= target) as i64;
    let acked = acks_at(ctx, target, |c| c.repl_aof_off);
    if (acked >= want && on_disk >= local) || ctx.block_timed_out() || !park(ctx, args, ms) {
        let r = &mut ctx.c.reply;
        r.array(2);
        r.int(on_disk);
        r.int(acked);
    }
    Ok(())
}

/// A WAIT/WAITAOF timeout: milliseconds, 0 for none.
fn wait_timeout(ctx: &Ctx, arg: &[u8]) -> Result<i64, crate::command::CmdError> {
    let ms = crate::command::parse_timeout_ms(arg)?;
    if ctx.st.now_ms.checked_add(ms).is_none() {
        return Err(crate::command::CmdError::msg("ERR timeout is out of range"));
    }
    Ok(ms)
}

/// Parks a WAIT/WAITAOF client until acknowledgements move; false where
/// it may not block (MULTI, scripts). The first time, the replicas are
/// asked for their offsets before the server sleeps.
fn park(ctx: &mut Ctx, args: &Args, ms: i64) -> bool {
    let first = !ctx.st.blocking.rerun;
    if !ctx.block(args, &[], ms) {
        return false;
    }
    let t = ctx.c.token;
    if !ctx.st.blocking.wait.contains(&t) {
        ctx.st.blocking.wait.push(t);
    }
    if first {
        ctx.st.repl.get_ack = true;
    }
    true
}

/// Replicas whose acknowledged offset (`which`) reached `offset`.
fn acks_at(ctx: &Ctx, offset: i64, which: fn(&crate::client::Client) -> i64) -> i64 {
    ctx.st
        .repl
        .replicas
        .iter()
        .filter(|&&r| {
            ctx.others
                .get(r)
                .and_then(|c| c.as_deref())
                .is_some_and(|c| which(c) >= offset)
        })
        .count() as i64
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

#[cfg(test)]
mod tests {
    use super::ack_command;

    #[test]
    fn ack_carries_fack_only_while_the_aof_is_on() {
        assert_eq!(
            ack_command(123, -1),
            b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n123\r\n".to_vec()
        );
        assert_eq!(
            ack_command(123, 100),
            b"*5\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n123\r\n$4\r\nFACK\r\n$3\r\n100\r\n"
                .to_vec()
        );
    }
}
