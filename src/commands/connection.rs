//! Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET, CLIENT.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, container};
use crate::resp::Args;
use crate::util::eq_ic;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "ping",
        -1,
        FAST | SENTINEL,
        NO_KEYS,
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        ping,
    ),
    cmd(
        "echo",
        2,
        FAST,
        NO_KEYS,
        "connection",
        "1.0.0",
        "Returns the given string.",
        echo,
    ),
    cmd(
        "quit",
        -1,
        ALLOW_BUSY | NO_AUTH | FAST | LOADING | STALE,
        NO_KEYS,
        "connection",
        "1.0.0",
        "Closes the connection.",
        quit,
    ),
    cmd(
        "select",
        2,
        LOADING | STALE | FAST,
        NO_KEYS,
        "connection",
        "1.0.0",
        "Changes the selected database.",
        select,
    ),
    cmd(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        "6.0.0",
        "Handshakes with the Redis server.",
        hello,
    ),
    cmd(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        auth,
    ),
    cmd(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        "6.2.0",
        "Resets the connection.",
        reset,
    ),
    container(
        "client",
        "connection",
        "2.4.0",
        "A container for client connection commands.",
        CLIENT,
    ),
];

static CLIENT: &[CommandSpec] = &[
    cmd(
        "id",
        2,
        NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        "5.0.0",
        "Returns the unique client ID of the connection.",
        client_id,
    ),
    cmd(
        "setname",
        3,
        NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        "2.6.9",
        "Sets the connection name.",
        client_setname,
    ),
    cmd(
        "getname",
        2,
        NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        "2.6.9",
        "Returns the name of the connection.",
        client_getname,
    ),
    cmd(
        "list",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        "2.4.0",
        "Lists open connections.",
        client_list,
    ),
    cmd(
        "info",
        2,
        NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        "6.2.0",
        "Returns information about the connection.",
        client_info,
    ),
];

/// PING [message]
pub fn ping(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match args.len() {
        1 => ctx.c.reply.simple("PONG"),
        2 => ctx.c.reply.bulk(&args[1]),
        _ => {
            return Err(CmdError::msg(
                "ERR wrong number of arguments for 'ping' command",
            ));
        }
    }
    Ok(())
}

/// ECHO message
pub fn echo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.c.reply.bulk(&args[1]);
    Ok(())
}

/// QUIT
pub fn quit(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.c.close_after_reply = true;
    ctx.ok()
}

/// SELECT index
pub fn select(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let id = args
        .i64_at(1)
        .map_err(|_| CmdError::msg("ERR value is not an integer or out of range"))?;
    if id < 0 || id as usize >= ctx.st.dbs.len() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    ctx.c.db = id as usize;
    ctx.ok()
}

fn check_password(ctx: &mut Ctx, user: Option<&[u8]>, pass: &[u8]) -> Result<(), CmdError> {
    let ok = match &ctx.st.cfg.hot.requirepass {
        None => {
            user.map(|u| u == b"default").unwrap_or(true)
                && ctx.st.cfg.hot.requirepass.is_none()
                && user.is_some()
        }
        Some(p) => user.map(|u| u == b"default").unwrap_or(true) && p.as_slice() == pass,
    };
    if ok {
        ctx.c.authenticated = true;
        Ok(())
    } else {
        Err(CmdError::msg(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ))
    }
}

/// AUTH [username] password
pub fn auth(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if args.len() == 2 && ctx.st.cfg.hot.requirepass.is_none() {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let (user, pass) = if args.len() == 3 {
        (Some(&args[1]), &args[2])
    } else {
        (None, &args[1])
    };
    check_password(ctx, user, pass)?;
    ctx.ok()
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
pub fn hello(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut ver = None;
    let mut i = 1;
    if args.len() >= 2 {
        let v = args
            .i64_at(1)
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        ver = Some(v as u8);
        i = 2;
    }
    let mut setname = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "auth") && more >= 2 {
            check_password(ctx, Some(&args[i + 1]), &args[i + 2])?;
            i += 3;
        } else if eq_ic(&args[i], "setname") && more >= 1 {
            validate_name(&args[i + 1])?;
            setname = Some(args[i + 1].to_vec());
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    if !ctx.c.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(n) = setname {
        ctx.c.name = if n.is_empty() { None } else { Some(n) };
    }
    if let Some(v) = ver {
        ctx.c.reply.resp = v;
    }
    let r = &mut ctx.c.reply;
    r.map(7);
    r.bulk_str("server");
    r.bulk_str("redis");
    r.bulk_str("version");
    r.bulk_str(crate::REDIS_VERSION);
    r.bulk_str("proto");
    r.int(r.resp as i64);
    r.bulk_str("id");
    r.int(ctx.c.id as i64);
    let r = &mut ctx.c.reply;
    r.bulk_str("mode");
    r.bulk_str("standalone");
    r.bulk_str("role");
    r.bulk_str(if ctx.st.is_replica {
        "replica"
    } else {
        "master"
    });
    r.bulk_str("modules");
    r.array(0);
    Ok(())
}

/// RESET
pub fn reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.c.db = 0;
    ctx.c.reply.resp = 2;
    ctx.c.name = None;
    ctx.c.no_evict = false;
    ctx.c.no_touch = false;
    ctx.c.reply_mode = crate::client::ReplyMode::On;
    if ctx.c.monitor {
        ctx.c.monitor = false;
        let t = ctx.c.token;
        ctx.st.monitors.retain(|&m| m != t);
    }
    ctx.c.authenticated = ctx.st.cfg.hot.requirepass.is_none();
    ctx.c.reply.simple("RESET");
    Ok(())
}

/// Client names cannot contain spaces, newlines or special characters.
pub fn validate_name(n: &[u8]) -> Result<(), CmdError> {
    if n.iter().any(|&c| c < b'!' || c > b'~') {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn client_id(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.c.reply.int(ctx.c.id as i64);
    Ok(())
}

fn client_setname(ctx: &mut Ctx, args: &Args) -> CmdResult {
    validate_name(&args[2])?;
    ctx.c.name = if args[2].is_empty() {
        None
    } else {
        Some(args[2].to_vec())
    };
    ctx.ok()
}

fn client_getname(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    match ctx.c.name.clone() {
        Some(n) => ctx.c.reply.bulk(&n),
        None => ctx.c.reply.null(),
    }
    Ok(())
}

fn client_info(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let mut line = ctx.c.info_line(ctx.st.now_ms);
    line.push('\n');
    ctx.c.reply.verbatim(line.as_bytes(), "txt");
    Ok(())
}

fn client_list(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let now = ctx.st.now_ms;
    let mut lines: Vec<(u64, String)> = ctx
        .others
        .iter()
        .filter_map(|(_, c)| c.as_ref())
        .map(|c| (c.id, c.info_line(now)))
        .collect();
    lines.push((ctx.c.id, ctx.c.info_line(now)));
    lines.sort_by_key(|l| l.0);
    let mut s = String::new();
    for (_, l) in lines {
        s.push_str(&l);
        s.push('\n');
    }
    ctx.c.reply.verbatim(s.as_bytes(), "txt");
    Ok(())
}
