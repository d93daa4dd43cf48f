//! Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET, CLIENT.

use crate::client::Client;
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
        LOADING | STALE | FAST,
        NO_KEYS,
        "connection",
        "1.0.0",
        "Returns the given string.",
        echo,
    ),
    cmd(
        "quit",
        -1,
        ALLOW_BUSY | NO_AUTH | NOSCRIPT | FAST | LOADING | STALE,
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
        "unblock",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        "5.0.0",
        "Unblocks a client blocked by a blocking command from a different connection.",
        client_unblock,
    ),
    cmd(
        "id",
        2,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "5.0.0",
        "Returns the unique client ID of the connection.",
        client_id,
    ),
    cmd(
        "setname",
        3,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "2.6.9",
        "Sets the connection name.",
        client_setname,
    ),
    cmd(
        "getname",
        2,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "2.6.9",
        "Returns the name of the connection.",
        client_getname,
    ),
    cmd(
        "list",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "2.4.0",
        "Lists open connections.",
        client_list,
    ),
    cmd(
        "info",
        2,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "6.2.0",
        "Returns information about the connection.",
        client_info,
    ),
    cmd(
        "kill",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "2.4.0",
        "Terminates open connections.",
        client_kill,
    ),
    cmd(
        "setinfo",
        4,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "7.2.0",
        "Sets information specific to the client or connection.",
        client_setinfo,
    ),
    cmd(
        "reply",
        3,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "3.2.0",
        "Instructs the server whether to reply to commands.",
        client_reply,
    ),
    cmd(
        "no-evict",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "7.0.0",
        "Sets the client eviction mode of the connection.",
        client_no_evict,
    ),
    cmd(
        "no-touch",
        3,
        NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        "7.2.0",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        client_no_touch,
    ),
    cmd(
        "caching",
        3,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "6.0.0",
        "Instructs the server whether to track the keys in the next request.",
        client_caching,
    ),
    cmd(
        "tracking",
        -3,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "6.0.0",
        "Controls server-assisted client-side caching for the connection.",
        client_tracking,
    ),
    cmd(
        "getredir",
        2,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "6.0.0",
        "Returns the client ID to which the connection's tracking notifications are redirected.",
        client_getredir,
    ),
    cmd(
        "trackinginfo",
        2,
        NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "6.2.0",
        "Returns information about server-assisted client-side caching for the connection.",
        client_trackinginfo,
    ),
    cmd(
        "pause",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "3.0.0",
        "Suspends commands processing.",
        client_pause,
    ),
    cmd(
        "unpause",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "6.2.0",
        "Resumes processing commands from paused clients.",
        client_unpause,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE | SENTINEL,
        NO_KEYS,
        "connection",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        client_help,
    ),
];

/// PING [message]
pub fn ping(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let c = &mut *ctx.c;
    if c.reply.resp == 2 && (!c.subs.is_empty() || !c.psubs.is_empty() || !c.ssubs.is_empty()) {
        // A subscribed RESP2 client gets ["pong", message-or-empty].
        if args.len() > 2 {
            return Err(CmdError::msg(
                "ERR wrong number of arguments for 'ping' command",
            ));
        }
        c.reply.array(2);
        c.reply.bulk(b"pong");
        c.reply.bulk(if args.len() == 2 { &args[1] } else { b"" });
        return Ok(());
    }
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
    if ctx.st.cluster.is_some() && id != 0 {
        return Err(CmdError::msg("ERR SELECT is not allowed in cluster mode"));
    }
    if id != 0 {
        ctx.st.stats.cluster_incompatible_ops += 1;
    }
    if id < 0 || id as usize >= ctx.st.dbs.len() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    ctx.c.db = id as usize;
    ctx.ok()
}

/// Logs the client in as `user` if `pass` is right for it (Redis's
/// `ACLAuthenticateUser`); a failure is counted and logged in the ACL log.
fn authenticate(ctx: &mut Ctx, user: &[u8], pass: &[u8], cmd: &[u8]) -> Result<(), CmdError> {
    let name = String::from_utf8_lossy(user);
    if ctx
        .st
        .acl
        .get(&name)
        .is_some_and(|u| u.check_password(pass))
    {
        ctx.c.authenticated = true;
        if ctx.c.user != name {
            ctx.c.user = name.into_owned();
        }
        return Ok(());
    }
    // Inside EXEC too: Redis's client keeps its MULTI flag while EXEC runs.
    let context = if ctx.c.multi.is_some() || ctx.st.in_exec {
        "multi"
    } else {
        "toplevel"
    };
    let info = ctx.c.info_line(ctx.st.now_ms);
    crate::command::call::log_acl(ctx.st, "auth", context, cmd, user, info);
    Err(CmdError::msg(
        "WRONGPASS invalid username-password pair or user is disabled.",
    ))
}

/// AUTH [username] password
pub fn auth(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if args.len() == 2 && ctx.st.acl.default_user().nopass {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let (user, pass): (&[u8], &[u8]) = if args.len() == 3 {
        (&args[1], &args[2])
    } else {
        (b"default", &args[1])
    };
    authenticate(ctx, user, pass, &args[0])?;
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
    let mut login = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "auth") && more >= 2 {
            // The last AUTH given is the one tried.
            login = Some(i + 1);
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
    if let Some(at) = login {
        authenticate(ctx, &args[at], &args[at + 1], &args[0])?;
    }
    if !ctx.c.authenticated && !ctx.st.acl.default_open {
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
    disable_tracking(ctx);
    ctx.c.multi = None;
    ctx.c.multi_error = false;
    ctx.st.unwatch_all(ctx.c);
    ctx.st.unsubscribe_all(ctx.c);
    if ctx.c.monitor {
        ctx.c.monitor = false;
        let t = ctx.c.token;
        ctx.st.monitors.retain(|&m| m != t);
    }
    ctx.c.user = "default".into();
    ctx.c.authenticated = ctx.st.acl.default_open;
    ctx.c.reply.simple("RESET");
    Ok(())
}

/// Client names cannot contain spaces, newlines or special characters.
pub fn validate_name(n: &[u8]) -> Result<(), CmdError> {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]: 1 when that client was
/// blocked; the server then serves it as timed out (or with an error).
fn client_unblock(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let id = crate::util::parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    let error = if args.len() == 4 {
        if eq_ic(&args[3], "timeout") {
            false
        } else if eq_ic(&args[3], "error") {
            true
        } else {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    } else if args.len() > 4 {
        return Err(CmdError::Syntax);
    } else {
        false
    };
    let blocked = ctx
        .others
        .iter()
        .filter_map(|(_, c)| c.as_deref())
        .any(|c| c.id as i64 == id && c.blocked.is_some());
    if blocked {
        ctx.st.pending.unblock.push((id as u64, error));
    }
    ctx.c.reply.int(blocked as i64);
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

/// Bytes the current command took in the query buffer, in multibulk form:
/// Redis reports them in `qbuf=` while the command runs.
fn command_wire_len(args: &Args) -> usize {
    let digits = |n: usize| n.to_string().len();
    let mut n = 3 + digits(args.len());
    for a in args.iter() {
        n += 1 + digits(a.len()) + 2 + a.len() + 2;
    }
    n
}

/// The calling client's `CLIENT LIST` line, counting the command being run
/// in `qbuf=` as Redis does.
fn self_info_line(ctx: &Ctx, args: &Args) -> String {
    let line = ctx.c.info_line(ctx.st.now_ms);
    let qbuf = ctx.c.pending_input() + command_wire_len(args);
    match (line.find(" qbuf="), line.find(" qbuf-free=")) {
        (Some(a), Some(b)) if a < b => format!("{} qbuf={}{}", &line[..a], qbuf, &line[b..]),
        _ => line,
    }
}

/// Client types, as `getClientTypeByName` knows them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn client_type_by_name(n: &[u8]) -> Option<ClientType> {
    if eq_ic(n, "normal") {
        Some(ClientType::Normal)
    } else if eq_ic(n, "slave") || eq_ic(n, "replica") {
        Some(ClientType::Replica)
    } else if eq_ic(n, "pubsub") {
        Some(ClientType::PubSub)
    } else if eq_ic(n, "master") {
        Some(ClientType::Master)
    } else {
        None
    }
}

fn client_type(c: &Client) -> ClientType {
    if c.is_master {
        return ClientType::Master;
    }
    // MONITOR clients count as replicas, as in Redis.
    if c.monitor || c.replica {
        ClientType::Replica
    } else if !c.subs.is_empty() || !c.psubs.is_empty() || !c.ssubs.is_empty() {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

fn unknown_type(n: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "ERR Unknown client type '{}'",
        String::from_utf8_lossy(n)
    ))
}

/// CLIENT INFO
fn client_info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut line = self_info_line(ctx, args);
    line.push('\n');
    ctx.c.reply.verbatim(line.as_bytes(), "txt");
    Ok(())
}

/// CLIENT LIST [TYPE type] [ID id [id ...]]
fn client_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut ty = None;
    let mut ids = None;
    if args.len() == 4 && eq_ic(&args[2], "type") {
        ty = Some(client_type_by_name(&args[3]).ok_or_else(|| unknown_type(&args[3]))?);
    } else if args.len() > 3 && eq_ic(&args[2], "id") {
        let mut v = Vec::new();
        for i in 3..args.len() {
            v.push(
                args.i64_at(i)
                    .map_err(|_| CmdError::msg("ERR Invalid client ID"))?,
            );
        }
        ids = Some(v);
    } else if args.len() != 2 {
        return Err(CmdError::Syntax);
    }
    let now = ctx.st.now_ms;
    let me = self_info_line(ctx, args);
    let all: Vec<&Client> = ctx
        .others
        .iter()
        .filter_map(|(_, c)| c.as_deref())
        .chain(std::iter::once(&*ctx.c))
        .collect();
    let line_of = |c: &Client| {
        if c.id == ctx.c.id {
            me.clone()
        } else {
            c.info_line(now)
        }
    };
    let mut s = String::new();
    match ids {
        Some(ids) => {
            // In the order asked, as Redis does.
            for id in ids {
                if let Some(c) = all.iter().find(|c| c.id as i64 == id) {
                    s.push_str(&line_of(c));
                    s.push('\n');
                }
            }
        }
        None => {
            let mut v: Vec<&&Client> = all
                .iter()
                .filter(|c| ty.is_none_or(|t| client_type(c) == t))
                .collect();
            v.sort_by_key(|c| c.id);
            for c in v {
                s.push_str(&line_of(c));
                s.push('\n');
            }
        }
    }
    ctx.c.reply.verbatim(s.as_bytes(), "txt");
    Ok(())
}

/// The peer address as CLIENT LIST prints it (`ip:port`, `path:0`).
fn peer_id(c: &Client) -> String {
    if c.unix {
        format!("{}:0", c.laddr)
    } else {
        c.addr.clone()
    }
}

/// CLIENT KILL addr | CLIENT KILL [ID id] [TYPE type] [USER user]
/// [ADDR addr] [LADDR addr] [SKIPME yes|no] [MAXAGE secs]
fn client_kill(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut addr: Option<String> = None;
    let mut laddr: Option<String> = None;
    let mut ty = None;
    let mut id = 0i64;
    let mut max_age = 0i64;
    let mut user: Option<String> = None;
    let mut skipme = true;
    let old_form = args.len() == 3;
    if old_form {
        addr = Some(args.str_at(2));
        skipme = false;
    } else {
        let mut i = 2;
        while i < args.len() {
            if i + 1 >= args.len() {
                return Err(CmdError::Syntax);
            }
            let v = &args[i + 1];
            let k = &args[i];
            if eq_ic(k, "id") {
                id = crate::util::parse_i64(v)
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?;
            } else if eq_ic(k, "maxage") {
                let n = crate::util::parse_i64(v)
                    .ok_or_else(|| CmdError::msg("ERR maxage is not an integer or out of range"))?;
                if n <= 0 {
                    return Err(CmdError::msg("ERR maxage should be greater than 0"));
                }
                max_age = n;
            } else if eq_ic(k, "type") {
                ty = Some(client_type_by_name(v).ok_or_else(|| unknown_type(v))?);
            } else if eq_ic(k, "addr") {
                addr = Some(args.str_at(i + 1));
            } else if eq_ic(k, "laddr") {
                laddr = Some(args.str_at(i + 1));
            } else if eq_ic(k, "user") {
                let u = args.str_at(i + 1);
                if ctx.st.acl.get(&u).is_none() {
                    return Err(CmdError::msg(format!("ERR No such user '{u}'")));
                }
                user = Some(u);
            } else if eq_ic(k, "skipme") {
                if eq_ic(v, "yes") {
                    skipme = true;
                } else if eq_ic(v, "no") {
                    skipme = false;
                } else {
                    return Err(CmdError::Syntax);
                }
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
    }
    let now = ctx.st.now_ms;
    let me = ctx.c.id;
    let matches = |c: &Client| {
        addr.as_ref().is_none_or(|a| *a == peer_id(c))
            && laddr.as_ref().is_none_or(|a| *a == c.laddr)
            && ty.is_none_or(|t| client_type(c) == t)
            && (id == 0 || c.id as i64 == id)
            && user.as_ref().is_none_or(|u| *u == c.user)
            && !(skipme && c.id == me)
            && (max_age == 0 || (now - c.ctime_ms) / 1000 >= max_age)
    };
    // The others are freed after this command, but their sockets close
    // now, as Redis frees them on the spot: inside MULTI ... DEBUG SLEEP,
    // a killed master link must look dead to the master during the sleep.
    let mut victims: Vec<u64> = ctx
        .others
        .iter()
        .filter_map(|(_, c)| c.as_deref())
        .filter(|c| matches(c))
        .map(|c| {
            c.conn.shutdown();
            c.id
        })
        .collect();
    let kill_me = matches(ctx.c);
    let killed = victims.len() + kill_me as usize;
    ctx.st.pending.kill_ids.append(&mut victims);
    if old_form {
        if killed == 0 {
            return Err(CmdError::msg("ERR No such client"));
        }
        ctx.c.reply.ok();
    } else {
        ctx.c.reply.int(killed as i64);
    }
    if kill_me {
        ctx.c.close_after_reply = true;
    }
    Ok(())
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value
fn client_setinfo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lib_name = if eq_ic(&args[2], "lib-name") {
        true
    } else if eq_ic(&args[2], "lib-ver") {
        false
    } else {
        return Err(CmdError::msg(format!(
            "ERR Unrecognized option '{}'",
            args.str_at(2)
        )));
    };
    if args[3].iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::msg(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            args.str_at(2)
        )));
    }
    let v = if args[3].is_empty() {
        None
    } else {
        Some(args[3].to_vec())
    };
    if lib_name {
        ctx.c.lib_name = v;
    } else {
        ctx.c.lib_ver = v;
    }
    ctx.ok()
}

/// CLIENT REPLY ON|OFF|SKIP
fn client_reply(ctx: &mut Ctx, args: &Args) -> CmdResult {
    use crate::client::ReplyMode;
    if eq_ic(&args[2], "on") {
        ctx.c.reply_mode = ReplyMode::On;
        ctx.ok()
    } else if eq_ic(&args[2], "off") {
        ctx.c.reply_mode = ReplyMode::Off;
        Ok(())
    } else if eq_ic(&args[2], "skip") {
        if ctx.c.reply_mode != ReplyMode::Off {
            ctx.c.reply_mode = ReplyMode::SkipNext;
        }
        Ok(())
    } else {
        Err(CmdError::Syntax)
    }
}

fn on_off(a: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(a, "on") {
        Ok(true)
    } else if eq_ic(a, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// CLIENT NO-EVICT ON|OFF
fn client_no_evict(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.c.no_evict = on_off(&args[2])?;
    ctx.ok()
}

/// CLIENT NO-TOUCH ON|OFF
fn client_no_touch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.c.no_touch = on_off(&args[2])?;
    ctx.ok()
}

/// CLIENT CACHING YES|NO: in OPTIN mode, YES tracks the keys of the next
/// command; in OPTOUT mode, NO leaves them untracked.
fn client_caching(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(t) = ctx.c.tracking.as_mut() else {
        return Err(CmdError::msg(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if eq_ic(&args[2], "yes") {
        if !t.optin {
            return Err(CmdError::msg(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if eq_ic(&args[2], "no") {
        if !t.optout {
            return Err(CmdError::msg(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    t.caching = true;
    ctx.ok()
}

/// Turns tracking off for the calling client (CLIENT TRACKING off, RESET).
pub fn disable_tracking(ctx: &mut Ctx) {
    if let Some(t) = ctx.c.tracking.take() {
        ctx.st.tracking.disable(ctx.c.id, &t);
    }
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p [PREFIX p ...]] [BCAST]
/// [OPTIN] [OPTOUT] [NOLOOP]
///
/// # Errors
/// A syntax error, a redirection to an unknown client, and every option
/// clash Redis refuses (PREFIX without BCAST, switching BCAST or
/// OPTIN/OPTOUT without turning tracking off first, overlapping prefixes).
fn client_tracking(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut o = crate::tracking::Options::default();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = &args[j];
        if eq_ic(a, "redirect") && more {
            j += 1;
            if o.redirect != 0 {
                return Err(CmdError::msg(
                    "ERR A client can only redirect to a single other client",
                ));
            }
            let id = args.i64_at(j)?;
            let exists = id as u64 == ctx.c.id
                || ctx
                    .others
                    .iter()
                    .any(|(_, c)| c.as_ref().is_some_and(|c| c.id == id as u64));
            if !exists {
                return Err(CmdError::msg(
                    "ERR The client ID you want redirect to does not exist",
                ));
            }
            o.redirect = id as u64;
        } else if eq_ic(a, "bcast") {
            o.bcast = true;
        } else if eq_ic(a, "optin") {
            o.optin = true;
        } else if eq_ic(a, "optout") {
            o.optout = true;
        } else if eq_ic(a, "noloop") {
            o.noloop = true;
        } else if eq_ic(a, "prefix") && more {
            j += 1;
            o.prefixes.push(args[j].to_vec());
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if eq_ic(&args[2], "off") {
        disable_tracking(ctx);
        return ctx.ok();
    }
    if !eq_ic(&args[2], "on") {
        return Err(CmdError::Syntax);
    }
    if !o.bcast && !o.prefixes.is_empty() {
        return Err(CmdError::msg(
            "ERR PREFIX option requires BCAST mode to be enabled",
        ));
    }
    let cur = ctx.c.tracking.as_deref();
    if let Some(t) = cur
        && t.bcast != o.bcast
    {
        return Err(CmdError::msg(
            "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if o.bcast && (o.optin || o.optout) {
        return Err(CmdError::msg(
            "ERR OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if o.optin && o.optout {
        return Err(CmdError::msg(
            "ERR You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if let Some(t) = cur
        && ((o.optin && t.optout) || (o.optout && t.optin))
    {
        return Err(CmdError::msg(
            "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if o.bcast {
        let empty = Default::default();
        let have = cur.map_or(&empty, |t| &t.prefixes);
        crate::tracking::check_prefixes(have, &o.prefixes).map_err(CmdError::Msg)?;
    }
    let mut t = ctx.c.tracking.take().unwrap_or_default();
    ctx.st.tracking.enable(ctx.c.id, &mut t, &o);
    ctx.c.tracking = Some(t);
    ctx.ok()
}

/// CLIENT GETREDIR: the redirection id, 0 without one, -1 when tracking
/// is off.
fn client_getredir(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let id = ctx.c.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    ctx.c.reply.int(id);
    Ok(())
}

/// CLIENT TRACKINGINFO: flags, redirect and prefixes of this client.
fn client_trackinginfo(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let t = ctx.c.tracking.as_deref();
    let mut flags: Vec<&str> = vec![if t.is_some() { "on" } else { "off" }];
    if let Some(t) = t {
        if t.bcast {
            flags.push("bcast");
        }
        if t.optin {
            flags.push("optin");
            if t.caching {
                flags.push("caching-yes");
            }
        }
        if t.optout {
            flags.push("optout");
            if t.caching {
                flags.push("caching-no");
            }
        }
        if t.noloop {
            flags.push("noloop");
        }
        if t.broken_redir {
            flags.push("broken_redirect");
        }
    }
    let redirect = t.map_or(-1, |t| t.redirect as i64);
    let prefixes: Vec<Vec<u8>> = t
        .map(|t| t.prefixes.iter().cloned().collect())
        .unwrap_or_default();
    let r = &mut ctx.c.reply;
    r.map(3);
    r.bulk_str("flags");
    r.set(flags.len());
    for f in flags {
        r.bulk_str(f);
    }
    r.bulk_str("redirect");
    r.int(redirect);
    r.bulk_str("prefixes");
    r.array(prefixes.len());
    for p in &prefixes {
        r.bulk(p);
    }
    Ok(())
}

/// CLIENT PAUSE timeout [WRITE|ALL]
fn client_pause(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let mut all = true;
    if args.len() == 4 {
        if eq_ic(&args[3], "write") {
            all = false;
        } else if !eq_ic(&args[3], "all") {
            return Err(CmdError::msg("ERR CLIENT PAUSE mode must be WRITE or ALL"));
        }
    }
    let ms = crate::command::parse_timeout_ms(&args[2])?;
    let now = crate::util::now_ms();
    let end = if ms > 0 {
        now.checked_add(ms)
            .ok_or_else(|| CmdError::msg("ERR timeout is out of range"))?
    } else {
        0
    };
    ctx.st.pause.pause(end, all);
    ctx.ok()
}

/// CLIENT UNPAUSE
fn client_unpause(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.st.pause.unpause();
    ctx.ok()
}

/// CLIENT HELP
fn client_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    crate::commands::introspection::reply_help(
        &mut ctx.c.reply,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * MAXAGE <maxage>",
            "      Kill connections older than the specified age.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
    Ok(())
}
