//! Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FCALL, FCALL_RO
//! and FUNCTION. The engine itself is in `crate::script`.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, container};
use crate::commands::introspection::reply_help;
use crate::resp::Args;
use crate::script::{self, RunSpec, sflags};

const EVAL_FLAGS: u32 = NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | STALE;
const EVAL_RO_FLAGS: u32 = NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        getkeys: Some(script_keys),
        ..cmd(
            "eval",
            -3,
            EVAL_FLAGS,
            NO_KEYS,
            "scripting",
            "2.6.0",
            "Executes a server-side Lua script.",
            eval,
        )
    },
    CommandSpec {
        getkeys: Some(script_keys),
        ..cmd(
            "evalsha",
            -3,
            EVAL_FLAGS,
            NO_KEYS,
            "scripting",
            "2.6.0",
            "Executes a server-side Lua script by SHA1 digest.",
            evalsha,
        )
    },
    CommandSpec {
        getkeys: Some(script_keys),
        ..cmd(
            "eval_ro",
            -3,
            EVAL_RO_FLAGS,
            NO_KEYS,
            "scripting",
            "7.0.0",
            "Executes a read-only server-side Lua script.",
            eval_ro,
        )
    },
    CommandSpec {
        getkeys: Some(script_keys),
        ..cmd(
            "evalsha_ro",
            -3,
            EVAL_RO_FLAGS,
            NO_KEYS,
            "scripting",
            "7.0.0",
            "Executes a read-only server-side Lua script by SHA1 digest.",
            evalsha_ro,
        )
    },
    CommandSpec {
        getkeys: Some(script_keys),
        ..cmd(
            "fcall",
            -3,
            EVAL_FLAGS,
            NO_KEYS,
            "scripting",
            "7.0.0",
            "Invokes a function.",
            fcall,
        )
    },
    CommandSpec {
        getkeys: Some(script_keys),
        ..cmd(
            "fcall_ro",
            -3,
            EVAL_RO_FLAGS,
            NO_KEYS,
            "scripting",
            "7.0.0",
            "Invokes a read-only function.",
            fcall_ro,
        )
    },
    container(
        "script",
        "scripting",
        "2.6.0",
        "A container for Lua scripts management commands.",
        SCRIPT_SUBCOMMANDS,
    ),
    container(
        "function",
        "scripting",
        "7.0.0",
        "A container for function commands.",
        FUNCTION_SUBCOMMANDS,
    ),
];

static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    cmd(
        "load",
        3,
        NOSCRIPT | STALE,
        NO_KEYS,
        "scripting",
        "2.6.0",
        "Loads a server-side Lua script to the script cache.",
        script_load,
    ),
    cmd(
        "exists",
        -3,
        NOSCRIPT,
        NO_KEYS,
        "scripting",
        "2.6.0",
        "Determines whether server-side Lua scripts exist in the script cache.",
        script_exists,
    ),
    cmd(
        "flush",
        -2,
        NOSCRIPT,
        NO_KEYS,
        "scripting",
        "2.6.0",
        "Removes all server-side Lua scripts from the script cache.",
        script_flush,
    ),
    cmd(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NO_KEYS,
        "scripting",
        "2.6.0",
        "Terminates a server-side Lua script during execution.",
        script_kill,
    ),
    cmd(
        "debug",
        3,
        NOSCRIPT,
        NO_KEYS,
        "scripting",
        "3.2.0",
        "Sets the debug mode of server-side Lua scripts.",
        script_debug,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "scripting",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        script_help,
    ),
];

static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    cmd(
        "load",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Creates a library.",
        function_load,
    ),
    cmd(
        "delete",
        3,
        WRITE | NOSCRIPT,
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Deletes a library and its functions.",
        function_delete,
    ),
    cmd(
        "flush",
        -2,
        WRITE | NOSCRIPT,
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Deletes all libraries and functions.",
        function_flush,
    ),
    cmd(
        "list",
        -2,
        NOSCRIPT,
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Returns information about all libraries.",
        function_list,
    ),
    cmd(
        "dump",
        2,
        NOSCRIPT,
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Dumps all libraries into a serialized binary payload.",
        function_dump,
    ),
    cmd(
        "restore",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Restores all libraries from a payload.",
        function_restore,
    ),
    cmd(
        "stats",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Returns information about a function during execution.",
        function_stats,
    ),
    cmd(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Terminates a function during execution.",
        function_kill,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "scripting",
        "7.0.0",
        "Returns helpful text about the different subcommands.",
        function_help,
    ),
];

/// Key finder of EVAL, EVALSHA, FCALL and their read-only forms.
pub fn script_keys(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    crate::command::unflagged(key_positions(args))
}

/// Key positions of EVAL-like commands: `name script numkeys key...`.
pub fn key_positions(args: &Args) -> Vec<usize> {
    crate::commands::list::mpop_key_positions(args, 2)
}

fn deprecated(ctx: &Ctx) -> bool {
    ctx.st.cfg.bool("lua-enable-deprecated-api")
}

/// Parses `numkeys` (args[2]) and splits keys from arguments.
/// Keys and arguments of EVAL-like commands.
type KeysArgs<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

fn split_keys(args: &Args) -> Result<KeysArgs<'_>, CmdError> {
    let n = args.i64_at(2)?;
    if n > args.len() as i64 - 3 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if n < 0 {
        return Err(CmdError::msg("ERR Number of keys can't be negative"));
    }
    let n = n as usize;
    let keys = (3..3 + n).map(|i| &args[i]).collect();
    let argv = (3 + n..args.len()).map(|i| &args[i]).collect();
    Ok((keys, argv))
}

/// Whether a queued EVAL/EVALSHA/FCALL (and their _RO forms) counts as a
/// write for EXEC's checks, as Redis's `evalGetCommandFlags` makes it: a
/// script with a shebang writes unless it says `no-writes`; one without
/// keeps the command's own flags. Scripts not found count as not writing
/// (they fail when run).
pub fn declares_writes(st: &crate::server::State, a: &Args) -> bool {
    let name = a[0].to_ascii_lowercase();
    let flags = match name.as_slice() {
        b"eval" | b"eval_ro" if a.len() > 1 => {
            script::eval_shebang(&a[1]).map_or(sflags::EVAL_COMPAT, |(f, _)| f)
        }
        b"evalsha" | b"evalsha_ro" if a.len() > 1 => {
            let sha = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
            st.scripts
                .eval
                .get(&sha)
                .map_or(sflags::EVAL_COMPAT, |s| s.flags)
        }
        b"fcall" | b"fcall_ro" if a.len() > 1 => {
            let f = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
            st.scripts
                .functions
                .get(&f)
                .map_or(sflags::EVAL_COMPAT, |f| f.flags)
        }
        _ => return false,
    };
    flags & (sflags::EVAL_COMPAT | sflags::NO_WRITES) == 0
}

/// Redis's `scriptPrepareForRun` checks on the script flags.
fn prepare(ctx: &Ctx, flags: u32, ro: bool) -> CmdResult {
    let st = &*ctx.st;
    let stale = st.is_replica
        && !st.cfg.hot.replica_serve_stale_data
        && !st.master.as_ref().is_some_and(|l| l.link_up());
    if flags & sflags::EVAL_COMPAT != 0 {
        if stale {
            return Err(CmdError::msg(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            ));
        }
        return Ok(());
    }
    if flags & sflags::NO_CLUSTER != 0 && st.cluster.is_some() {
        return Err(CmdError::msg(
            "ERR Can not run script on cluster, 'no-cluster' flag is set.",
        ));
    }
    if stale && flags & sflags::ALLOW_STALE == 0 {
        // Redis's command gate refuses it first, with the usual text.
        return Err(CmdError::msg(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        ));
    }
    if flags & sflags::NO_WRITES == 0 {
        if st.is_replica && !ctx.c.is_master && st.cfg.bool("replica-read-only") {
            return Err(CmdError::msg(
                "READONLY You can't write against a read only replica.",
            ));
        }
        if ro {
            return Err(CmdError::msg(
                "ERR Can not execute a script with write flag using *_ro command.",
            ));
        }
        if st.cfg.hot.min_replicas_to_write > 0
            && !st.is_replica
            && (st.repl.good_replicas as i64) < st.cfg.hot.min_replicas_to_write
        {
            return Err(CmdError::msg(
                "NOREPLICAS Not enough good replicas to write.",
            ));
        }
    }
    if st.cfg.hot.maxmemory != 0
        && !ctx.c.is_master
        && flags & (sflags::ALLOW_OOM | sflags::NO_WRITES) == 0
        && st.evict.oom_at_command_start
    {
        return Err(CmdError::msg(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
        ));
    }
    Ok(())
}

/// Runs `func` in the eval (`is_eval`) or functions VM, wrapping what it
/// propagates in MULTI/EXEC as EXEC does.
#[allow(clippy::too_many_arguments)]
fn run(
    ctx: &mut Ctx,
    func: mlua::Function,
    funcname: &str,
    flags: u32,
    is_eval: bool,
    ro: bool,
    keys: &[&[u8]],
    argv: &[&[u8]],
    cmd: &[Vec<u8>],
) -> CmdResult {
    prepare(ctx, flags, ro)?;
    if ctx.st.cluster.is_none() && flags & sflags::EVAL_COMPAT == 0 {
        // A cluster refuses such a script outright.
        if flags & sflags::NO_CLUSTER != 0 {
            ctx.st.stats.cluster_incompatible_ops += 1;
        }
        ctx.st.compat.cross_slot_allowed = flags & sflags::ALLOW_CROSS_SLOT != 0;
    } else {
        ctx.st.compat.cross_slot_allowed = false;
    }
    let vm = if is_eval {
        ctx.st.scripts.eval_vm.take()
    } else {
        ctx.st.scripts.func_vm.take()
    };
    let Some(vm) = vm else {
        return Err(CmdError::msg("ERR script engine not ready"));
    };
    let outer_exec = ctx.st.in_exec;
    let mark = ctx.st.repl.out.len();
    let fed = ctx.st.repl.fed;
    script::run_script(
        ctx.st,
        ctx.c,
        ctx.others,
        &vm,
        RunSpec {
            func: &func,
            funcname,
            is_eval,
            keys,
            argv,
            flags,
            read_only: ro,
            cmd,
        },
    );
    if is_eval {
        ctx.st.scripts.eval_vm = Some(vm);
    } else {
        ctx.st.scripts.func_vm = Some(vm);
    }
    if !outer_exec && ctx.st.repl.fed - fed > 1 {
        ctx.st.repl.wrap_multi(mark);
    }
    ctx.prevent_propagation();
    Ok(())
}

fn eval_generic(ctx: &mut Ctx, args: &Args, by_sha: bool, ro: bool) -> CmdResult {
    // A sha of the wrong length is refused before the key count is read.
    if by_sha && args[1].len() != 40 {
        return Err(CmdError::msg(
            "NOSCRIPT No matching script. Please use EVAL.",
        ));
    }
    if by_sha && ctx.c.lua_debug {
        return Err(CmdError::msg(
            "ERR Please use EVAL instead of EVALSHA for debugging",
        ));
    }
    let (keys, argv) = split_keys(args)?;
    // The function name, `f_<sha>`, doubles as the lookup key's buffer.
    let mut name = [0u8; 42];
    name[..2].copy_from_slice(b"f_");
    if by_sha {
        let a = &args[1];
        if a.len() != 40 {
            return Err(CmdError::msg(
                "NOSCRIPT No matching script. Please use EVAL.",
            ));
        }
        for (d, c) in name[2..].iter_mut().zip(a.iter()) {
            *d = c.to_ascii_lowercase();
        }
    } else {
        let dep = deprecated(ctx);
        let sha = ctx
            .st
            .scripts
            .create_eval(&args[1], dep, true)
            .map_err(CmdError::msg)?;
        name[2..].copy_from_slice(&sha.as_bytes()[..40]);
    }
    let name = std::str::from_utf8(&name).unwrap_or("");
    let sha = &name[2.min(name.len())..];
    let Some(s) = ctx.st.scripts.eval.get(sha) else {
        return Err(CmdError::msg(
            "NOSCRIPT No matching script. Please use EVAL.",
        ));
    };
    let (flags, evictable) = (s.flags, s.evictable);
    let func = match ctx.st.scripts.eval_vm.as_ref() {
        Some(vm) => vm.lua.registry_value::<mlua::Function>(&s.func),
        None => return Err(CmdError::msg("ERR script engine not ready")),
    }
    .map_err(|e| CmdError::msg(format!("ERR {e}")))?;
    if by_sha && evictable {
        ctx.st.scripts.touch_eval(sha);
    }
    // Redis names the running script by its bare sha in errors
    // ("script: <sha>, on @user_script:1."), not by its Lua `f_<sha>`.
    run(ctx, func, sha, flags, true, ro, &keys, &argv, &[])
}

/// EVAL under the Lua debugger, for a client that sent SCRIPT DEBUG SYNC
/// (Redis's `evalGenericCommandWithDebugging`): the session wraps the
/// whole command, whatever its outcome, and the connection is closed
/// after the reply.
fn eval_debugging(ctx: &mut Ctx, args: &Args, ro: bool) -> CmdResult {
    let limit = match ctx.st.cfg.int("busy-reply-threshold") {
        0 => 5000,
        n => n,
    };
    script::ldb::start(ctx.c.conn.fd(), &args[1], limit);
    let r = eval_generic(ctx, args, false, ro);
    script::ldb::end();
    ctx.c.lua_debug = false;
    ctx.c.close_after_reply = true;
    r
}

fn eval(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.c.lua_debug {
        return eval_debugging(ctx, args, false);
    }
    eval_generic(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.c.lua_debug {
        return eval_debugging(ctx, args, true);
    }
    eval_generic(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

fn fcall_generic(ctx: &mut Ctx, args: &Args, ro: bool) -> CmdResult {
    // The function is looked up before the key count is parsed (Redis's
    // fcallCommandGeneric).
    let name = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let Some(f) = ctx.st.scripts.functions.get(&name) else {
        return Err(CmdError::msg("ERR Function not found"));
    };
    if crate::util::parse_i64(&args[2]).is_none() {
        return Err(CmdError::msg("ERR Bad number of keys provided"));
    }
    let (keys, argv) = split_keys(args)?;
    let (flags, name) = (f.flags, f.name.clone());
    let func = match ctx.st.scripts.func_vm.as_ref() {
        Some(vm) => vm.lua.registry_value::<mlua::Function>(&f.func),
        None => return Err(CmdError::msg("ERR script engine not ready")),
    }
    .map_err(|e| CmdError::msg(format!("ERR {e}")))?;
    let cmd = args.to_vecs();
    run(ctx, func, &name, flags, false, ro, &keys, &argv, &cmd)
}

fn fcall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    fcall_generic(ctx, args, true)
}

fn script_load(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let dep = deprecated(ctx);
    let sha = ctx
        .st
        .scripts
        .create_eval(&args[2], dep, false)
        .map_err(CmdError::msg)?;
    ctx.c.reply.bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.c.reply.array(args.len() - 2);
    for a in args.iter().skip(2) {
        let s = String::from_utf8_lossy(a).to_ascii_lowercase();
        let e = ctx.st.scripts.eval.contains_key(&s);
        ctx.c.reply.int(e as i64);
    }
    Ok(())
}

/// SCRIPT FLUSH / FUNCTION FLUSH [ASYNC | SYNC]: whether to free lazily
/// (without an option, as lazyfree-lazy-user-flush says).
fn flush_mode(ctx: &Ctx, args: &Args, err: &str) -> Result<bool, CmdError> {
    match args.len() {
        2 => Ok(ctx.st.cfg.hot.lazyfree_user_flush),
        3 if args[2].eq_ignore_ascii_case(b"async") => Ok(true),
        3 if args[2].eq_ignore_ascii_case(b"sync") => Ok(false),
        _ => Err(CmdError::msg(err.to_string())),
    }
}

fn script_flush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lazy = flush_mode(ctx, args, "ERR SCRIPT FLUSH only support SYNC|ASYNC option")?;
    let (doomed, n) = ctx.st.scripts.take_eval();
    // Freed after the turn when there are enough of them to matter.
    if lazy && n > crate::db::lazyfree::THRESHOLD {
        ctx.st.lazyfree.other(doomed, n as u64);
    }
    ctx.ok()
}

fn script_kill(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    script::kill(ctx.st, true).map_err(CmdError::msg)?;
    ctx.ok()
}

/// SCRIPT DEBUG YES|SYNC|NO: whether this client's next EVAL runs under
/// the Lua debugger (`script::ldb`).
///
/// # Errors
/// Refused behind replies not yet sent (a pipeline, or inside EXEC), as
/// Redis refuses it. YES, Redis's forked session whose changes are rolled
/// back, is refused: this server forks no child that touches live data.
fn script_debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.c.reply.buf.len() > ctx.c.sent {
        return Err(CmdError::msg(
            "ERR SCRIPT DEBUG must be called outside a pipeline",
        ));
    }
    let m = &args[2];
    if m.eq_ignore_ascii_case(b"no") {
        ctx.c.lua_debug = false;
    } else if m.eq_ignore_ascii_case(b"sync") {
        ctx.c.lua_debug = true;
    } else if m.eq_ignore_ascii_case(b"yes") {
        return Err(CmdError::msg(
            "ERR SCRIPT DEBUG YES (a forked session that rolls back its changes) is not supported by this server; use SCRIPT DEBUG SYNC",
        ));
    } else {
        return Err(CmdError::msg("ERR Use SCRIPT DEBUG YES/SYNC/NO"));
    }
    ctx.ok()
}

fn script_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        &mut ctx.c.reply,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

/// Compiles and registers a library. `replace` allows replacing a library
/// of the same name. Returns the library name.
fn load_library(
    st: &mut crate::server::State,
    code: &[u8],
    replace: bool,
) -> Result<String, String> {
    let (name, skip) = script::library_shebang(code)?;
    if !replace && st.scripts.libraries.contains_key(&name) {
        return Err(format!("Library '{name}' already exists"));
    }
    let dep = st.cfg.bool("lua-enable-deprecated-api");
    let vm = st.scripts.func_vm(dep);
    // The shebang line stays as an empty line to keep line numbers.
    let body = &code[skip..];
    let f = vm
        .lua
        .load(body)
        .set_name("@user_function")
        .set_mode(mlua::ChunkMode::Text)
        .into_function()
        .map_err(|e| format!("Error compiling function: {}", script::lua_err_text(&e)))?;
    let api = vm.api.clone();
    let step = || -> mlua::Result<(bool, Option<String>, mlua::Table)> {
        let sandbox: mlua::Function = api.get("sandbox")?;
        let f: mlua::Function = sandbox.call(f)?;
        api.get::<mlua::Function>("begin_load")?.call::<()>(())?;
        let (ok, err): (bool, Option<String>) = api.get::<mlua::Function>("run_load")?.call(f)?;
        let list: mlua::Table = api.get::<mlua::Function>("end_load")?.call(())?;
        Ok((ok, err, list))
    };
    // Loading only registers functions: past 500ms it is aborted.
    let start = crate::util::now_ms();
    vm.lua.set_hook(
        mlua::HookTriggers::new().every_nth_instruction(100_000),
        move |lua, dbg| {
            if crate::util::now_ms() - start > 500 && !script::in_prelude(&dbg) {
                lua.set_hook(
                    mlua::HookTriggers::new()
                        .every_line()
                        .every_nth_instruction(1000),
                    |_, dbg| {
                        if script::in_prelude(&dbg) {
                            return Ok(mlua::VmState::Continue);
                        }
                        Err(script::raised("ERR FUNCTION LOAD timeout"))
                    },
                );
                return Err(script::raised("ERR FUNCTION LOAD timeout"));
            }
            Ok(mlua::VmState::Continue)
        },
    );
    let res = step();
    vm.lua.remove_hook();
    // What a load leaves behind (its sandbox's temporaries, the list of
    // functions) is garbage at once: collect a step's worth every 50 loads,
    // as Redis does, or loading many libraries only grows the heap.
    st.scripts.func_loads += 1;
    if st.scripts.func_loads >= 50 {
        st.scripts.func_loads = 0;
        if let Some(vm) = st.scripts.func_vm.as_ref() {
            let _ = vm.lua.gc_step_kbytes(100);
        }
    }
    let Some(vm) = st.scripts.func_vm.as_ref() else {
        return Err("ERR script engine not ready".into());
    };
    let vm_lua = &vm.lua;
    let (ok, err, list) = res.map_err(|e| script::lua_err_text(&e))?;
    if !ok {
        return Err(format!(
            "Error registering functions: {}",
            err.unwrap_or_default()
        ));
    }
    let mut defs = Vec::new();
    for entry in list.sequence_values::<mlua::Table>() {
        let entry = entry.map_err(|e| e.to_string())?;
        let fname: String = entry.raw_get(1).map_err(|e| e.to_string())?;
        let func: mlua::Function = entry.raw_get(2).map_err(|e| e.to_string())?;
        let func = vm_lua
            .create_registry_value(func)
            .map_err(|e| e.to_string())?;
        let desc: mlua::Value = entry.raw_get(3).map_err(|e| e.to_string())?;
        let desc = match desc {
            mlua::Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
            _ => None,
        };
        let ftab: mlua::Table = entry.raw_get(4).map_err(|e| e.to_string())?;
        let mut flags = 0;
        for f in ftab.sequence_values::<String>().flatten() {
            flags |= sflags::parse(&f).unwrap_or(0);
        }
        defs.push(script::FunctionDef {
            name: fname,
            lib: name.clone(),
            func,
            desc,
            flags,
        });
    }
    if defs.is_empty() {
        return Err("No functions registered".into());
    }
    for d in &defs {
        if let Some(existing) = st.scripts.functions.get(&d.name.to_ascii_lowercase())
            && existing.lib != name
        {
            return Err(format!("Function {} already exists", d.name));
        }
    }
    remove_library(st, &name);
    let mut names: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
    names.sort();
    for d in defs {
        st.scripts.functions.insert(d.name.to_ascii_lowercase(), d);
    }
    st.scripts.libraries.insert(
        name.clone(),
        script::Library {
            name: name.clone(),
            code: code.to_vec(),
            functions: names,
        },
    );
    Ok(name)
}

/// Registers libraries read from an RDB; a clash with an existing library
/// replaces it with `replace`, else fails the load.
pub fn load_libraries(
    st: &mut crate::server::State,
    codes: &[Vec<u8>],
    replace: bool,
) -> Result<(), String> {
    for code in codes {
        load_library(st, code, replace)?;
    }
    Ok(())
}

fn remove_library(st: &mut crate::server::State, name: &str) -> bool {
    let Some(lib) = st.scripts.libraries.remove(name) else {
        return false;
    };
    for f in &lib.functions {
        st.scripts.functions.remove(&f.to_ascii_lowercase());
    }
    true
}

fn function_load(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut replace = false;
    for a in args.iter().take(args.len() - 1).skip(2) {
        if a.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(a)
            )));
        }
    }
    if args.len() < 3 {
        return Err(CmdError::msg("ERR Function code is missing"));
    }
    let code = &args[args.len() - 1];
    let name =
        load_library(ctx.st, code, replace).map_err(|e| CmdError::msg(format!("ERR {e}")))?;
    ctx.st.dirty += 1;
    ctx.c.reply.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = String::from_utf8_lossy(&args[2]).into_owned();
    if !remove_library(ctx.st, &name) {
        return Err(CmdError::msg("ERR Library not found"));
    }
    ctx.st.dirty += 1;
    ctx.ok()
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax(args: &Args) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&args[1]),
        String::from_utf8_lossy(&args[0]).to_uppercase()
    ))
}

fn function_flush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(subcommand_syntax(args));
    }
    let lazy = flush_mode(
        ctx,
        args,
        "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
    )?;
    let (doomed, functions) = ctx.st.scripts.take_functions();
    if lazy && functions > crate::db::lazyfree::THRESHOLD {
        // Redis counts the Lua engine as one more object.
        ctx.st.lazyfree.other(doomed, functions as u64 + 1);
    }
    ctx.st.dirty += 1;
    ctx.ok()
}

fn function_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut withcode = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if !withcode && a.eq_ignore_ascii_case(b"withcode") {
            withcode = true;
        } else if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
            if i + 1 >= args.len() {
                return Err(CmdError::msg("ERR library name argument was not given"));
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    let scripts = &ctx.st.scripts;
    let libs: Vec<&script::Library> = scripts
        .libraries
        .values()
        .filter(|l| pattern.is_none_or(|p| crate::util::glob_match(p, l.name.as_bytes(), false)))
        .collect();
    let r = &mut ctx.c.reply;
    r.array(libs.len());
    for l in libs {
        r.map(if withcode { 4 } else { 3 });
        r.bulk(b"library_name");
        r.bulk(l.name.as_bytes());
        r.bulk(b"engine");
        r.bulk(b"LUA");
        r.bulk(b"functions");
        r.array(l.functions.len());
        for f in &l.functions {
            let d = &scripts.functions[&f.to_ascii_lowercase()];
            r.map(3);
            r.bulk(b"name");
            r.bulk(d.name.as_bytes());
            r.bulk(b"description");
            match &d.desc {
                Some(s) => r.bulk(s.as_bytes()),
                None => r.null(),
            }
            r.bulk(b"flags");
            let names: Vec<&str> = sflags::NAMES
                .iter()
                .filter(|(f, _)| d.flags & f != 0)
                .map(|(_, n)| *n)
                .collect();
            r.set(names.len());
            for n in names {
                // Status replies, as Redis's functionListReplyFlags sends.
                r.simple(n);
            }
        }
        if withcode {
            r.bulk(b"library_code");
            r.bulk(&l.code);
        }
    }
    Ok(())
}

const DUMP_VERSION: [u8; 2] = [12, 0];

fn function_dump(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let mut p = Vec::new();
    for l in ctx.st.scripts.libraries.values() {
        p.push(0xF5);
        p.extend_from_slice(&(l.code.len() as u32).to_le_bytes());
        p.extend_from_slice(&l.code);
    }
    p.extend_from_slice(&DUMP_VERSION);
    let crc = crc64::crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    ctx.c.reply.bulk(&p);
    Ok(())
}

fn parse_dump(p: &[u8]) -> Option<Vec<Vec<u8>>> {
    if p.len() < 10 {
        return None;
    }
    let (body, crc) = p.split_at(p.len() - 8);
    if crc64::crc64(0, body).to_le_bytes() != crc {
        return None;
    }
    let (libs, ver) = body.split_at(body.len() - 2);
    if ver != DUMP_VERSION {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < libs.len() {
        if libs[i] != 0xF5 || i + 5 > libs.len() {
            return None;
        }
        let n = u32::from_le_bytes(libs[i + 1..i + 5].try_into().ok()?) as usize;
        let end = (i + 5).checked_add(n)?;
        if end > libs.len() {
            return None;
        }
        out.push(libs[i + 5..end].to_vec());
        i = end;
    }
    Some(out)
}

fn function_restore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(subcommand_syntax(args));
    }
    let policy = if args.len() == 4 {
        let p = args[3].to_ascii_lowercase();
        match &p[..] {
            b"flush" | b"append" | b"replace" => p,
            _ => {
                return Err(CmdError::msg(
                    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
                ));
            }
        }
    } else {
        b"append".to_vec()
    };
    let Some(libs) = parse_dump(&args[2]) else {
        return Err(CmdError::msg("ERR payload version or checksum are wrong"));
    };
    // Validate against a scratch copy first: restore is all or nothing.
    let st = &mut *ctx.st;
    let saved_libs = std::mem::take(&mut st.scripts.libraries);
    let saved_funcs = std::mem::take(&mut st.scripts.functions);
    let mut err = None;
    let mut loaded = Vec::new();
    for code in &libs {
        match load_library(st, code, false) {
            Ok(n) => loaded.push(n),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let new_libs = std::mem::replace(&mut st.scripts.libraries, saved_libs);
    let new_funcs = std::mem::replace(&mut st.scripts.functions, saved_funcs);
    if let Some(e) = err {
        return Err(CmdError::msg(format!("ERR {e}")));
    }
    match &policy[..] {
        b"flush" => {
            st.scripts.libraries = new_libs;
            st.scripts.functions = new_funcs;
        }
        _ => {
            let replace = &policy[..] == b"replace";
            for (name, lib) in &new_libs {
                if st.scripts.libraries.contains_key(name) && !replace {
                    return Err(CmdError::msg(format!("ERR Library {name} already exists")));
                }
                for f in &lib.functions {
                    if let Some(e) = st.scripts.functions.get(&f.to_ascii_lowercase())
                        && (e.lib != *name || !replace)
                    {
                        return Err(CmdError::msg(format!("ERR Function {f} already exists")));
                    }
                }
            }
            for (name, lib) in new_libs {
                remove_library(st, &name);
                st.scripts.libraries.insert(name, lib);
            }
            st.scripts.functions.extend(new_funcs);
        }
    }
    st.dirty += 1;
    ctx.ok()
}

fn function_stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let nlibs = ctx.st.scripts.libraries.len();
    let nfuncs = ctx.st.scripts.functions.len();
    let r = &mut ctx.c.reply;
    r.map(2);
    r.bulk(b"running_script");
    match &ctx.st.scripts.running {
        Some((name, false, start)) => {
            r.map(3);
            r.bulk(b"name");
            r.bulk(name.as_bytes());
            r.bulk(b"command");
            r.array(ctx.st.scripts.running_cmd.len());
            for a in &ctx.st.scripts.running_cmd {
                r.bulk(a);
            }
            r.bulk(b"duration_ms");
            r.int(crate::util::now_ms() - start);
        }
        _ => r.null(),
    }
    r.bulk(b"engines");
    r.map(1);
    r.bulk(b"LUA");
    r.map(2);
    r.bulk(b"libraries_count");
    r.int(nlibs as i64);
    r.bulk(b"functions_count");
    r.int(nfuncs as i64);
    Ok(())
}

fn function_kill(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    script::kill(ctx.st, false).map_err(CmdError::msg)?;
    ctx.ok()
}

fn function_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        &mut ctx.c.reply,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}
