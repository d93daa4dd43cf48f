//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH. Queueing itself
//! happens in `command::call`, before a queued command would run.

use crate::command::flags::*;
use crate::command::{CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, keys};
use crate::resp::Args;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NO_KEYS,
        "transactions",
        "1.2.0",
        "Starts a transaction.",
        multi,
    ),
    cmd(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        NO_KEYS,
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
        exec,
    ),
    cmd(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NO_KEYS,
        "transactions",
        "2.0.0",
        "Discards a transaction.",
        discard,
    ),
    cmd(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        keys(1, -1, 1),
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
        watch,
    ),
    cmd(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NO_KEYS,
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        unwatch,
    ),
];

/// MULTI
fn multi(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.c.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    ctx.c.multi = Some(Vec::new());
    ctx.c.multi_mem = 0;
    ctx.c.multi_error = false;
    ctx.ok()
}

/// DISCARD
fn discard(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.c.multi.take().is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    ctx.st.unwatch_all(ctx.c);
    ctx.ok()
}

/// EXEC
fn exec(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let Some(queue) = ctx.c.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    let aborted = std::mem::take(&mut ctx.c.multi_error);
    let dirty = ctx.st.cas_dirty.contains(&ctx.c.id) || watched_key_expired(ctx);
    ctx.st.unwatch_all(ctx.c);
    if aborted {
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if dirty {
        ctx.c.reply.null_array();
        return Ok(());
    }
    ctx.c.reply.array(queue.len());
    let mark = ctx.st.repl.out.len();
    let fed = ctx.st.repl.fed;
    ctx.st.in_exec = true;
    for args in &queue {
        crate::command::call::call(ctx.st, ctx.c, ctx.others, args);
    }
    ctx.st.in_exec = false;
    // CLIENT LIST shows EXEC as the last command, not the last queued one.
    ctx.c.last_cmd = "exec".into();
    // Replicas apply the transaction atomically when it wrote more than
    // once; a single write goes alone, as in Redis. MULTI precedes the
    // SELECT of the first write.
    if ctx.st.repl.fed - fed > 1 {
        ctx.st.repl.wrap_multi(mark);
    }
    Ok(())
}

/// Whether a key watched while alive has expired since (Redis's
/// `isWatchedKeyExpired`): EXEC then fails even if nobody deleted it.
fn watched_key_expired(ctx: &Ctx) -> bool {
    let now = ctx.st.now_ms;
    ctx.c.watched.iter().any(|(db, k)| {
        matches!(ctx.st.dbs[*db].get_expire(k), Some(w) if w <= now)
            && !ctx.st.watch_stale.contains(&(ctx.c.id, *db, k.to_vec()))
    })
}

/// Keys removed by expiry since the last call touch their WATCHers,
/// except those who watched them already expired (no logical change).
pub fn touch_expired(st: &mut crate::server::State) {
    if st.watched_keys.is_empty() {
        return;
    }
    for db in 0..st.dbs.len() {
        for k in &st.dbs[db].expired_keys {
            let Some(ids) = st.watched_keys.get(&(db, k.to_vec())) else {
                continue;
            };
            for &id in ids {
                if !st.watch_stale.remove(&(id, db, k.to_vec())) {
                    st.cas_dirty.insert(id);
                }
            }
        }
    }
}

/// WATCH key [key ...]
fn watch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.c.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    for k in args.iter().skip(1) {
        let db = ctx.c.db;
        if ctx.c.watched.iter().any(|(d, w)| *d == db && &w[..] == k) {
            continue;
        }
        ctx.c.watched.push((db, k.into()));
        let now = ctx.st.now_ms;
        if matches!(ctx.st.dbs[db].get_expire(k), Some(w) if w <= now) {
            let id = ctx.c.id;
            ctx.st.watch_stale.insert((id, db, k.to_vec()));
        }
        ctx.st
            .watched_keys
            .entry((db, k.to_vec()))
            .or_default()
            .push(ctx.c.id);
    }
    ctx.ok()
}

/// UNWATCH
fn unwatch(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.st.unwatch_all(ctx.c);
    ctx.ok()
}

/// SWAPDB `a` `b`: watchers of a key on either side see it change, except
/// where an expired key stands in for a missing one, or the reverse (no
/// logical change), as Redis's `touchAllWatchedKeysInDb`.
pub fn touch_swapdb(st: &mut crate::server::State, a: usize, b: usize) {
    st.blocking.signal_db(a);
    st.blocking.signal_db(b);
    if st.watched_keys.is_empty() {
        return;
    }
    let now = st.now_ms;
    let mut dirty = Vec::new();
    let mut stale_set = Vec::new();
    let mut stale_clear = Vec::new();
    for (emptied, with) in [(a, b), (b, a)] {
        let (de, dw) = (&st.dbs[emptied], &st.dbs[with]);
        let expired = |d: &crate::db::Db, k: &[u8]| matches!(d.get_expire(k), Some(w) if w <= now);
        for ((db, k), ids) in &st.watched_keys {
            if *db != emptied {
                continue;
            }
            let in_emptied = de.keys.contains(k);
            let in_with = dw.keys.contains(k);
            if !in_emptied && !in_with {
                continue;
            }
            for &id in ids {
                let e = (id, emptied, k.clone());
                if st.watch_stale.contains(&e) {
                    if !in_with {
                        stale_clear.push(e);
                        continue;
                    } else if expired(dw, k) {
                        continue;
                    }
                } else if !in_emptied && expired(dw, k) {
                    stale_set.push(e);
                    continue;
                }
                dirty.push(id);
            }
        }
    }
    for e in stale_clear {
        st.watch_stale.remove(&e);
    }
    st.watch_stale.extend(stale_set);
    st.cas_dirty.extend(dirty);
}
