//! The ACL command: users and their rules, the ACL file, the ACL log.

use crate::acl::{self, User, registry};
use crate::client::Client;
use crate::command::flags::*;
use crate::command::{CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, categories, cmd, container};
use crate::resp::Args;
use crate::util::eq_ic;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    flags: SENTINEL,
    ..container(
        "acl",
        "server",
        "6.0.0",
        "A container for Access List Control commands.",
        ACL,
    )
}];

const ADMIN_ACL: u32 = ADMIN | NOSCRIPT | LOADING | STALE | SENTINEL;
const PLAIN_ACL: u32 = NOSCRIPT | LOADING | STALE | SENTINEL;

static ACL: &[CommandSpec] = &[
    cmd(
        "cat",
        -2,
        PLAIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Lists the ACL categories, or the commands inside a category.",
        acl_cat,
    ),
    cmd(
        "deluser",
        -3,
        ADMIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Deletes ACL users, and terminates their connections.",
        acl_deluser,
    ),
    cmd(
        "dryrun",
        -4,
        ADMIN_ACL,
        NO_KEYS,
        "server",
        "7.0.0",
        "Simulates the execution of a command by a user, without executing the command.",
        acl_dryrun,
    ),
    cmd(
        "genpass",
        -2,
        PLAIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Generates a pseudorandom, secure password that can be used to identify ACL users.",
        acl_genpass,
    ),
    cmd(
        "getuser",
        3,
        ADMIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Lists the ACL rules of a user.",
        acl_getuser,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE | SENTINEL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Returns helpful text about the different subcommands.",
        acl_help,
    ),
    cmd(
        "list",
        2,
        ADMIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Dumps the effective rules in ACL file format.",
        acl_list,
    ),
    cmd(
        "load",
        2,
        ADMIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Reloads the rules from the configured ACL file.",
        acl_load,
    ),
    cmd(
        "log",
        -2,
        ADMIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Lists recent security events generated due to ACL rules.",
        acl_log,
    ),
    cmd(
        "save",
        2,
        ADMIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Saves the effective ACL rules in the configured ACL file.",
        acl_save,
    ),
    cmd(
        "setuser",
        -3,
        ADMIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Creates and modifies an ACL user and its rules.",
        acl_setuser,
    ),
    cmd(
        "users",
        2,
        ADMIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Lists all ACL users.",
        acl_users,
    ),
    cmd(
        "whoami",
        2,
        PLAIN_ACL,
        NO_KEYS,
        "server",
        "6.0.0",
        "Returns the authenticated username of the current connection.",
        acl_whoami,
    ),
];

/// ACL SETUSER username [rule ...]: all rules apply, or none.
fn acl_setuser(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = String::from_utf8_lossy(&args[2]).into_owned();
    if acl::has_spaces(&args[2]) {
        return Err(CmdError::msg(
            "ERR Usernames can't contain spaces or null characters",
        ));
    }
    let ops: Vec<Vec<u8>> = args.iter().skip(3).map(|a| a.to_vec()).collect();
    let pubsub_all = ctx.st.acl.pubsub_all;
    let mut user = match ctx.st.acl.get(&name) {
        Some(u) => u.clone(),
        None => User::new(&name, pubsub_all),
    };
    user.apply_all(&ops, pubsub_all)
        .map_err(|e| CmdError::msg(format!("ERR {e}")))?;
    // Subscribers whose channels the new rules no longer allow are
    // disconnected.
    if let Some(old) = ctx.st.acl.get(&name)
        && let Some(allowed) = user.channels_lost(old)
    {
        kill_clients(ctx, |c| c.user == name && subscriptions_lost(c, &allowed));
    }
    ctx.st.acl.users.insert(name, user);
    ctx.st.acl.refresh();
    ctx.ok()
}

/// Whether a subscriber holds a subscription outside `allowed`.
fn subscriptions_lost(c: &Client, allowed: &[Vec<u8>]) -> bool {
    c.psubs
        .iter()
        .any(|p| !acl::selector::channel_in(allowed, p, true))
        || c.subs
            .iter()
            .chain(c.ssubs.iter())
            .any(|ch| !acl::selector::channel_in(allowed, ch, false))
}

/// Disconnects the clients `pred` picks, the current one after its reply
/// (Redis's `deauthenticateAndCloseClient`).
fn kill_clients(ctx: &mut Ctx, pred: impl Fn(&Client) -> bool) {
    let victims: Vec<u64> = ctx
        .others
        .iter()
        .filter_map(|(_, c)| c.as_deref())
        .filter(|c| !c.is_master && pred(c))
        .map(|c| {
            c.conn.shutdown();
            c.id
        })
        .collect();
    ctx.st.pending.kill_ids.extend(victims);
    if pred(ctx.c) {
        ctx.c.authenticated = false;
        ctx.c.close_after_reply = true;
    }
}

/// ACL DELUSER username [username ...]
fn acl_deluser(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.iter().skip(2).any(|a| a == b"default") {
        return Err(CmdError::msg("ERR The 'default' user cannot be removed"));
    }
    let mut deleted = 0;
    for a in args.iter().skip(2) {
        let name = String::from_utf8_lossy(a).into_owned();
        if ctx.st.acl.users.remove(&name).is_some() {
            kill_clients(ctx, |c| c.user == name);
            deleted += 1;
        }
    }
    ctx.st.acl.refresh();
    ctx.c.reply.int(deleted);
    Ok(())
}

/// ACL GETUSER username
fn acl_getuser(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = String::from_utf8_lossy(&args[2]);
    let Some(u) = ctx.st.acl.get(&name) else {
        ctx.c.reply.null();
        return Ok(());
    };
    let r = &mut ctx.c.reply;
    r.map(6);
    r.bulk_str("flags");
    let flags = u.flag_names();
    r.set(flags.len());
    for f in flags {
        r.bulk_str(f);
    }
    r.bulk_str("passwords");
    r.array(u.passwords.len());
    for p in &u.passwords {
        r.bulk_str(p);
    }
    reply_selector(r, u.root());
    r.bulk_str("selectors");
    r.array(u.selectors.len() - 1);
    for s in &u.selectors[1..] {
        r.map(3);
        reply_selector(r, s);
    }
    Ok(())
}

fn reply_selector(r: &mut crate::resp::ReplyBuf, s: &acl::selector::Selector) {
    r.bulk_str("commands");
    r.bulk_str(&s.describe_commands());
    r.bulk_str("keys");
    r.bulk(&s.describe_keys());
    r.bulk_str("channels");
    r.bulk(&s.describe_channels());
}

/// ACL LIST
fn acl_list(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let lines = ctx.st.acl.list_lines();
    let r = &mut ctx.c.reply;
    r.array(lines.len());
    for l in lines {
        r.bulk(&l);
    }
    Ok(())
}

/// ACL USERS
fn acl_users(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let r = &mut ctx.c.reply;
    r.array(ctx.st.acl.users.len());
    for name in ctx.st.acl.users.keys() {
        r.bulk_str(name);
    }
    Ok(())
}

/// ACL WHOAMI
fn acl_whoami(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.c.user.is_empty() {
        ctx.c.reply.null();
    } else {
        ctx.c.reply.bulk_str(&ctx.c.user);
    }
    Ok(())
}

fn aclfile(ctx: &Ctx) -> Result<String, CmdError> {
    let f = ctx.st.cfg.get("aclfile");
    if f.is_empty() {
        return Err(CmdError::msg(
            "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
        ));
    }
    Ok(f.to_string())
}

/// ACL LOAD: the file replaces every user, or nothing changes. Clients of
/// users that are gone, or that lost channels they subscribe to, are
/// disconnected.
fn acl_load(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let path = aclfile(ctx)?;
    let users = acl::file::load(&path, ctx.st.acl.pubsub_all)
        .map_err(|e| CmdError::msg(format!("ERR {e}")))?;
    let lost: Vec<(String, Option<Vec<Vec<u8>>>)> = ctx
        .st
        .acl
        .users
        .iter()
        .filter_map(|(name, old)| match users.get(name) {
            None => Some((name.clone(), None)),
            Some(new) => new
                .channels_lost(old)
                .map(|allowed| (name.clone(), Some(allowed))),
        })
        .collect();
    kill_clients(ctx, |c| {
        lost.iter().any(|(name, allowed)| {
            c.user == *name && allowed.as_ref().is_none_or(|a| subscriptions_lost(c, a))
        })
    });
    ctx.st.acl.users = users;
    ctx.st.acl.refresh();
    ctx.ok()
}

/// ACL SAVE
fn acl_save(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let path = aclfile(ctx)?;
    if !acl::file::save(&path, &ctx.st.acl.list_lines()) {
        return Err(CmdError::msg(
            "ERR There was an error trying to save the ACLs. Please check the server logs for more information",
        ));
    }
    ctx.ok()
}

/// ACL CAT [category]
fn acl_cat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(syntax_error(args));
    }
    let r = &mut ctx.c.reply;
    if args.len() == 2 {
        r.array(categories::NAMES.len());
        for n in categories::NAMES {
            r.bulk_str(n);
        }
        return Ok(());
    }
    let Some(bit) = categories::bit(&args[2]) else {
        return Err(CmdError::msg(format!(
            "ERR Unknown category '{}'",
            String::from_utf8_lossy(&args[2][..args[2].len().min(128)])
        )));
    };
    let names: Vec<&str> = registry::get()
        .entries
        .iter()
        .filter(|e| e.cats & bit != 0)
        .map(|e| e.full.as_str())
        .collect();
    r.array(names.len());
    for n in names {
        r.bulk_str(n);
    }
    Ok(())
}

/// ACL GENPASS [bits]: random hex from the system's generator.
fn acl_genpass(ctx: &mut Ctx, args: &Args) -> CmdResult {
    const MAX_BITS: i64 = 4096;
    let bits = match args.len() {
        2 => 256,
        3 => crate::util::parse_i64(&args[2]).ok_or(CmdError::NotInteger)?,
        _ => return Err(syntax_error(args)),
    };
    if bits <= 0 || bits > MAX_BITS {
        return Err(CmdError::msg(format!(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to {MAX_BITS}"
        )));
    }
    let chars = (bits as usize).div_ceil(4);
    let mut raw = vec![0u8; chars.div_ceil(2)];
    crate::util::random_bytes(&mut raw);
    let mut hex = String::with_capacity(raw.len() * 2);
    for b in raw {
        hex.push_str(&format!("{b:02x}"));
    }
    hex.truncate(chars);
    ctx.c.reply.bulk_str(&hex);
    Ok(())
}

/// ACL LOG [count | RESET]
fn acl_log(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut count = 10;
    match args.len() {
        2 => {}
        3 if eq_ic(&args[2], "reset") => {
            ctx.st.acl.log.entries.clear();
            return ctx.ok();
        }
        3 => {
            count = crate::util::parse_i64(&args[2])
                .ok_or(CmdError::NotInteger)?
                .max(0);
        }
        _ => return Err(syntax_error(args)),
    }
    let now = crate::util::now_ms();
    let entries = &ctx.st.acl.log.entries;
    let n = (count as usize).min(entries.len());
    let r = &mut ctx.c.reply;
    r.array(n);
    for e in entries.iter().take(n) {
        r.map(10);
        r.bulk_str("count");
        r.int(e.count as i64);
        r.bulk_str("reason");
        r.bulk_str(e.reason);
        r.bulk_str("context");
        r.bulk_str(e.context);
        r.bulk_str("object");
        r.bulk(&e.object);
        r.bulk_str("username");
        r.bulk(&e.username);
        r.bulk_str("age-seconds");
        r.double((now - e.ctime) as f64 / 1000.0);
        r.bulk_str("client-info");
        r.bulk_str(&e.client_info);
        r.bulk_str("entry-id");
        r.int(e.entry_id as i64);
        r.bulk_str("timestamp-created");
        r.int(e.created);
        r.bulk_str("timestamp-last-updated");
        r.int(e.ctime);
    }
    Ok(())
}

/// ACL DRYRUN username command [arg ...]: whether the user could run it.
fn acl_dryrun(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = String::from_utf8_lossy(&args[2]).into_owned();
    let Some(user) = ctx.st.acl.get(&name) else {
        return Err(CmdError::msg(format!("ERR User '{name}' not found")));
    };
    let cmd_args = Args::from_iter(args.iter().skip(3));
    let Some((spec, _)) = ctx.st.commands.lookup_line(&cmd_args) else {
        return Err(CmdError::msg(format!(
            "ERR Command '{}' not found",
            String::from_utf8_lossy(&args[3])
        )));
    };
    let full = registry::get().full_name(spec);
    let argc = cmd_args.len() as i32;
    if (spec.arity > 0 && spec.arity != argc) || argc < -spec.arity {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{full}' command"
        )));
    }
    match user.check(spec, &cmd_args) {
        Ok(()) => ctx.ok(),
        Err(d) => {
            let msg = d.message(&name, full, &cmd_args, true);
            ctx.c.reply.bulk_str(&msg);
            Ok(())
        }
    }
}

/// Redis's `addReplySubcommandSyntaxError`, naming the subcommand as typed.
fn syntax_error(args: &Args) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
        String::from_utf8_lossy(&args[1][..args[1].len().min(128)])
    ))
}

/// ACL HELP
fn acl_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    crate::commands::introspection::reply_help(
        &mut ctx.c.reply,
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}
