//! `call`: the generic work done once for every command — lookup, arity,
//! authentication and other gates, execution, error rendering, stats —
//! so handlers never repeat it.

use super::table::subcommand;
use super::{CmdError, CmdResult, CommandSpec, Ctx};
use crate::client::Client;
use crate::resp::Args;
use crate::server::State;

pub fn no_handler(_: &mut Ctx, _: &Args) -> CmdResult {
    Err(CmdError::msg("ERR no handler"))
}

fn args_preview(args: &Args, from: usize) -> String {
    let mut s = String::new();
    for a in args.iter().skip(from) {
        if s.len() >= 128 {
            break;
        }
        let t = c_prefix(a, 128 - s.len());
        s.push_str(&format!("'{t}' "));
    }
    s
}

/// At most `max` bytes of `a`, stopping at a NUL byte: what Redis's
/// `%.*s` prints of an argument in these errors.
fn c_prefix(a: &[u8], max: usize) -> String {
    let end = a.iter().position(|&b| b == 0).unwrap_or(a.len()).min(max);
    String::from_utf8_lossy(&a[..end]).into_owned()
}

/// `name` or `parent|name`; borrowed (no allocation) for top-level
/// commands, which are nearly all of the traffic.
fn full_name(
    spec: &'static CommandSpec,
    parent: Option<&CommandSpec>,
) -> std::borrow::Cow<'static, str> {
    match parent {
        Some(p) => format!("{}|{}", p.name, spec.name).into(),
        None => spec.name.into(),
    }
}

/// Records an error reply in the stats, keyed by its code.
pub fn count_error(st: &mut State, text: &str) {
    st.stats.total_error_replies += 1;
    let code = text.split(' ').next().unwrap_or("ERR");
    let code = if code.len() > 128 { "ERR" } else { code };
    if !st.errstats_enabled {
        return;
    }
    if st.errstats.len() >= ERRSTATS_MAX && !st.errstats.contains_key(code) {
        // Scripts can make up any number of codes (redis.error_reply):
        // past the limit, the table is dropped and error stats stop until
        // CONFIG RESETSTAT, as in Redis.
        let mut codes: Vec<&str> = st.errstats.keys().map(|k| &k[..]).collect();
        codes.sort_unstable();
        log::warn!(
            "Errorstats stopped adding new errors because the number of errors reached the limit, may be misuse of lua error_reply, please check INFO ERRORSTATS, this can be re-enabled via CONFIG RESETSTAT."
        );
        log::warn!("Current errors code list: {}", codes.join(", "));
        reset_errstats(st);
        st.errstats.insert("ERRORSTATS_DISABLED".into(), 1);
        st.errstats_enabled = false;
        return;
    }
    *st.errstats.entry(code.to_string()).or_default() += 1;
}

/// Distinct error codes INFO errorstats keeps (Redis's ERROR_STATS_NUMBER).
const ERRSTATS_MAX: usize = 128;

/// Empties the error stats and turns them back on (CONFIG RESETSTAT); a
/// table worth it is freed after the turn, as Redis frees it lazily.
pub fn reset_errstats(st: &mut State) {
    let old = std::mem::take(&mut st.errstats);
    if old.len() > crate::db::lazyfree::THRESHOLD {
        let n = old.len() as u64;
        st.lazyfree.other(Box::new(old), n);
    }
    st.errstats_enabled = true;
}

fn reject(st: &mut State, c: &mut Client, text: &str, stat: Option<(&'static CommandSpec, &str)>) {
    if c.multi.is_some() {
        c.multi_error = true;
    }
    c.reply.error(text);
    count_error(st, text);
    if let Some((spec, name)) = stat {
        st.cmdstat(spec, name).rejected += 1;
    }
}

/// Runs `args` for client `c`. Returns whether the command should be fed
/// to MONITOR clients.
pub fn call(
    st: &mut State,
    c: &mut Client,
    others: &slab::Slab<Option<Box<Client>>>,
    args: &Args,
) -> bool {
    // Pipelines repeat a command: try the client's previous one before the
    // table.
    let again = c
        .last_spec
        .filter(|s| st.commands.plain_names && args[0].eq_ignore_ascii_case(s.name.as_bytes()));
    let Some(mut spec) = again.or_else(|| st.commands.get(&args[0])) else {
        let msg = format!(
            "ERR unknown command '{}', with args beginning with: {}",
            c_prefix(&args[0], 128),
            args_preview(args, 1)
        );
        reject(st, c, &msg, None);
        return false;
    };
    c.last_spec = Some(spec);
    let mut parent = None;
    // A container with arity -1 (COMMAND) also runs without a subcommand.
    if !spec.subcommands.is_empty() && (spec.arity != -1 || args.len() >= 2) {
        if args.len() < 2 {
            let msg = format!("ERR wrong number of arguments for '{}' command", spec.name);
            reject(st, c, &msg, Some((spec, spec.name)));
            return false;
        }
        match subcommand(spec, &args[1]) {
            Some(s) => {
                parent = Some(spec);
                spec = s;
            }
            None => {
                let msg = format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    c_prefix(&args[1], 128),
                    spec.name.to_uppercase()
                );
                reject(st, c, &msg, None);
                return false;
            }
        }
    }
    let name = full_name(spec, parent);
    let argc = args.len() as i32;
    if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
        let msg = format!("ERR wrong number of arguments for '{}' command", name);
        reject_or_abort(st, c, spec, &name, &msg);
        return false;
    }
    if !c.authenticated && !st.acl.default_open && !spec.has(super::flags::NO_AUTH) {
        let err = "NOAUTH Authentication required.";
        reject_or_abort(st, c, spec, &name, err);
        return false;
    }
    // ACLs: the default user with every permission (nearly always) skips
    // the check; a script's commands were checked by the script engine.
    if !acl_exempt(st, c)
        && let Err(msg) = acl_gate(st, c, spec, &name, args)
    {
        if spec.name == "exec" {
            reject_or_abort(st, c, spec, &name, &msg);
        } else {
            // A command EXEC runs is no rejected call of its own.
            let stat = (!st.in_exec).then_some((spec, name.as_ref()));
            reject(st, c, &msg, stat);
        }
        return false;
    }
    if spec.has(super::flags::PROTECTED) && !protected_allowed(st, c, spec) {
        let msg = format!(
            "ERR {} command not allowed. If the enable-{}-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            spec.name.to_uppercase(),
            spec.name
        );
        reject(st, c, &msg, Some((spec, name.as_ref())));
        return false;
    }
    // Loading a dataset: only commands flagged `loading`; the AOF loader's
    // own client and scripts go on.
    if st.loading.is_some()
        && !c.is_master
        && !spec.has(super::flags::LOADING)
        && !crate::script::is_script_client(c)
    {
        reject(
            st,
            c,
            "LOADING Redis is loading the dataset in memory",
            Some((spec, name.as_ref())),
        );
        return false;
    }
    // An async load keeps serving the old dataset, but not commands that
    // would change what is being replaced (REPLICAOF, FLUSHALL, ...).
    if spec.has(super::flags::NO_ASYNC_LOADING)
        && st.master.as_ref().is_some_and(|m| m.async_loading())
    {
        reject(
            st,
            c,
            "LOADING Redis is loading the dataset in memory",
            Some((spec, name.as_ref())),
        );
        return false;
    }
    // A script runs past busy-reply-threshold: only allow-busy commands.
    if let Some(err) = crate::script::busy_error(st, c, spec) {
        reject_or_abort(st, c, spec, &name, err);
        return false;
    }
    // Cluster routing (Redis's `getNodeByQuery`), before MULTI queuing so
    // a misrouted command flags the transaction; EXEC checks the queue.
    if st.cluster.is_some()
        && !c.is_master
        && !st.in_exec
        && let Some(err) = crate::commands::cluster::redirect(st, c, spec, args)
    {
        if spec.name == "exec" && c.multi.take().is_some() {
            c.multi_error = false;
            st.unwatch_all(c);
        }
        reject(st, c, err, Some((spec, name.as_ref())));
        return false;
    }
    // Outside cluster mode, count (a sample of) the requests a cluster
    // would refuse for keys in several slots.
    let ratio = st.cfg.hot.cluster_compat_ratio;
    // (A script's commands run with `in_exec` set, as EXEC's do.)
    if ratio > 0 && st.cluster.is_none() && (!st.in_exec || crate::script::is_script_client(c)) {
        let sampled = ratio >= 100 || (st.rng.next() % 100) < ratio as u64;
        crate::commands::cluster::count_incompatible(st, c, spec, args, sampled);
    }
    // maxmemory (Redis's processCommand): evict before every command, and
    // refuse one that may grow memory when nothing more can be freed.
    if st.cfg.hot.maxmemory != 0
        && !st.in_exec
        && !c.is_master
        && out_of_memory(st, c, others, spec)
    {
        reject_or_abort(st, c, spec, &name, crate::evict::OOM_ERR);
        return false;
    }
    // min-replicas-to-write: writes need enough replicas attached.
    // (A script's commands were checked by the script engine.)
    if st.cfg.hot.min_replicas_to_write > 0
        && !crate::script::is_script_client(c)
        && !st.is_replica
        && (st.repl.good_replicas as i64) < st.cfg.hot.min_replicas_to_write
        && (spec.has(super::flags::WRITE)
            || (spec.name == "exec" && c.multi.iter().flatten().any(|a| queued_writes(st, a))))
    {
        let err = "NOREPLICAS Not enough good replicas to write.";
        reject_or_abort(st, c, spec, &name, err);
        return false;
    }
    // A failed save with stop-writes-on-bgsave-error: writes (and PING,
    // so monitoring notices) are refused until a save succeeds.
    if !c.is_master
        && !st.in_exec
        && (spec.has(super::flags::WRITE)
            || spec.name == "ping"
            || (spec.name == "exec" && c.multi.iter().flatten().any(|a| queued_writes(st, a))))
        && let Some(err) = crate::persist::write_denied(st)
    {
        reject_or_abort(st, c, spec, &name, &err);
        return false;
    }
    // A replica cut off from its master with replica-serve-stale-data no
    // serves only commands flagged `stale`.
    if st.is_replica
        && !st.cfg.hot.replica_serve_stale_data
        && !c.is_master
        && !st.master.as_ref().is_some_and(|l| l.link_up())
        && (!spec.has(super::flags::STALE)
            || (spec.name == "exec"
                && c.multi
                    .iter()
                    .flatten()
                    .any(|a| !queued_has(st, a, super::flags::STALE))))
    {
        let err =
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
        reject_or_abort(st, c, spec, &name, err);
        return false;
    }
    if !st.in_exec {
        if st.tracking.clients() > 0 {
            limit_tracking_table(st, c);
        }
        // CLIENT PAUSE parks the client with this command (replicas
        // attached to us are never paused).
        let may = st.pause.active()
            && crate::script::may_write(st, spec, args)
                .unwrap_or_else(|| may_replicate(st, c, spec));
        if !c.replica && st.pause.blocks(may) {
            c.postponed = Some((Args::from_iter(args.iter()), 0));
            st.pause.postponed.push(c.token);
            return false;
        }
    }
    if c.multi.is_some()
        && !matches!(
            spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if spec.has(super::flags::NO_MULTI) {
            reject(
                st,
                c,
                "ERR Command not allowed inside a transaction",
                Some((spec, name.as_ref())),
            );
            return false;
        }
        if let Some(q) = c.multi.as_mut() {
            let queued = Args::from_iter(args.iter());
            c.multi_mem += queued.mem()
                + queued.len() * std::mem::size_of::<(u32, u32)>()
                + std::mem::size_of::<Args>();
            q.push(queued);
        }
        c.reply.simple("QUEUED");
        return true;
    }
    if c.reply.resp == 2
        && (!c.subs.is_empty() || !c.psubs.is_empty() || !c.ssubs.is_empty())
        && !matches!(
            spec.name,
            "subscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "ping"
                | "quit"
                | "reset"
        )
    {
        let msg = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            name
        );
        reject(st, c, &msg, Some((spec, name.as_ref())));
        return false;
    }
    if st.is_replica
        && !c.is_master
        && (spec.has(super::flags::WRITE)
            || (spec.name == "exec" && c.multi.iter().flatten().any(|a| queued_writes(st, a))))
        && st.cfg.bool("replica-read-only")
    {
        let err = "READONLY You can't write against a read only replica.";
        reject_or_abort(st, c, spec, &name, err);
        return false;
    }
    c.last_cmd = name.clone();
    c.last_stat = crate::server::stat_key(spec);
    let dirty_before = st.dirty;
    let start = crate::util::now_us();
    // Time stands still inside a transaction, as in Redis, so a key cannot
    // expire between two commands of one EXEC.
    if !st.in_exec {
        st.now_ms = start / 1000;
        crate::util::set_cached_ms(st.now_ms);
    }
    // Where this command's last error reply starts, if it writes one. (A
    // position alone would not tell: once the buffer is written out, the
    // next command's error starts at the same offset as the last one's.)
    c.reply.last_error = None;
    // A background save in progress keeps the keys' values as they were
    // when it started: whatever this command may change is saved first.
    if st.snapshot.is_some() && spec.has(super::flags::WRITE) {
        let pos = spec.key_positions(args);
        for i in pos {
            crate::persist::snapshot::before_write(st, c.db, &args[i]);
        }
    }
    let r = {
        let mut ctx = Ctx { st, c, others };
        (spec.run)(&mut ctx, args)
    };
    let dur = (crate::util::now_us() - start).max(0) as u64;
    // (Read-only scripts track only the keys their commands read.)
    if spec.has(super::flags::READONLY)
        && !spec.has(super::flags::PUBSUB | super::flags::NO_MANDATORY_KEYS)
        && c.tracking.as_ref().is_some_and(|t| t.remembers_keys())
    {
        let pos = spec.key_positions(args);
        st.tracking
            .remember(c.id, pos.iter().map(|&i| &args[i][..]));
    }
    // CLIENT CACHING applies to the next command (or transaction) only.
    if !st.in_exec
        && c.multi.is_none()
        && parent.is_none_or(|p| p.name != "client")
        && let Some(t) = c.tracking.as_mut()
    {
        t.caching = false;
    }
    propagate(st, c.db, spec, args, dirty_before);
    // A writable replica expires what its own clients gave a TTL (its
    // master expires the rest), as Redis's rememberSlaveKeyWithExpire.
    if st.is_replica && !c.is_master && st.dirty > dirty_before {
        let pos = spec.key_positions(args);
        for i in pos {
            if st.dbs[c.db].expires.get(&args[i][..]).is_some() {
                st.replica_expiring.insert((c.db, args[i].to_vec()));
            }
        }
    }
    let latency_tracking = st.cfg.hot.latency_tracking;
    let stat = st.cmdstat(spec, &name);
    // A command that blocked is counted once, when it is finally served
    // (or times out), as Redis does.
    if c.blocked.is_none() {
        stat.calls += 1;
        stat.usec += dur;
        if latency_tracking {
            stat.latency.record(dur.saturating_mul(1000));
        }
    }
    st.stats.commands_processed += 1;
    st.stats.el_cmd_us += dur;
    c.commands += 1;
    let event = if spec.has(super::flags::FAST) {
        "fast-command"
    } else {
        "command"
    };
    st.latency
        .add_if_needed(st.cfg.hot.latency_threshold, event, dur / 1000);
    // The slow log, with the threshold as the command left it (CONFIG
    // SET of it applies to itself); a blocked command is logged when it
    // is served.
    let slower_than = st.cfg.hot.slowlog_slower_than;
    if slower_than >= 0
        && dur as i64 >= slower_than
        && c.blocked.is_none()
        && !spec.has(super::flags::SKIP_SLOWLOG)
    {
        let argv: Vec<&[u8]> = args.iter().collect();
        let max = st.cfg.hot.slowlog_max_len.max(0) as usize;
        st.slowlog.push(
            max,
            &argv,
            |i| crate::commands::server::monitor_redacted(args, i),
            dur,
            &c.addr,
            c.name.as_deref().unwrap_or_default(),
        );
    }
    let counted = std::mem::take(&mut st.scripts.error_counted);
    match r {
        Ok(()) => {
            // A handler may have written an error reply itself (EXEC's
            // are its commands' own, counted when they ran).
            if spec.name != "exec"
                && let Some(at) = c.reply.last_error
            {
                let line_end = c.reply.buf[at..]
                    .iter()
                    .position(|&b| b == b'\r')
                    .map(|p| at + p)
                    .unwrap_or(c.reply.buf.len());
                let text = String::from_utf8_lossy(&c.reply.buf[at + 1..line_end]).into_owned();
                if let Some(s) = st.cmdstats.get_mut(&c.last_stat) {
                    s.failed += 1;
                }
                // A script's error that a command inside it already
                // counted is not counted twice.
                if !counted {
                    count_error(st, &text);
                }
            }
        }
        Err(e) => {
            let text = e.text();
            c.reply.error(&text);
            if let Some(s) = st.cmdstats.get_mut(&c.last_stat) {
                s.failed += 1;
            }
            count_error(st, &text);
        }
    }
    // Administrative commands are too dangerous to show, as in Redis.
    // Scripts are skip_monitor there because their handlers show them
    // first; here this same path shows them, before their commands.
    !spec.has(super::flags::ADMIN)
        && (!spec.has(super::flags::SKIP_MONITOR)
            || matches!(
                spec.name,
                "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
            ))
}

/// Clients whose commands skip the ACL check: the unrestricted default
/// user's, those without a user (master link, AOF loader) and the script
/// client (its commands were checked by the script engine).
fn acl_exempt(st: &State, c: &Client) -> bool {
    !st.acl.restricts(&c.user) || c.is_master || crate::script::is_script_client(c)
}

/// The ACL check of a command `c` is about to run (Redis's
/// `ACLCheckAllPerm` in processCommand, or in EXEC for a queued command):
/// on a denial, logs it and returns the error to reply with.
fn acl_gate(
    st: &mut State,
    c: &mut Client,
    spec: &'static CommandSpec,
    name: &str,
    args: &Args,
) -> Result<(), String> {
    let Some(user) = st.acl.get(&c.user) else {
        return Ok(());
    };
    let Err(denied) = user.check(spec, args) else {
        return Ok(());
    };
    let in_exec = st.in_exec;
    let context = if in_exec || c.multi.is_some() {
        "multi"
    } else {
        "toplevel"
    };
    // The client info names the command being refused, or EXEC for one
    // it queued.
    let info = if in_exec {
        let ran = std::mem::replace(&mut c.last_cmd, "exec".into());
        let info = c.info_line(st.now_ms);
        c.last_cmd = ran;
        info
    } else {
        c.last_cmd = name.to_string().into();
        c.info_line(st.now_ms)
    };
    log_denial(st, &c.user, denied, name, args, context, info);
    if in_exec {
        let reason = match denied {
            crate::acl::Denied::Command => "no permission to execute the command or subcommand",
            crate::acl::Denied::Key(_) => "no permission to touch the specified keys",
            crate::acl::Denied::Channel(_) => {
                "no permission to access one of the channels used as arguments"
            }
        };
        return Err(format!(
            "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
        ));
    }
    Err(format!(
        "NOPERM {}",
        denied.message(&c.user, name, args, false)
    ))
}

/// Adds a denial by `user` to the ACL log (and INFO's counters);
/// `client_info` is the client line to record.
pub fn log_denial(
    st: &mut State,
    user: &str,
    denied: crate::acl::Denied,
    name: &str,
    args: &Args,
    context: &'static str,
    client_info: String,
) {
    let object = match denied {
        crate::acl::Denied::Command => name.as_bytes(),
        _ => &args[denied.pos()],
    };
    log_acl(
        st,
        denied.reason(),
        context,
        object,
        user.as_bytes(),
        client_info,
    );
}

/// Adds an entry to the ACL log (and counts it in INFO), within
/// `acllog-max-len`: `reason` is `auth`, `command`, `key` or `channel`.
pub fn log_acl(
    st: &mut State,
    reason: &'static str,
    context: &'static str,
    object: &[u8],
    user: &[u8],
    client_info: String,
) {
    let max = st.cfg.int("acllog-max-len").max(0) as usize;
    let ev = crate::acl::log::Event {
        reason,
        context,
        object,
        username: user,
        client_info,
        now: crate::util::now_ms(),
    };
    st.acl.log.add(ev, max);
}

/// Whether CLIENT PAUSE WRITE holds `spec` back: writes, commands that
/// may replicate (PUBLISH, PFCOUNT...), and an EXEC queueing any of them.
fn may_replicate(st: &State, c: &Client, spec: &CommandSpec) -> bool {
    use super::flags::{MAY_REPLICATE, WRITE};
    if spec.has(WRITE | MAY_REPLICATE) {
        return true;
    }
    spec.name == "exec"
        && c.multi.iter().flatten().any(|a| {
            // A queued script may write unless its flags say otherwise.
            st.commands
                .get(&a[0])
                .and_then(|s| crate::script::may_write(st, s, a))
                .unwrap_or_else(|| queued_has(st, a, WRITE | MAY_REPLICATE))
        })
}

/// Keeps the tracking table within `tracking-table-max-keys` before a
/// command runs. The client's own invalidations go out now, ahead of the
/// reply, as Redis sends them before the command executes.
fn limit_tracking_table(st: &mut State, c: &mut Client) {
    let max = st.cfg.int("tracking-table-max-keys").max(0) as usize;
    st.tracking.limit(max);
    flush_own_invalidations(st, c);
}

/// Refuses the command with `err`; refusing EXEC discards the transaction,
/// if any, and unwatches the keys, with `EXECABORT` (Redis's
/// `rejectCommand` and `execCommandAbort`, which do so in or out of
/// MULTI).
fn reject_or_abort(
    st: &mut State,
    c: &mut Client,
    spec: &'static CommandSpec,
    name: &str,
    err: &str,
) {
    if spec.name == "exec" {
        c.multi = None;
        c.multi_error = false;
        st.unwatch_all(c);
        // Redis formats its own refusals (arity) without the code that
        // addReplyError would add.
        let err = err.strip_prefix("ERR ").unwrap_or(err);
        let msg = format!("EXECABORT Transaction discarded because of: {err}");
        reject(st, c, &msg, Some((spec, name)));
    } else {
        reject(st, c, err, Some((spec, name)));
    }
}

/// Runs key eviction; true when memory is still over the limit and `spec`
/// (or, for EXEC, a queued command) may use more. Invalidations of the
/// evicted keys for `c` itself go out ahead of its reply.
fn out_of_memory(
    st: &mut State,
    c: &mut Client,
    others: &slab::Slab<Option<Box<Client>>>,
    spec: &CommandSpec,
) -> bool {
    use super::flags::DENYOOM;
    let oom = crate::evict::perform(st, others) == crate::evict::Outcome::Fail;
    st.evict.oom_at_command_start = oom;
    flush_own_invalidations(st, c);
    oom && (spec.has(DENYOOM)
        || (spec.name == "exec" && c.multi.iter().flatten().any(|a| queued_has(st, a, DENYOOM))))
}

/// Whether the queued command `a` carries `flag`.
/// A queued command that writes: by its flags, or a script that declares
/// writes (`scripting::declares_writes`).
fn queued_writes(st: &State, a: &Args) -> bool {
    queued_has(st, a, super::flags::WRITE) || crate::commands::scripting::declares_writes(st, a)
}

fn queued_has(st: &State, a: &Args, flag: u32) -> bool {
    st.commands.get(&a[0]).is_some_and(|s| {
        let s = match s.subcommands.is_empty() {
            true => s,
            false => (a.len() > 1)
                .then(|| subcommand(s, &a[1]))
                .flatten()
                .unwrap_or(s),
        };
        s.has(flag)
    })
}

/// Writes the pending invalidations meant for `c` itself into its reply
/// now, so they precede the reply of the command about to run.
fn flush_own_invalidations(st: &mut State, c: &mut Client) {
    if st.tracking.outbox.is_empty() || c.tracking.as_ref().is_none_or(|t| t.redirect != 0) {
        return;
    }
    let resp3 = c.reply.resp >= 3;
    st.tracking.outbox.retain(|m| {
        if m.target != c.id {
            return true;
        }
        if resp3 {
            crate::tracking::encode(&mut c.reply, &m.payload, false);
        }
        false
    });
}

fn protected_allowed(st: &State, c: &Client, spec: &CommandSpec) -> bool {
    let setting = st.cfg.get(if spec.name == "debug" {
        "enable-debug-command"
    } else {
        "enable-module-command"
    });
    match setting {
        "yes" => true,
        "local" => c.unix || c.addr.starts_with("127.") || c.addr.starts_with("[::1]"),
        _ => false,
    }
}

/// Feeds the replication stream after a command: first the keys it found
/// expired, then the command itself (or what it asked to propagate
/// instead) if it changed the dataset. Several replacement commands are
/// wrapped in MULTI/EXEC so replicas apply them atomically.
fn propagate(st: &mut State, db: usize, spec: &CommandSpec, args: &Args, dirty_before: u64) {
    if st.cfg.hot.notify_flags & crate::config::notify::NEW != 0 {
        crate::pubsub::notify_new_keys(st);
    }
    let lazy = st.cfg.hot.lazyfree_lazy_expire;
    if std::mem::take(&mut st.expired_pending) {
        crate::commands::multi::touch_expired(st);
        for d in st.dbs.iter_mut() {
            for k in &d.expired_keys {
                st.tracking.invalidate(k, 0);
            }
            if !d.expired_keys.is_empty() {
                st.repl.feed_expired(d.id, &mut d.expired_keys, lazy);
            }
        }
    }
    let side = std::mem::take(&mut st.repl.side_next);
    st.repl.side = side;
    propagate_effects(st, db, spec, args, dirty_before);
    st.repl.side = crate::repl::Side::Both;
}

/// The command's own part of `propagate`: itself, or what it asked to
/// propagate instead, after what it found expired.
fn propagate_effects(
    st: &mut State,
    db: usize,
    spec: &CommandSpec,
    args: &Args,
    dirty_before: u64,
) {
    let mut also = std::mem::take(&mut st.repl.also);
    let pre = std::mem::take(&mut st.repl.pre);
    if std::mem::take(&mut st.repl.prevent) {
        if pre.is_empty() {
            return;
        }
        also = pre;
    } else if !pre.is_empty() {
        let mut ops = pre;
        if !also.is_empty() {
            ops.append(&mut also);
        } else if st.dirty > dirty_before
            && spec.has(super::flags::WRITE | super::flags::MAY_REPLICATE)
        {
            ops.push(args.iter().map(|a| a.to_vec()).collect());
        }
        also = ops;
    }
    // Inside EXEC, `multi::exec` wraps what was fed in MULTI/EXEC once it
    // knows more than one command was.
    if !also.is_empty() {
        let wrap = also.len() > 1 && !st.in_exec;
        if wrap {
            st.repl.feed(db, [&b"MULTI"[..]].into_iter());
        }
        for op in &also {
            st.repl.feed(db, op.iter().map(|a| a.as_slice()));
        }
        if wrap {
            st.repl.feed(db, [&b"EXEC"[..]].into_iter());
        }
    } else if st.dirty > dirty_before && spec.has(super::flags::WRITE | super::flags::MAY_REPLICATE)
    {
        st.repl.feed(db, args.iter());
    }
}
