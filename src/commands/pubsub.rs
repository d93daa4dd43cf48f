//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH,
//! PUBSUB introspection.

use crate::command::flags::*;
use crate::command::{CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, container, keys};
use crate::pubsub::Table;
use crate::resp::Args;
use crate::util::glob_match;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "subscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels.",
        subscribe,
    ),
    cmd(
        "unsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Stops listening to messages posted to channels.",
        unsubscribe,
    ),
    cmd(
        "psubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        psubscribe,
    ),
    cmd(
        "punsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        punsubscribe,
    ),
    cmd(
        "ssubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        keys(1, -1, 1),
        "pubsub",
        "7.0.0",
        "Listens for messages published to shard channels.",
        ssubscribe,
    ),
    cmd(
        "sunsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        keys(1, -1, 1),
        "pubsub",
        "7.0.0",
        "Stops listening to messages posted to shard channels.",
        sunsubscribe,
    ),
    cmd(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        NO_KEYS,
        "pubsub",
        "2.0.0",
        "Posts a message to a channel.",
        publish,
    ),
    cmd(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        keys(1, 1, 1),
        "pubsub",
        "7.0.0",
        "Post a message to a shard channel",
        spublish,
    ),
    container(
        "pubsub",
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands.",
        PUBSUB_SUB,
    ),
];

static PUBSUB_SUB: &[CommandSpec] = &[
    cmd(
        "channels",
        -2,
        PUBSUB | LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "2.8.0",
        "Returns the active channels.",
        pubsub_channels,
    ),
    cmd(
        "numsub",
        -2,
        PUBSUB | LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "2.8.0",
        "Returns a count of subscribers to channels.",
        pubsub_numsub,
    ),
    cmd(
        "numpat",
        2,
        PUBSUB | LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "2.8.0",
        "Returns a count of unique pattern subscriptions.",
        pubsub_numpat,
    ),
    cmd(
        "shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "7.0.0",
        "Returns the active shard channels.",
        pubsub_shardchannels,
    ),
    cmd(
        "shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "7.0.0",
        "Returns the count of subscribers of shard channels.",
        pubsub_shardnumsub,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "pubsub",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        pubsub_help,
    ),
];

fn count(ctx: &Ctx, t: Table) -> usize {
    match t {
        Table::Shard => ctx.c.ssubs.len(),
        _ => ctx.c.subs.len() + ctx.c.psubs.len(),
    }
}

fn sub_generic(ctx: &mut Ctx, args: &Args, t: Table, verb: &[u8]) -> CmdResult {
    let tok = ctx.c.token;
    for name in args.iter().skip(1) {
        let set = match t {
            Table::Channel => &mut ctx.c.subs,
            Table::Pattern => &mut ctx.c.psubs,
            Table::Shard => &mut ctx.c.ssubs,
        };
        if set.insert(name.to_vec()) {
            ctx.st.pubsub.add(t, name, tok);
        }
        let n = count(ctx, t);
        let r = &mut ctx.c.reply;
        r.push(3);
        r.bulk(verb);
        r.bulk(name);
        r.int(n as i64);
    }
    Ok(())
}

fn unsub_generic(ctx: &mut Ctx, args: &Args, t: Table, verb: &[u8]) -> CmdResult {
    let tok = ctx.c.token;
    let names: Vec<Vec<u8>> = if args.len() > 1 {
        args.iter().skip(1).map(|a| a.to_vec()).collect()
    } else {
        match t {
            Table::Channel => ctx.c.subs.iter().cloned().collect(),
            Table::Pattern => ctx.c.psubs.iter().cloned().collect(),
            Table::Shard => ctx.c.ssubs.iter().cloned().collect(),
        }
    };
    if names.is_empty() {
        let n = count(ctx, t);
        let r = &mut ctx.c.reply;
        r.push(3);
        r.bulk(verb);
        r.null();
        r.int(n as i64);
        return Ok(());
    }
    for name in names {
        let set = match t {
            Table::Channel => &mut ctx.c.subs,
            Table::Pattern => &mut ctx.c.psubs,
            Table::Shard => &mut ctx.c.ssubs,
        };
        if set.remove(&name) {
            ctx.st.pubsub.remove(t, &name, tok);
        }
        let n = count(ctx, t);
        let r = &mut ctx.c.reply;
        r.push(3);
        r.bulk(verb);
        r.bulk(&name);
        r.int(n as i64);
    }
    Ok(())
}

/// SUBSCRIBE channel [channel ...]
fn subscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sub_generic(ctx, args, Table::Channel, b"subscribe")
}

/// UNSUBSCRIBE [channel ...]
fn unsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsub_generic(ctx, args, Table::Channel, b"unsubscribe")
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sub_generic(ctx, args, Table::Pattern, b"psubscribe")
}

/// PUNSUBSCRIBE [pattern ...]
fn punsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsub_generic(ctx, args, Table::Pattern, b"punsubscribe")
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
fn ssubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sub_generic(ctx, args, Table::Shard, b"ssubscribe")
}

/// SUNSUBSCRIBE [shardchannel ...]
fn sunsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsub_generic(ctx, args, Table::Shard, b"sunsubscribe")
}

/// PUBLISH channel message
fn publish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = ctx.st.pubsub.publish(&args[1], &args[2]);
    // Replicas get every PUBLISH, dataset change or not (Redis forces its
    // propagation outside cluster mode).
    if ctx.st.repl.active() && ctx.st.cluster.is_none() {
        ctx.propagate_as(args.iter().map(|a| a.to_vec()).collect());
    }
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// SPUBLISH shardchannel message
fn spublish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = ctx.st.pubsub.spublish(&args[1], &args[2]);
    ctx.c.reply.int(n as i64);
    Ok(())
}

fn list_channels(ctx: &mut Ctx, args: &Args, t: Table) -> CmdResult {
    let pat = if args.len() > 2 {
        Some(args[2].to_vec())
    } else {
        None
    };
    let names: Vec<Vec<u8>> = ctx
        .st
        .pubsub
        .table(t)
        .keys()
        .filter(|c| {
            pat.as_ref()
                .map(|p| glob_match(p, c, false))
                .unwrap_or(true)
        })
        .cloned()
        .collect();
    let r = &mut ctx.c.reply;
    r.array(names.len());
    for n in names {
        r.bulk(&n);
    }
    Ok(())
}

fn numsub(ctx: &mut Ctx, args: &Args, t: Table) -> CmdResult {
    let counts: Vec<(Vec<u8>, usize)> = args
        .iter()
        .skip(2)
        .map(|c| {
            (
                c.to_vec(),
                ctx.st.pubsub.table(t).get(c).map(|v| v.len()).unwrap_or(0),
            )
        })
        .collect();
    let r = &mut ctx.c.reply;
    // A flat array even in RESP3: Redis 8.0 replies with
    // addReplyArrayLen((argc-2)*2), not a map.
    r.array(counts.len() * 2);
    for (c, n) in counts {
        r.bulk(&c);
        r.int(n as i64);
    }
    Ok(())
}

/// PUBSUB CHANNELS [pattern]
fn pubsub_channels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(crate::command::CmdError::msg(
            "ERR wrong number of arguments for 'pubsub|channels' command",
        ));
    }
    list_channels(ctx, args, Table::Channel)
}

/// PUBSUB SHARDCHANNELS [pattern]
fn pubsub_shardchannels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(crate::command::CmdError::msg(
            "ERR wrong number of arguments for 'pubsub|shardchannels' command",
        ));
    }
    list_channels(ctx, args, Table::Shard)
}

/// PUBSUB NUMSUB [channel ...]
fn pubsub_numsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    numsub(ctx, args, Table::Channel)
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]
fn pubsub_shardnumsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    numsub(ctx, args, Table::Shard)
}

/// PUBSUB NUMPAT
fn pubsub_numpat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = ctx.st.pubsub.patterns.len();
    ctx.c.reply.int(n as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let lines = [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Print this help.",
    ];
    let r = &mut ctx.c.reply;
    r.array(lines.len());
    for l in lines {
        r.simple(l);
    }
    Ok(())
}
