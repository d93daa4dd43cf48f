//! Generic keyspace commands: DEL, EXISTS, TYPE, RENAME, expiry, SCAN...

use crate::command::flags::*;
use crate::command::{CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::resp::Args;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "del",
        -2,
        WRITE,
        keys(1, -1, 1),
        "generic",
        "1.0.0",
        "Deletes one or more keys.",
        del,
    ),
    cmd(
        "exists",
        -2,
        READONLY | FAST,
        keys(1, -1, 1),
        "generic",
        "1.0.0",
        "Determines whether one or more keys exist.",
        exists,
    ),
];

/// DEL key [key ...]
pub fn del(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut n = 0;
    for k in args.iter().skip(1) {
        ctx.lookup_write(k);
        if ctx.db().delete(k) {
            ctx.wrote(k, "del", notify::GENERIC);
            n += 1;
        }
    }
    ctx.c.reply.int(n);
    Ok(())
}

/// EXISTS key [key ...]
pub fn exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut n = 0;
    for k in args.iter().skip(1) {
        if ctx.lookup(k).is_some() {
            n += 1;
        }
    }
    ctx.c.reply.int(n);
    Ok(())
}
