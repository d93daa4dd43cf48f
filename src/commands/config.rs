//! CONFIG: GET, SET (applied, and rolled back as a whole when a value
//! cannot take effect), RESETSTAT, REWRITE and HELP. The parameters
//! themselves are `crate::config`'s table.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, container};
use crate::resp::Args;

pub static COMMANDS: &[CommandSpec] = &[container(
    "config",
    "server",
    "2.0.0",
    "A container for server configuration commands.",
    CONFIG,
)];

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
    cmd(
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "server",
        "2.8.0",
        "Persists the effective configuration to file.",
        config_rewrite,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        config_help,
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
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::msg(
            "ERR wrong number of arguments for 'config|set' command",
        ));
    }
    let pairs: Vec<(String, String)> = (2..args.len())
        .step_by(2)
        .map(|i| (args.str_at(i), args.str_at(i + 1)))
        .collect();
    // `enable-protected-configs local`: protected parameters only from a
    // local connection ("no" is enforced by the config itself).
    let c = &ctx.c;
    if ctx.st.cfg.get("enable-protected-configs") == "local"
        && !(c.unix || c.addr.starts_with("127.") || c.addr.starts_with("[::1]"))
        && let Some((name, _)) = pairs
            .iter()
            .find(|(n, _)| ctx.st.cfg.param(n).is_some_and(|(_, p)| p.protected()))
    {
        return Err(CmdError::Msg(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config"
        )));
    }
    // Redis's DENY_LOADING_CONFIG: what the load in progress depends on.
    if ctx.st.loading.is_some()
        && pairs.iter().any(|(n, _)| {
            ctx.st
                .cfg
                .param(n)
                .is_some_and(|(_, p)| matches!(p.name, "dir" | "repl-diskless-load"))
        })
    {
        return Err(CmdError::msg(
            "LOADING Redis is loading the dataset in memory",
        ));
    }
    let before = ctx.st.cfg.clone();
    let changed = ctx.st.cfg.set_many(&pairs).map_err(CmdError::Msg)?;
    // Parameters whose new value acts on the system are applied now; if
    // one fails, every parameter goes back to its old value (re-applied),
    // as Redis's CONFIG SET rollback does.
    let mut failed = None;
    // Only values that really change are applied (setting the port in
    // use must not rebind it).
    let changed: Vec<&'static str> = changed
        .into_iter()
        .filter(|n| before.get(n) != ctx.st.cfg.get(n))
        .collect();
    for name in &changed {
        if let Err(m) = apply(ctx, name) {
            failed = Some((*name, m));
            break;
        }
    }
    if let Some((name, m)) = failed {
        ctx.st.cfg = before;
        ctx.st.pending.listeners = None;
        for n in &changed {
            let _ = apply(ctx, n);
        }
        return Err(CmdError::Msg(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {m}"
        )));
    }
    for name in changed {
        if name == "loglevel" {
            crate::logging::set_level(ctx.st.cfg.get("loglevel"));
        }
        if name == "maxmemory" {
            crate::evict::maxmemory_changed(ctx.st, ctx.others);
        }
    }
    ctx.ok()
}

/// Makes a changed parameter take effect where that can fail.
fn apply(ctx: &mut Ctx, name: &str) -> Result<(), String> {
    match name {
        "oom-score-adj" | "oom-score-adj-values" => {
            let replica = ctx.st.master.is_some();
            ctx.st.oom.apply(&ctx.st.cfg, replica)
        }
        "port" | "bind" => {
            // Bound now, so a port in use fails the command; the reactor
            // swaps the sockets in once the command returns.
            let ls = crate::server::tcp_listeners(&ctx.st.cfg).map_err(|e| {
                log::warn!(
                    "Failed to bind to specified addresses: {}",
                    crate::util::os_error_text(&e)
                );
                if name == "port" {
                    "Unable to listen on this port. Check server logs.".to_string()
                } else {
                    "Failed to bind to specified addresses.".to_string()
                }
            })?;
            ctx.st.pending.listeners = Some(ls);
            Ok(())
        }
        "appendonly" => crate::persist::aof::apply_config(ctx.st),
        "requirepass" => {
            let pass = ctx.st.cfg.get("requirepass").as_bytes().to_vec();
            ctx.st
                .acl
                .set_default_password((!pass.is_empty()).then_some(&pass[..]));
            Ok(())
        }
        "acl-pubsub-default" => {
            ctx.st.acl.pubsub_all = ctx.st.cfg.get("acl-pubsub-default") == "allchannels";
            Ok(())
        }
        // As Redis, even with set-proc-title off.
        "proc-title-template" => {
            crate::proctitle::update(&ctx.st.cfg);
            Ok(())
        }
        "aof-disable-auto-gc" => {
            crate::persist::aof::delete_history(ctx.st);
            Ok(())
        }
        "min-replicas-max-lag" | "min-replicas-to-write" => {
            ctx.st.repl.recount_good = true;
            Ok(())
        }
        "repl-backlog-size" => {
            let size = ctx.st.cfg.int("repl-backlog-size").max(1) as usize;
            if let Some(b) = ctx.st.repl.backlog.as_mut() {
                b.resize(size);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn config_resetstat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.st.stats = Default::default();
    ctx.st.metrics = Default::default();
    ctx.st.cmdstats.clear();
    crate::command::call::reset_errstats(ctx.st);
    let r = &mut ctx.st.repl;
    (r.sync_full, r.sync_partial_ok, r.sync_partial_err) = (0, 0, 0);
    ctx.st.evict.reset_stats();
    ctx.st.scripts.evicted = 0;
    ctx.st.lazyfree.freed = 0;
    let l = &mut ctx.st.acl.log;
    (l.denied_auth, l.denied_cmd, l.denied_key, l.denied_channel) = (0, 0, 0, 0);
    ctx.ok()
}

/// CONFIG HELP
fn config_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    crate::commands::introspection::reply_help(
        &mut ctx.c.reply,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

/// CONFIG REWRITE
fn config_rewrite(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    rewrite_or_reply(ctx, false, "Rewriting config file")
}

/// Rewrites the config file and replies (CONFIG REWRITE, DEBUG
/// CONFIG-REWRITE-FORCE-ALL); `what` begins the error reply.
pub fn rewrite_or_reply(ctx: &mut Ctx, force_all: bool, what: &str) -> CmdResult {
    let Some(path) = ctx.st.cfg.file.clone() else {
        return Err(CmdError::msg(
            "ERR The server is running without a config file",
        ));
    };
    // Users are written as `user` lines, unless an ACL file keeps them.
    let users = if ctx.st.cfg.get("aclfile").is_empty() {
        ctx.st
            .acl
            .list_lines()
            .into_iter()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .collect()
    } else {
        Vec::new()
    };
    match rewrite_config(&ctx.st.cfg, &path, force_all, &users) {
        Ok(()) => {
            log::info!("CONFIG REWRITE executed with success.");
            ctx.ok()
        }
        Err(e) => {
            let t = crate::util::os_error_text(&e);
            log::warn!("CONFIG REWRITE failed: {}", t);
            Err(CmdError::msg(format!("ERR {what}: {t}")))
        }
    }
}

/// The lines that set parameter `p` to `v` in redis.conf.
fn config_lines(p: &crate::config::Param, v: &str) -> Vec<String> {
    use crate::config::Kind;
    let words: Vec<&str> = v.split_whitespace().collect();
    match p.name {
        "save" if !words.is_empty() => words
            .chunks(2)
            .map(|c| format!("save {}", c.join(" ")))
            .collect(),
        "client-output-buffer-limit" if !words.is_empty() => words
            .chunks(4)
            .map(|c| format!("client-output-buffer-limit {}", c.join(" ")))
            .collect(),
        // No master: Redis drops the directive rather than writing "".
        "replicaof" if v.is_empty() => Vec::new(),
        _ if v.is_empty() => vec![format!("{} \"\"", p.name)],
        _ if matches!(p.kind, Kind::Str) || p.name == "dir" => {
            vec![format!("{} {}", p.name, crate::util::repr(v.as_bytes()))]
        }
        _ => vec![format!("{} {}", p.name, v)],
    }
}

/// Rewrites the config file after Redis's `rewriteConfig`: lines of
/// parameters already in the file are updated in place, parameters that
/// differ from their defaults (all of them with `force_all`) are appended,
/// and unknown lines (include, rename-command...) are kept. `user` lines
/// are replaced by `users`, written where the first one was.
pub fn rewrite_config(
    cfg: &crate::config::Config,
    path: &str,
    force_all: bool,
    users: &[String],
) -> std::io::Result<()> {
    const MARKER: &str = "# Generated by CONFIG REWRITE";
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let defaults = crate::config::Config::new();
    let mut lines: Vec<Option<String>> = Vec::new();
    // Parameter index -> positions of its lines in `lines`.
    let mut at: std::collections::HashMap<usize, Vec<usize>> = Default::default();
    let mut users_at = None;
    for l in old.lines() {
        if l.trim() == MARKER {
            continue;
        }
        let t = l.trim();
        let first = t.split_whitespace().next().unwrap_or("");
        if first.eq_ignore_ascii_case("user") {
            if users_at.is_none() && !users.is_empty() {
                users_at = Some(lines.len());
                lines.push(Some(users.join("\n")));
            }
            continue;
        }
        if !t.starts_with('#')
            && let Some((i, _)) = cfg.param(first)
        {
            at.entry(i).or_default().push(lines.len());
        }
        lines.push(Some(l.to_string()));
    }
    let mut appended = Vec::new();
    for (i, p) in crate::config::PARAMS.iter().enumerate() {
        let v = cfg.get(p.name);
        let differs = v != defaults.get(p.name);
        let new = config_lines(p, v);
        match at.get(&i) {
            Some(pos) => {
                lines[pos[0]] = (!new.is_empty()).then(|| new.join("\n"));
                for &k in &pos[1..] {
                    lines[k] = None;
                }
            }
            None if differs || force_all => appended.extend(new),
            None => {}
        }
    }
    if users_at.is_none() {
        appended.extend(users.iter().cloned());
    }
    let mut out = String::new();
    for l in lines.into_iter().flatten() {
        out.push_str(&l);
        out.push('\n');
    }
    // Trailing blank lines would pile up with every rewrite.
    while out.ends_with("\n\n") {
        out.pop();
    }
    if !appended.is_empty() {
        out.push_str(MARKER);
        out.push('\n');
        for l in appended {
            out.push_str(&l);
            out.push('\n');
        }
    }
    let tmp = format!("{path}.tmp-rewrite");
    std::fs::write(&tmp, out)?;
    std::fs::rename(&tmp, path)
}
