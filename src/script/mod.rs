//! The scripting engine: Lua 5.1 VMs (one for EVAL scripts, one for
//! FUNCTION libraries), their sandbox (`prelude.lua`), the bridge that runs
//! `redis.call` through `command::call` with a script-owned client, and the
//! conversions between Lua values and RESP replies.
//!
//! While a script runs, the VM is taken out of `State` and a `RunCtx`
//! (raw pointers to the state and the clients) is installed for the
//! callbacks; everything happens on the reactor thread.

pub mod json;
pub mod ldb;
pub mod libs;
pub mod msgpack;

use crate::client::Client;
use crate::command::flags as cf;
use crate::resp::{Args, ReplyBuf};
use crate::server::State;
use mlua::{Function, Lua, MultiValue, Table, Value, ffi};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_int};

/// Script flags (shebang `flags=` and function flags).
pub mod sflags {
    pub const NO_WRITES: u32 = 1;
    pub const ALLOW_OOM: u32 = 2;
    pub const ALLOW_STALE: u32 = 4;
    pub const NO_CLUSTER: u32 = 8;
    pub const ALLOW_CROSS_SLOT: u32 = 16;
    /// An EVAL script without a shebang: Redis 6 rules.
    pub const EVAL_COMPAT: u32 = 32;

    pub const NAMES: &[(u32, &str)] = &[
        (NO_WRITES, "no-writes"),
        (ALLOW_OOM, "allow-oom"),
        (ALLOW_STALE, "allow-stale"),
        (NO_CLUSTER, "no-cluster"),
        (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
    ];

    pub fn parse(name: &str) -> Option<u32> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }
}

/// One Lua VM and the API table its prelude returned, with the handles
/// every run uses looked up once.
pub struct Vm {
    pub lua: Lua,
    pub api: Table,
    /// `lua_run`, the raw entry every run goes through.
    run: Function,
    /// The prelude's error handler (Redis's `__redis__err__handler`).
    err_handler: Function,
    /// The table behind the scripts' read-only globals.
    globals: Table,
}

/// Compiled scripts and functions live in the Lua registry (mlua keeps
/// only a few thousand direct references).
pub struct EvalScript {
    pub body: Vec<u8>,
    pub func: mlua::RegistryKey,
    pub flags: u32,
    /// Added by EVAL (not SCRIPT LOAD): subject to eviction.
    pub evictable: bool,
}

/// At most this many EVAL-created scripts are kept (LRU), as in Redis.
pub const EVAL_SCRIPTS_MAX: usize = 500;

pub struct FunctionDef {
    pub name: String,
    pub lib: String,
    pub func: mlua::RegistryKey,
    pub desc: Option<String>,
    pub flags: u32,
}

pub struct Library {
    pub name: String,
    pub code: Vec<u8>,
    /// Names of its functions, sorted.
    pub functions: Vec<String>,
}

/// What `State` keeps of scripting.
#[derive(Default)]
pub struct Scripts {
    pub eval_vm: Option<Vm>,
    pub eval: HashMap<String, EvalScript>,
    /// EVAL-created scripts, least recently used first.
    pub eval_lru: std::collections::VecDeque<String>,
    /// Scripts evicted from the cache (INFO evicted_scripts).
    pub evicted: u64,
    pub func_vm: Option<Vm>,
    /// Library loads since the functions VM last ran a GC step.
    pub func_loads: u32,
    pub libraries: BTreeMap<String, Library>,
    pub functions: HashMap<String, FunctionDef>,
    /// The client scripts run their commands as.
    pub fake: Option<Box<Client>>,
    /// The lrand48 state behind `math.random`.
    pub rand: u64,
    /// A script is running: (function name, is EVAL, start ms).
    pub running: Option<(String, bool, i64)>,
    /// The command that started the running script (FUNCTION STATS).
    pub running_cmd: Vec<Vec<u8>>,
    /// The running script passed busy-reply-threshold.
    pub busy: bool,
    pub kill_requested: bool,
    /// The error reply just written by a script was already counted in
    /// the error stats (it came from a command the script ran).
    pub error_counted: bool,
    /// MONITOR lines of the commands the running script ran, shown after
    /// the script's own line.
    pub monitor_lines: Vec<String>,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: noscript commands allowed.
    pub disable_deny: bool,
    /// When the running script started (µs): TIME inside it.
    pub start_us: i64,
    /// Scratch for the arguments of each redis.call, reused.
    pub call_argv: Args,
}

/// For EVAL*/FCALL*: whether the script may write (CLIENT PAUSE WRITE
/// holds it back), from its flags as Redis's `evalGetCommandFlags` does;
/// None for other commands.
pub fn may_write(st: &State, spec: &crate::command::CommandSpec, args: &Args) -> Option<bool> {
    let flags = match spec.name {
        "eval_ro" | "evalsha_ro" | "fcall_ro" => return Some(false),
        "eval" => match st.scripts.eval.get(&sha1hex(&args[1])) {
            Some(s) => s.flags,
            None => eval_shebang(&args[1])
                .map(|f| f.0)
                .unwrap_or(sflags::EVAL_COMPAT),
        },
        "evalsha" => {
            let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
            st.scripts
                .eval
                .get(&sha)
                .map_or(sflags::EVAL_COMPAT, |s| s.flags)
        }
        "fcall" => {
            let name = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
            st.scripts.functions.get(&name).map_or(0, |f| f.flags)
        }
        _ => return None,
    };
    Some(flags & sflags::NO_WRITES == 0)
}

const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// The -BUSY error for a command `c` sends while a script is busy, unless
/// the command is allowed then.
pub fn busy_error(
    st: &State,
    c: &Client,
    spec: &crate::command::CommandSpec,
) -> Option<&'static str> {
    if !st.scripts.busy || spec.has(cf::ALLOW_BUSY) || is_script_client(c) {
        return None;
    }
    if spec.name == "shutdown" {
        return None;
    }
    match &st.scripts.running {
        Some((_, true, _)) => Some(BUSY_EVAL),
        Some((_, false, _)) => Some(BUSY_FUNCTION),
        None => None,
    }
}

/// SCRIPT KILL (`is_eval`) and FUNCTION KILL.
pub fn kill(st: &mut State, is_eval: bool) -> Result<(), &'static str> {
    let Some((_, eval, _)) = &st.scripts.running else {
        return Err("NOTBUSY No scripts in execution right now.");
    };
    let eval = *eval;
    let p = RUN.with(|r| r.get());
    // SAFETY: see `lua_call`; only flags are read.
    let (dirty, master) = if p.is_null() {
        (false, false)
    } else {
        unsafe { ((*p).write_dirty, (*p).caller_is_master) }
    };
    if master {
        return Err(
            "UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.",
        );
    }
    if dirty {
        return Err(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        );
    }
    if is_eval && !eval {
        return Err(BUSY_FUNCTION);
    }
    if !is_eval && eval {
        return Err(BUSY_EVAL);
    }
    st.scripts.kill_requested = true;
    Ok(())
}

/// The instruction hook: past busy-reply-threshold, serve other clients,
/// and abort the script once it was killed.
/// Whether the hook fired inside our own prelude code (the error handler,
/// wrappers), where raising would break error reporting.
pub fn in_prelude(dbg: &mlua::Debug) -> bool {
    dbg.source().source.as_deref() == Some("=redis")
}

fn busy_hook(_lua: &Lua, dbg: mlua::Debug) -> mlua::Result<mlua::VmState> {
    let p = RUN.with(|r| r.get());
    if p.is_null() {
        return Ok(mlua::VmState::Continue);
    }
    // SAFETY: see `lua_call`.
    let st = unsafe { &mut *(*p).st };
    let Some((_, _, start)) = &st.scripts.running else {
        return Ok(mlua::VmState::Continue);
    };
    let elapsed = crate::util::now_ms() - *start;
    let threshold = st.cfg.int("busy-reply-threshold");
    if threshold > 0 && elapsed >= threshold {
        if !st.scripts.busy {
            st.scripts.busy = true;
            log::warn!(
                "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the SCRIPT KILL command."
            );
        }
        crate::server::process_events_while_busy();
    }
    // SAFETY: as above, re-derived after serving other clients.
    let st = unsafe { &mut *(*p).st };
    if st.scripts.kill_requested && !in_prelude(&dbg) {
        log::info!("Lua script killed by user with SCRIPT KILL.");
        // From now on on every line, so pcall cannot keep the script alive.
        _lua.set_hook(
            mlua::HookTriggers::new()
                .every_line()
                .every_nth_instruction(1000),
            busy_hook,
        );
        return Err(mlua::Error::external(RaisedReply(
            "ERR Script killed by user with SCRIPT KILL...".into(),
        )));
    }
    Ok(mlua::VmState::Continue)
}

/// The slab token of the client scripts run their commands as.
pub const SCRIPT_CLIENT_TOKEN: usize = usize::MAX;

/// Whether `c` is the scripts' own client (its commands were checked by
/// the script engine; SORT BY a constant orders its output).
pub fn is_script_client(c: &Client) -> bool {
    c.token == SCRIPT_CLIENT_TOKEN
}

/// Per-run context the callbacks reach through `RUN`.
pub struct RunCtx {
    pub st: *mut State,
    pub others: *const slab::Slab<Option<Box<Client>>>,
    pub fake: *mut Client,
    pub caller_user: String,
    /// The caller's CLIENT LIST line, for the ACL log; only made for a
    /// caller whose user has restrictions.
    pub caller_info: String,
    pub read_only: bool,
    pub allow_oom: bool,
    pub oom_at_start: bool,
    pub write_dirty: bool,
    pub lua_resp: u8,
    pub caller_is_master: bool,
    /// redis.set_repl flags (REPL_REPLICA = 2 lets commands propagate).
    pub repl_flags: i64,
}

thread_local! {
    static RUN: Cell<*mut RunCtx> = const { Cell::new(std::ptr::null_mut()) };
    static RAND: Cell<u64> = const { Cell::new(0x1234_ABCD_330E) };
}

pub fn sha1hex(data: &[u8]) -> String {
    let d = crate::commands::server::sha1(data);
    let mut s = String::with_capacity(40);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn lrand48() -> i32 {
    RAND.with(|r| {
        let x = r.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & 0xFFFF_FFFF_FFFF;
        r.set(x);
        (x >> 17) as i32
    })
}

fn srand48(seed: i32) {
    RAND.with(|r| r.set((((seed as u32) as u64) << 16) | 0x330E));
}

/// The text of a `{err=...}` table for `msg`: a leading `-` marks a
/// message that carries its own code.
fn err_msg(msg: &str) -> String {
    let s = msg.trim_end_matches(['\r', '\n']);
    match s.strip_prefix('-') {
        Some(rest) if rest.contains(' ') => rest.to_string(),
        Some(rest) => format!("ERR {rest}"),
        None => format!("ERR {s}"),
    }
}

fn err_table(lua: &Lua, msg: &str) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", err_msg(msg))?;
    Ok(Value::Table(t))
}

/// Formats a Lua number as a command argument: integers plainly, other
/// values with the shortest round-trip representation.
fn num_arg(n: f64, out: &mut Vec<u8>) {
    if n.fract() == 0.0 && n.abs() < 9.2e18 {
        out.extend_from_slice((n as i64).to_string().as_bytes());
    } else {
        out.extend_from_slice(crate::util::fmt_double(n).as_bytes());
    }
}

/// An error `redis.call` raises: shown to Lua as a userdata whose text
/// starts with `\x01`, which the prelude's error handler and `pcall` turn
/// back into Redis's `{err=...}` form.
#[derive(Debug)]
struct RaisedReply(String);

impl std::fmt::Display for RaisedReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\x01{}", self.0)
    }
}

impl std::error::Error for RaisedReply {}

/// A plain Lua error string raised from Rust (mlua would show a runtime
/// error as "runtime error: ...").
#[derive(Debug)]
struct LuaText(String);

impl std::fmt::Display for LuaText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LuaText {}

/// An error as a C library function raises it with `luaL_error`: the
/// message after the calling Lua function's "chunk:line: " (none when the
/// caller is C, as `pcall` is).
pub fn lual_error(lua: &Lua, msg: &str) -> mlua::Error {
    let place = lua
        .inspect_stack(1)
        .filter(|d| d.curr_line() >= 0)
        .and_then(|d| {
            let src = d.source().short_src?.into_owned();
            Some(format!("{src}:{}: ", d.curr_line()))
        })
        .unwrap_or_default();
    mlua::Error::external(LuaText(format!("{place}{msg}")))
}

/// An error as the Lua core raises it inside a C function (no position),
/// such as `lua_settable`'s "table index is nil".
pub fn lua_core_error(msg: &str) -> mlua::Error {
    mlua::Error::external(LuaText(msg.to_string()))
}

/// An error raised from Rust that scripts see as `{err=msg}`.
pub fn raised(msg: &str) -> mlua::Error {
    mlua::Error::external(RaisedReply(msg.to_string()))
}

/// What a redis.call did, before it becomes Lua values.
enum CallOutcome {
    /// The command ran: its reply is in the script client's buffer.
    Ran,
    /// Refused before running: `{err=...}` with this (final) text, flagged
    /// as already counted in the error stats when `counted`.
    Refused(String, bool),
}

/// redis.call and redis.pcall are raw Lua C functions, so a call costs
/// no mlua value handles: the arguments are read straight off the Lua
/// stack and the reply is pushed straight from the command's RESP output,
/// as Redis's `luaRedisGenericCommand` does. redis.call raises an error
/// reply (`{err=...}`) where redis.pcall returns it.
///
/// Nothing with a destructor is alive while Lua values are pushed or the
/// error is raised: a Lua error would otherwise jump past it.
unsafe extern "C-unwind" fn lua_redis_call(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is the calling Lua thread.
    unsafe {
        let n = push_call_result(l, call_from_lua(l), true);
        if n < 0 {
            ffi::lua_error(l);
        }
        n
    }
}

unsafe extern "C-unwind" fn lua_redis_pcall(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is the calling Lua thread.
    unsafe {
        let n = push_call_result(l, call_from_lua(l), false);
        if n == -2 {
            // Not a reply but a failure (stack limit): raised either way.
            ffi::lua_error(l);
        }
        1
    }
}

/// Leaves a redis.call's reply alone on the Lua stack; returns 1, or -1
/// when the reply is an error, -2 when the value is a message that must
/// be raised. An error about to be `raise`d is flagged as counted in the
/// error stats already.
///
/// # Safety
/// `l` must be the running Lua thread.
unsafe fn push_call_result(l: *mut ffi::lua_State, outcome: CallOutcome, raise: bool) -> c_int {
    // SAFETY (whole body): the stack is grown before pushing.
    unsafe {
        ffi::lua_settop(l, 0);
        if ffi::lua_checkstack(l, 8) == 0 {
            return 0;
        }
        match outcome {
            CallOutcome::Refused(msg, counted) => {
                ffi::lua_createtable(l, 0, 2);
                push_bytes(l, msg.as_bytes());
                drop(msg);
                ffi::lua_setfield(l, -2, c"err".as_ptr());
                if counted || raise {
                    ffi::lua_pushboolean(l, 1);
                    ffi::lua_setfield(l, -2, c"ignore_error_stats_update".as_ptr());
                }
                -1
            }
            CallOutcome::Ran => {
                let p = RUN.with(|r| r.get());
                // SAFETY: `Ran` means `RUN` is set (see `call_from_lua`);
                // the script client outlives the run and nothing else
                // borrows it while this callback runs.
                let buf = &(*(*p).fake).reply.buf;
                let mut pos = 0;
                if push_reply(l, buf, &mut pos, 0).is_err() {
                    ffi::lua_settop(l, 0);
                    push_bytes(l, b"reached lua stack limit");
                    return -2;
                }
                if buf.first() == Some(&b'-') {
                    ffi::lua_pushboolean(l, 1);
                    ffi::lua_setfield(l, -2, c"ignore_error_stats_update".as_ptr());
                    return -1;
                }
                1
            }
        }
    }
}

/// Runs the command a redis.call passed on the Lua stack of `l`.
fn call_from_lua(l: *mut ffi::lua_State) -> CallOutcome {
    let p = RUN.with(|r| r.get());
    if p.is_null() {
        return CallOutcome::Refused(
            err_msg("redis.call/pcall can only be called inside a script invocation"),
            false,
        );
    }
    // SAFETY: `RUN` is set only while `run_script` executes on this thread,
    // and points at a context that outlives the run; the state and clients
    // it points at are not otherwise borrowed while Lua code runs.
    let run = unsafe { &mut *p };
    // SAFETY: `l` is the calling thread; only its arguments are read.
    let n = unsafe { ffi::lua_gettop(l) };
    if n == 0 {
        return refused(
            "Please specify at least one argument for this redis lib call",
            false,
        );
    }
    // SAFETY: as above; the scratch is put back before returning.
    let mut argv = std::mem::take(unsafe { &mut (*run.st).scripts.call_argv });
    argv.clear();
    let out = if argv_from_lua(l, n, &mut argv) {
        let debugging = ldb::enabled();
        if debugging {
            ldb::log_command(&argv);
        }
        let out = run_from_script(run, &argv);
        if debugging && matches!(out, CallOutcome::Ran) {
            // SAFETY: see above; the reply is read, not changed.
            let reply = unsafe { &(*run.fake).reply.buf };
            if let Some(err) = reply
                .strip_suffix(b"\r\n")
                .filter(|r| r.first() == Some(&b'-'))
            {
                ldb::log_error(err);
            }
            ldb::log_reply(reply);
        }
        out
    } else {
        refused(
            "Lua redis lib command arguments must be strings or integers",
            false,
        )
    };
    // SAFETY: see above.
    unsafe { (*run.st).scripts.call_argv = argv };
    out
}

/// A redis.call refused with `raw` (a message, or `-CODE message`),
/// which the debugger logs as Redis's `luaPushError` does.
fn refused(raw: &str, counted: bool) -> CallOutcome {
    if ldb::enabled() {
        ldb::log_error(raw.as_bytes());
    }
    CallOutcome::Refused(err_msg(raw), counted)
}

/// Copies the `n` arguments on the Lua stack into `argv`; false when one
/// is neither a string nor a number.
fn argv_from_lua(l: *mut ffi::lua_State, n: c_int, argv: &mut Args) -> bool {
    let mut num = Vec::new();
    for i in 1..=n {
        // SAFETY: `i` is within the `n` arguments of the running call; a
        // string's bytes stay valid while it is on the stack.
        unsafe {
            match ffi::lua_type(l, i) {
                ffi::LUA_TSTRING => {
                    let mut len = 0usize;
                    let ptr = ffi::lua_tolstring(l, i, &mut len);
                    argv.push(std::slice::from_raw_parts(ptr as *const u8, len));
                }
                ffi::LUA_TNUMBER => {
                    num.clear();
                    num_arg(ffi::lua_tonumber(l, i), &mut num);
                    argv.push(&num);
                }
                _ => return false,
            }
        }
    }
    true
}

/// Checks and runs `argv` as the script client; the reply is left in the
/// client's buffer.
fn run_from_script(run: &mut RunCtx, argv: &Args) -> CallOutcome {
    // SAFETY: see `call_from_lua`.
    let st = unsafe { &mut *run.st };
    let others = unsafe { &*run.others };
    let fake = unsafe { &mut *run.fake };
    if let Err((e, spec)) = check_script_command(st, run, argv) {
        let out = refused(&e, true);
        if let CallOutcome::Refused(msg, _) = &out {
            crate::command::call::count_error(st, msg);
        }
        if let Some(spec) = spec {
            let name = spec.name;
            st.cmdstat(spec, name).rejected += 1;
        }
        return out;
    }
    fake.reply.buf.clear();
    fake.reply.resp = run.lua_resp;
    if fake.user != run.caller_user {
        fake.user.clone_from(&run.caller_user);
    }
    // redis.set_repl: REPL_AOF (1) and REPL_REPLICA (2) say who gets the
    // command's effects; neither, nobody.
    st.repl.side_next = match run.repl_flags & 3 {
        3 => crate::repl::Side::Both,
        2 => crate::repl::Side::Replicas,
        1 => crate::repl::Side::Aof,
        _ => {
            st.repl.prevent = true;
            crate::repl::Side::Both
        }
    };
    let feed = crate::command::call::call(st, fake, others, argv);
    st.repl.prevent = false;
    st.repl.side_next = crate::repl::Side::Both;
    if feed && !st.monitors.is_empty() {
        let line = crate::server::monitor_line(st, fake, argv);
        st.scripts.monitor_lines.push(line);
    }
    CallOutcome::Ran
}

/// Pushes a Lua string.
///
/// # Safety
/// `l` must have a free stack slot.
unsafe fn push_bytes(l: *mut ffi::lua_State, b: &[u8]) {
    // SAFETY: per the contract.
    unsafe { ffi::lua_pushlstring(l, b.as_ptr() as *const c_char, b.len()) };
}

/// Wraps the value on top of the stack as `{key = value}`.
///
/// # Safety
/// `l` must have a value on top and a free stack slot.
unsafe fn wrap_top(l: *mut ffi::lua_State, key: &std::ffi::CStr) {
    // SAFETY: per the contract.
    unsafe {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_insert(l, -2);
        ffi::lua_setfield(l, -2, key.as_ptr());
    }
}

/// Pushes one RESP reply (RESP2 or RESP3) from `buf` at `pos` as a Lua
/// value, as Redis's `redisProtocolToLuaType`. Err when it nests too deep
/// for the Lua stack.
///
/// # Safety
/// `l` must be the running Lua thread.
unsafe fn push_reply(
    l: *mut ffi::lua_State,
    buf: &[u8],
    pos: &mut usize,
    depth: usize,
) -> Result<(), ()> {
    // SAFETY (whole body): every push is preceded by the stack check.
    unsafe {
        if depth > MAX_DEPTH || ffi::lua_checkstack(l, 4) == 0 {
            return Err(());
        }
        if *pos >= buf.len() {
            ffi::lua_pushnil(l);
            return Ok(());
        }
        let Ok((t, line)) = line(buf, pos) else {
            ffi::lua_pushnil(l);
            return Ok(());
        };
        match t {
            b':' => ffi::lua_pushnumber(l, int_of(line) as f64),
            b'$' => {
                let n = int_of(line);
                if n < 0 {
                    ffi::lua_pushboolean(l, 0);
                } else {
                    let end = (*pos + n as usize).min(buf.len());
                    push_bytes(l, &buf[*pos..end]);
                    *pos = end + 2;
                }
            }
            b'+' => {
                push_bytes(l, line);
                wrap_top(l, c"ok");
            }
            b'-' => {
                push_bytes(l, line);
                wrap_top(l, c"err");
            }
            b'*' | b'~' | b'>' => {
                let n = int_of(line);
                if n < 0 {
                    ffi::lua_pushboolean(l, 0);
                    return Ok(());
                }
                let set = t == b'~';
                let cap = n.min(1 << 16) as c_int;
                if set {
                    ffi::lua_createtable(l, 0, cap);
                } else {
                    ffi::lua_createtable(l, cap, 0);
                }
                for i in 0..n {
                    push_reply(l, buf, pos, depth + 1)?;
                    if set {
                        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                            ffi::lua_settop(l, -2);
                        } else {
                            ffi::lua_pushboolean(l, 1);
                            ffi::lua_rawset(l, -3);
                        }
                    } else {
                        ffi::lua_rawseti_(l, -2, (i + 1) as c_int);
                    }
                }
                if set {
                    wrap_top(l, c"set");
                }
            }
            b'%' => {
                let n = int_of(line).max(0);
                ffi::lua_createtable(l, 0, n.min(1 << 16) as c_int);
                for _ in 0..n {
                    push_reply(l, buf, pos, depth + 1)?;
                    push_reply(l, buf, pos, depth + 1)?;
                    if ffi::lua_type(l, -2) == ffi::LUA_TNIL {
                        ffi::lua_settop(l, -3);
                    } else {
                        ffi::lua_rawset(l, -3);
                    }
                }
                wrap_top(l, c"map");
            }
            b'_' => ffi::lua_pushnil(l),
            b'#' => ffi::lua_pushboolean(l, (line.first() == Some(&b't')) as c_int),
            b',' => {
                ffi::lua_pushnumber(l, crate::util::parse_f64(line).unwrap_or(0.0));
                wrap_top(l, c"double");
            }
            b'(' => {
                push_bytes(l, line);
                wrap_top(l, c"big_number");
            }
            b'=' => {
                let n = int_of(line).max(0) as usize;
                let end = (*pos + n).min(buf.len());
                let body = &buf[*pos..end];
                *pos = end + 2;
                ffi::lua_createtable(l, 0, 2);
                push_bytes(l, &body[..3.min(body.len())]);
                ffi::lua_setfield(l, -2, c"format".as_ptr());
                push_bytes(l, &body[4.min(body.len())..]);
                ffi::lua_setfield(l, -2, c"string".as_ptr());
                wrap_top(l, c"verbatim_string");
            }
            b'|' => {
                // Attributes are skipped; the reply follows.
                let n = int_of(line).max(0);
                for _ in 0..n * 2 {
                    push_reply(l, buf, pos, depth + 1)?;
                    ffi::lua_settop(l, -2);
                }
                push_reply(l, buf, pos, depth)?;
            }
            _ => ffi::lua_pushnil(l),
        }
        Ok(())
    }
}

/// The checks Redis's `scriptCall` makes before running a command from a
/// script; Err carries the message (without code).
fn check_script_command(
    st: &mut State,
    run: &mut RunCtx,
    argv: &Args,
) -> Result<(), (String, Option<&'static crate::command::CommandSpec>)> {
    let Some(spec) = st.commands.get(&argv[0]) else {
        return Err(("Unknown Redis command called from script".into(), None));
    };
    check_spec(st, run, argv, spec).map_err(|e| (e, Some(spec)))
}

fn check_spec(
    st: &mut State,
    run: &mut RunCtx,
    argv: &Args,
    mut spec: &'static crate::command::CommandSpec,
) -> Result<(), String> {
    if !spec.subcommands.is_empty()
        && argv.len() >= 2
        && let Some(s) = crate::command::table::subcommand(spec, &argv[1])
    {
        spec = s;
    }
    let argc = argv.len() as i32;
    if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
        return Err("Wrong number of args calling Redis command from script".into());
    }
    if spec.has(cf::NOSCRIPT) && !st.scripts.disable_deny {
        return Err("This Redis command is not allowed from script".into());
    }
    if st.is_replica
        && !st.cfg.hot.replica_serve_stale_data
        && !st.master.as_ref().is_some_and(|l| l.link_up())
        && !spec.has(cf::STALE)
    {
        return Err("Can not execute the command on a stale replica".into());
    }
    if !run.caller_info.is_empty()
        && let Some(user) = st.acl.get(&run.caller_user)
        && let Err(denied) = user.check(spec, argv)
    {
        let name = crate::acl::registry::get().full_name(spec);
        let msg = denied.message(&run.caller_user, name, argv, false);
        let info = run.caller_info.clone();
        let user = run.caller_user.clone();
        crate::command::call::log_denial(st, &user, denied, name, argv, "lua", info);
        return Err(format!("ACL failure in script: {msg}"));
    }
    if run.read_only && spec.has(cf::WRITE | cf::MAY_REPLICATE) {
        return Err("Write commands are not allowed from read-only scripts.".into());
    }
    if spec.has(cf::WRITE) && !run.write_dirty {
        if st.is_replica && !run.caller_is_master && st.cfg.bool("replica-read-only") {
            return Err("-READONLY You can't write against a read only replica.".into());
        }
        if st.cfg.hot.min_replicas_to_write > 0
            && !st.is_replica
            && (st.repl.good_replicas as i64) < st.cfg.hot.min_replicas_to_write
        {
            return Err("-NOREPLICAS Not enough good replicas to write.".into());
        }
    }
    if !run.allow_oom
        && st.cfg.hot.maxmemory != 0
        && !run.write_dirty
        && run.oom_at_start
        && !run.caller_is_master
        && spec.has(cf::DENYOOM)
    {
        return Err(format!("-{}", crate::evict::OOM_ERR));
    }
    if spec.has(cf::WRITE) {
        run.write_dirty = true;
    }
    Ok(())
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> mlua::Result<(u8, &'a [u8])> {
    let start = *pos;
    let end = memchr::memchr(b'\r', &buf[start..])
        .map(|i| start + i)
        .ok_or_else(|| mlua::Error::runtime("bad reply"))?;
    *pos = end + 2;
    Ok((buf[start], &buf[start + 1..end]))
}

fn int_of(b: &[u8]) -> i64 {
    crate::util::parse_i64(b).unwrap_or(0)
}

const MAX_DEPTH: usize = 1000;

/// Writes a script's return value as a reply, as Redis's
/// `luaReplyToRedisReply`.
pub fn lua_to_reply(v: &Value, r: &mut ReplyBuf, lua_resp: u8) {
    to_reply(v, r, lua_resp, 0);
}

/// Returns true once the depth limit was hit: every enclosing table then
/// stops where it is (its length says what it holds), so a table that
/// holds itself twice costs one error, not one per path (2^depth).
fn to_reply(v: &Value, r: &mut ReplyBuf, lua_resp: u8, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        r.error("ERR reached lua stack limit");
        return true;
    }
    match v {
        Value::String(s) => r.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if lua_resp == 2 {
                if *b {
                    r.int(1);
                } else {
                    r.null();
                }
            } else {
                r.boolean(*b);
            }
        }
        Value::Number(n) => r.int(f64_to_i64(*n)),
        Value::Integer(i) => r.int(*i),
        Value::Table(t) => {
            if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
                let msg = String::from_utf8_lossy(&e.as_bytes()).into_owned();
                r.error(&format!("-{msg}"));
                return false;
            }
            if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
                r.simple(&String::from_utf8_lossy(&s.as_bytes()));
                return false;
            }
            if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
                r.double(d);
                return false;
            }
            if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
                r.double(d as f64);
                return false;
            }
            if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
                let s = String::from_utf8_lossy(&s.as_bytes()).replace(['\r', '\n'], " ");
                r.bignum(&s);
                return false;
            }
            if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string")
                && let Ok(Value::String(f)) = vt.raw_get::<Value>("format")
                && let Ok(Value::String(s)) = vt.raw_get::<Value>("string")
            {
                r.verbatim(&s.as_bytes(), &String::from_utf8_lossy(&f.as_bytes()));
                return false;
            }
            if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
                let mark = r.deferred();
                let mut n = 0;
                let mut stop = false;
                for (k, v) in m.pairs::<Value, Value>().flatten() {
                    stop = to_reply(&k, r, lua_resp, depth + 1);
                    if !stop {
                        stop = to_reply(&v, r, lua_resp, depth + 1);
                    } else {
                        r.null();
                    }
                    n += 1;
                    if stop {
                        break;
                    }
                }
                r.set_deferred(mark, b'%', n);
                return stop;
            }
            if let Ok(Value::Table(m)) = t.raw_get::<Value>("set") {
                let mark = r.deferred();
                let mut n = 0;
                let mut stop = false;
                for (k, _) in m.pairs::<Value, Value>().flatten() {
                    stop = to_reply(&k, r, lua_resp, depth + 1);
                    n += 1;
                    if stop {
                        break;
                    }
                }
                r.set_deferred(mark, b'~', n);
                return stop;
            }
            let mark = r.deferred();
            let mut n = 0;
            let mut stop = false;
            loop {
                let v: Value = t.raw_get(n + 1).unwrap_or(Value::Nil);
                if v.is_nil() {
                    break;
                }
                stop = to_reply(&v, r, lua_resp, depth + 1);
                n += 1;
                if stop {
                    break;
                }
            }
            r.set_deferred(mark, b'*', n);
            return stop;
        }
        _ => r.null(),
    }
    false
}

fn f64_to_i64(n: f64) -> i64 {
    // Redis casts with C's (long long), which on x86-64 (cvttsd2si) gives
    // i64::MIN for NaN and for anything out of range, either side; Rust's
    // `as` would saturate to i64::MAX above.
    if !(-9223372036854775808.0..9223372036854775808.0).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// Builds a VM: the standard libraries Redis loads, our library tables,
/// the Rust callbacks and the sandbox.
pub fn new_vm(cfg_deprecated: bool) -> mlua::Result<Vm> {
    use mlua::StdLib;
    // SAFETY: the debug library is needed by the prelude's error handler;
    // the prelude keeps it private and scripts never see it.
    let lua = unsafe {
        Lua::unsafe_new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::OS | StdLib::DEBUG,
            mlua::LuaOptions::default(),
        )
    };
    let rs = lua.create_table()?;
    // SAFETY: both keep to the Lua C API contract (see `lua_redis_call`).
    rs.set("call", unsafe { lua.create_c_function(lua_redis_call)? })?;
    rs.set("pcall", unsafe { lua.create_c_function(lua_redis_pcall)? })?;
    // SAFETY: as above.
    rs.set("breakpoint", unsafe {
        lua.create_c_function(ldb::lua_breakpoint)?
    })?;
    rs.set("debug", unsafe { lua.create_c_function(ldb::lua_debug)? })?;
    rs.set(
        "sha1hex",
        lua.create_function(|_, s: mlua::String| Ok(sha1hex(&s.as_bytes())))?,
    )?;
    rs.set(
        "log",
        lua.create_function(|_, (level, msg): (i64, String)| {
            match level {
                0 => log::debug!("{msg}"),
                1 => log::debug!("{msg}"),
                2 => log::info!("{msg}"),
                _ => log::warn!("{msg}"),
            }
            Ok(())
        })?,
    )?;
    rs.set(
        "setresp",
        lua.create_function(|_, v: u8| {
            let p = RUN.with(|r| r.get());
            if !p.is_null() {
                // SAFETY: see `lua_call`.
                unsafe { (*p).lua_resp = v };
            }
            Ok(())
        })?,
    )?;
    rs.set(
        "set_repl",
        lua.create_function(|_, v: i64| {
            let p = RUN.with(|r| r.get());
            if !p.is_null() {
                // SAFETY: see `lua_call`.
                unsafe { (*p).repl_flags = v };
            }
            Ok(())
        })?,
    )?;
    rs.set(
        "acl_check_cmd",
        lua.create_function(|lua, args: MultiValue| {
            let Some(Value::String(name)) = args.front() else {
                return Ok((
                    err_table(
                        lua,
                        "Please specify at least one argument for this redis lib call",
                    )?,
                    true,
                ));
            };
            let p = RUN.with(|r| r.get());
            if p.is_null() {
                return Ok((Value::Boolean(true), false));
            }
            // SAFETY: see `lua_call`.
            let (st, run) = unsafe { (&*(*p).st, &*p) };
            let Some(mut spec) = st.commands.get(&name.as_bytes()) else {
                return Ok((
                    err_table(lua, "Invalid command passed to redis.acl_check_cmd()")?,
                    true,
                ));
            };
            let mut argv: Vec<Vec<u8>> = Vec::with_capacity(args.len());
            for a in args.iter() {
                match a {
                    Value::String(s) => argv.push(s.as_bytes().to_vec()),
                    Value::Integer(i) => argv.push(i.to_string().into_bytes()),
                    Value::Number(n) => {
                        // As redis.call turns a number into an argument.
                        let mut b = Vec::new();
                        num_arg(*n, &mut b);
                        argv.push(b);
                    }
                    _ => {
                        return Ok((
                            err_table(
                                lua,
                                "Lua redis lib command arguments must be strings or integers",
                            )?,
                            true,
                        ));
                    }
                }
            }
            if !spec.subcommands.is_empty()
                && let Some(sub) = argv
                    .get(1)
                    .and_then(|a| crate::command::table::subcommand(spec, a))
            {
                spec = sub;
            }
            let allowed = !st.acl.restricts(&run.caller_user)
                || st.acl.get(&run.caller_user).is_none_or(|u| {
                    let slices: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
                    u.check(spec, &Args::from_slices(&slices)).is_ok()
                });
            Ok((Value::Boolean(allowed), false))
        })?,
    )?;
    rs.set(
        "random",
        lua.create_function(|_, args: MultiValue| {
            let r = (lrand48() % i32::MAX) as f64 / i32::MAX as f64;
            let num = |v: &Value| match v {
                Value::Number(n) => Ok(*n),
                Value::Integer(i) => Ok(*i as f64),
                Value::String(s) => crate::util::parse_f64(&s.as_bytes()).ok_or_else(|| {
                    mlua::Error::runtime("bad argument to 'random' (number expected)")
                }),
                _ => Err(mlua::Error::runtime(
                    "bad argument to 'random' (number expected)",
                )),
            };
            match args.len() {
                0 => Ok(r),
                1 => {
                    let u = num(&args[0])?.floor();
                    if u < 1.0 {
                        return Err(mlua::Error::runtime(
                            "bad argument #1 to 'random' (interval is empty)",
                        ));
                    }
                    Ok((r * u).floor() + 1.0)
                }
                2 => {
                    let l = num(&args[0])?.floor();
                    let u = num(&args[1])?.floor();
                    if l > u {
                        return Err(mlua::Error::runtime(
                            "bad argument #2 to 'random' (interval is empty)",
                        ));
                    }
                    Ok((r * (u - l + 1.0)).floor() + l)
                }
                _ => Err(mlua::Error::runtime("wrong number of arguments")),
            }
        })?,
    )?;
    rs.set(
        "randomseed",
        lua.create_function(|_, v: Value| {
            let n = match v {
                Value::Number(n) => n as i64,
                Value::Integer(i) => i,
                Value::String(s) => crate::util::parse_f64(&s.as_bytes()).unwrap_or(0.0) as i64,
                _ => 0,
            };
            srand48(n as i32);
            Ok(())
        })?,
    )?;
    rs.set(
        "check_function_name",
        lua.create_function(|_, (name, seen): (mlua::String, Table)| {
            let b = name.as_bytes();
            if b.is_empty() || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                return Ok(Some(
                    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".to_string(),
                ));
            }
            if seen.raw_get::<Option<bool>>(name)?.is_some() {
                return Ok(Some("Function already exists in the library".to_string()));
            }
            Ok(None)
        })?,
    )?;
    rs.set("version", crate::REDIS_VERSION)?;
    rs.set("version_num", version_num())?;
    rs.set("libs", libs::create(&lua)?)?;
    let api: Table = lua
        .load(include_str!("prelude.lua"))
        .set_name("=redis")
        .call(rs)?;
    let enable: Function = api.get("enable_deprecated")?;
    enable.call::<()>(cfg_deprecated)?;
    Ok(Vm {
        // SAFETY: `lua_run` keeps to the Lua C API contract.
        run: unsafe { lua.create_c_function(lua_run)? },
        err_handler: api.get("err_handler")?,
        globals: api.get("globals")?,
        lua,
        api,
    })
}

fn version_num() -> i64 {
    let mut n = 0i64;
    for p in crate::REDIS_VERSION.split('.') {
        n = n * 256 + p.parse::<i64>().unwrap_or(0);
    }
    n
}

/// Parses an EVAL shebang line; returns (flags, bytes to skip).
pub fn eval_shebang(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((sflags::EVAL_COMPAT, 0));
    }
    let Some(end) = memchr::memchr(b'\n', body) else {
        return Err("Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]).into_owned();
    let parts: Vec<&str> = line.split_ascii_whitespace().collect();
    if parts.is_empty() {
        return Err("Invalid engine in script shebang".into());
    }
    if parts[0] != "#!lua" {
        return Err(format!("Unexpected engine in script shebang: {}", parts[0]));
    }
    let mut flags = 0;
    for p in &parts[1..] {
        let Some(list) = p.strip_prefix("flags=") else {
            return Err(format!("Unknown lua shebang option: {p}"));
        };
        for f in list.split(',') {
            if f.is_empty() {
                continue;
            }
            match sflags::parse(f) {
                Some(v) => flags |= v,
                None => return Err(format!("Unexpected flag in script shebang: {f}")),
            }
        }
    }
    Ok((flags, end))
}

/// Parses a FUNCTION LOAD shebang (`#!lua name=lib`, split as Redis's
/// `sdssplitargs`): (library name, bytes to skip).
pub fn library_shebang(code: &[u8]) -> Result<(String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = memchr::memchr(b'\n', code) else {
        return Err("Invalid library metadata".into());
    };
    let parts = match crate::resp::parse::split_args(&code[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("Invalid library metadata".into()),
    };
    let engine = String::from_utf8_lossy(&parts[0][2.min(parts[0].len())..]).into_owned();
    let mut name = None;
    for p in &parts[1..] {
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(String::from_utf8_lossy(&p[5..]).into_owned());
            continue;
        }
        return Err(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(p)
        ));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{engine}' not found"));
    }
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    Ok((name, end))
}

impl Scripts {
    pub fn eval_vm(&mut self, deprecated: bool) -> &mut Vm {
        if self.eval_vm.is_none() {
            self.eval_vm = Some(new_vm(deprecated).expect("Lua VM setup"));
        }
        self.eval_vm.as_mut().expect("vm")
    }

    pub fn func_vm(&mut self, deprecated: bool) -> &mut Vm {
        if self.func_vm.is_none() {
            self.func_vm = Some(new_vm(deprecated).expect("Lua VM setup"));
        }
        self.func_vm.as_mut().expect("vm")
    }

    /// The argument of DEBUG SET-DISABLE-DENY-SCRIPTS (0 or not).
    pub fn disable_deny_arg(&self, a: &[u8]) -> bool {
        crate::util::parse_i64(a).is_some_and(|v| v != 0)
    }

    /// The code of every function library, for RDB snapshots.
    pub fn library_codes(&self) -> Vec<&[u8]> {
        self.libraries.values().map(|l| &l.code[..]).collect()
    }

    /// SCRIPT FLUSH: a new VM and no cached scripts.
    pub fn flush_eval(&mut self) {
        drop(self.take_eval());
    }

    /// SCRIPT FLUSH, handing back the scripts and their VM for the caller
    /// to free, and how many scripts there were.
    pub fn take_eval(&mut self) -> (Box<dyn std::any::Any>, usize) {
        self.eval_lru.clear();
        let n = self.eval.len();
        (
            Box::new((std::mem::take(&mut self.eval), self.eval_vm.take())),
            n,
        )
    }

    pub fn flush_functions(&mut self) {
        drop(self.take_functions());
    }

    /// FUNCTION FLUSH, handing back the libraries and their VM for the
    /// caller to free, and how many functions there were.
    pub fn take_functions(&mut self) -> (Box<dyn std::any::Any>, usize) {
        let n = self.functions.len();
        let doomed = (
            std::mem::take(&mut self.functions),
            std::mem::take(&mut self.libraries),
            self.func_vm.take(),
        );
        (Box::new(doomed), n)
    }

    /// Compiles an EVAL body into the eval VM; returns its sha. Scripts
    /// EVAL creates (`evictable`) are kept in an LRU of EVAL_SCRIPTS_MAX;
    /// SCRIPT LOAD makes a script permanent.
    pub fn create_eval(
        &mut self,
        body: &[u8],
        deprecated: bool,
        evictable: bool,
    ) -> Result<String, String> {
        let sha = sha1hex(body);
        if let Some(s) = self.eval.get_mut(&sha) {
            if s.evictable {
                if evictable {
                    touch_lru(&mut self.eval_lru, &sha);
                } else {
                    s.evictable = false;
                    self.eval_lru.retain(|x| *x != sha);
                }
            }
            return Ok(sha);
        }
        let (flags, skip) = eval_shebang(body)?;
        let vm = self.eval_vm(deprecated);
        let f = vm
            .lua
            .load(&body[skip..])
            .set_name("@user_script")
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                format!(
                    "Error compiling script (new function): {}",
                    lua_err_text(&e)
                )
            })?;
        let sandbox: Function = vm.api.get("sandbox").map_err(|e| e.to_string())?;
        let f: Function = sandbox.call(f).map_err(|e| e.to_string())?;
        let key = vm.lua.create_registry_value(f).map_err(|e| e.to_string())?;
        if evictable {
            if self.eval_lru.len() >= EVAL_SCRIPTS_MAX
                && let Some(old) = self.eval_lru.pop_front()
            {
                self.eval.remove(&old);
                self.evicted += 1;
            }
            self.eval_lru.push_back(sha.clone());
        }
        self.eval.insert(
            sha.clone(),
            EvalScript {
                body: body.to_vec(),
                func: key,
                flags,
                evictable,
            },
        );
        Ok(sha)
    }

    /// EVALSHA of a cached script: it becomes the most recently used.
    pub fn touch_eval(&mut self, sha: &str) {
        if self.eval.get(sha).is_some_and(|s| s.evictable) {
            touch_lru(&mut self.eval_lru, sha);
        }
    }

    /// Takes the script client out (creating it the first time).
    pub fn take_fake(&mut self) -> Box<Client> {
        if let Some(c) = self.fake.take() {
            return c;
        }
        let (a, _b) = mio::net::UnixStream::pair().expect("socketpair");
        let mut c = Box::new(Client::new(
            u64::MAX,
            SCRIPT_CLIENT_TOKEN,
            crate::client::Conn::Unix(a),
            String::new(),
            String::new(),
            true,
            crate::util::now_ms(),
            2,
        ));
        c.authenticated = true;
        // MONITOR shows its commands as `[db lua]`.
        c.unix = false;
        c.addr = "lua".into();
        c
    }
}

fn touch_lru(lru: &mut std::collections::VecDeque<String>, sha: &str) {
    if lru.back().is_some_and(|b| b == sha) {
        return;
    }
    if let Some(i) = lru.iter().position(|x| x == sha) {
        let s = lru.remove(i).expect("index");
        lru.push_back(s);
    }
}

/// The message of a Lua error, without mlua's decorations.
pub fn lua_err_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_err_text(cause),
        other => other.to_string(),
    }
}

/// A run's keys and arguments, handed to `lua_run` by pointer.
type RunInputs<'a> = (&'a [&'a [u8]], &'a [&'a [u8]]);

/// Pushes `items` as a new Lua array of strings.
///
/// # Safety
/// `l` must be a running Lua thread with two free stack slots.
unsafe fn push_string_array(l: *mut ffi::lua_State, items: &[&[u8]]) {
    // SAFETY: per the contract; each push is popped into the table.
    unsafe {
        ffi::lua_createtable(l, items.len().min(1 << 20) as c_int, 0);
        for (i, it) in items.iter().enumerate() {
            push_bytes(l, it);
            ffi::lua_rawseti_(l, -2, (i + 1) as c_int);
        }
    }
}

/// The entry every script run goes through, a raw Lua C function called
/// as `lua_run(f, globals, handler, inputs)`: builds the KEYS and ARGV
/// tables from `inputs` (a `RunInputs` pointer), then either sets them as
/// globals and calls `f()` (EVAL, `globals` a table) or calls
/// `f(KEYS, ARGV)` (FCALL, `globals` nil), under `handler` as xpcall
/// would. Returns (true, result) or (false, error).
unsafe extern "C-unwind" fn lua_run(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: `l` is the calling thread with the four arguments above;
    // `inputs` points at a `RunInputs` that `run_script` keeps alive for
    // the call. A Lua error (out of memory) here jumps back to mlua's
    // protected call, past no destructor.
    unsafe {
        if ffi::lua_checkstack(l, 8) == 0 {
            ffi::lua_pushboolean(l, 0);
            push_bytes(l, b"stack overflow");
            return 2;
        }
        let (keys, argv) = *(ffi::lua_touserdata(l, 4) as *const RunInputs);
        push_string_array(l, keys); // 5
        push_string_array(l, argv); // 6
        let nargs = if ffi::lua_type(l, 2) == ffi::LUA_TTABLE {
            push_bytes(l, b"KEYS");
            ffi::lua_pushvalue(l, 5);
            ffi::lua_rawset(l, 2);
            push_bytes(l, b"ARGV");
            ffi::lua_pushvalue(l, 6);
            ffi::lua_rawset(l, 2);
            ffi::lua_pushvalue(l, 1);
            0
        } else {
            ffi::lua_pushvalue(l, 1);
            ffi::lua_pushvalue(l, 5);
            ffi::lua_pushvalue(l, 6);
            2
        };
        let debugging = nargs == 0 && ldb::active();
        if debugging {
            ldb::install(l, 2);
        }
        let status = ffi::lua_pcall(l, nargs, 1, 3);
        if debugging {
            ldb::uninstall(l);
        }
        ffi::lua_pushboolean(l, (status == 0) as c_int);
        ffi::lua_insert(l, -2);
        2
    }
}

/// What a run needs to know about its caller and script.
pub struct RunSpec<'a> {
    pub func: &'a Function,
    pub funcname: &'a str,
    pub is_eval: bool,
    pub keys: &'a [&'a [u8]],
    pub argv: &'a [&'a [u8]],
    pub flags: u32,
    pub read_only: bool,
    /// The command that runs it, as sent.
    pub cmd: &'a [Vec<u8>],
}

/// Runs a script or function for `caller`, writing its reply. The VM
/// (`vm`) has been taken out of `st` by the caller.
pub fn run_script(
    st: &mut State,
    caller: &mut Client,
    others: &slab::Slab<Option<Box<Client>>>,
    vm: &Vm,
    spec: RunSpec,
) {
    let lua = &vm.lua;
    let mut fake = st.scripts.take_fake();
    fake.db = caller.db;
    // Keys the script reads are tracked for the caller.
    fake.tracking = caller.tracking.take();
    fake.id = caller.id;
    fake.reply.resp = 2;
    let oom = st.cfg.hot.maxmemory != 0 && st.evict.oom_at_command_start;
    let mut run = RunCtx {
        st: st as *mut State,
        others: others as *const _,
        fake: &mut *fake as *mut Client,
        caller_user: caller.user.clone(),
        caller_info: if st.acl.restricts(&caller.user) {
            caller.info_line(st.now_ms)
        } else {
            String::new()
        },
        read_only: spec.read_only || spec.flags & sflags::NO_WRITES != 0,
        allow_oom: spec.flags & sflags::ALLOW_OOM != 0,
        oom_at_start: oom,
        write_dirty: false,
        lua_resp: 2,
        caller_is_master: caller.is_master,
        repl_flags: 3,
    };
    st.scripts.running = Some((
        spec.funcname.to_string(),
        spec.is_eval,
        crate::util::now_ms(),
    ));
    st.scripts.running_cmd = spec.cmd.to_vec();
    st.scripts.start_us = crate::util::now_us();
    st.scripts.kill_requested = false;
    // A debugging session hooks the run itself (`lua_run`).
    if !ldb::active() {
        lua.set_hook(
            mlua::HookTriggers::new().every_nth_instruction(100_000),
            busy_hook,
        );
    }
    let prev = RUN.with(|r| r.replace(&mut run as *mut RunCtx));
    let was_in_exec = st.in_exec;
    st.in_exec = true;
    // (true, return value) or (false, error), as from xpcall.
    let inputs = (spec.keys, spec.argv);
    let inputs_ptr = mlua::LightUserData(&inputs as *const RunInputs as *mut std::ffi::c_void);
    let globals = if spec.is_eval {
        Value::Table(vm.globals.clone())
    } else {
        Value::Nil
    };
    let result: mlua::Result<(Value, Value)> =
        vm.run
            .call::<(Value, Value)>((spec.func, globals, &vm.err_handler, inputs_ptr));
    RUN.with(|r| r.set(prev));
    lua.remove_hook();
    st.in_exec = was_in_exec;
    st.scripts.running = None;
    st.scripts.running_cmd.clear();
    st.scripts.busy = false;
    st.scripts.kill_requested = false;
    let lua_resp = run.lua_resp;
    caller.tracking = fake.tracking.take();
    fake.id = u64::MAX;
    st.scripts.fake = Some(fake);
    let r = &mut caller.reply;
    match result {
        Ok((ok, v)) => {
            let ok = matches!(ok, Value::Boolean(true));
            st.scripts.error_counted = matches!(&v, Value::Table(t)
                if t.raw_get::<Option<bool>>("ignore_error_stats_update").ok().flatten() == Some(true)
                    && matches!(t.raw_get::<Value>("err"), Ok(Value::String(_))));
            if ok {
                lua_to_reply(&v, r, lua_resp);
            } else if let Value::Table(t) = &v {
                let msg = match t.raw_get::<Value>("err") {
                    Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                    _ => "ERR unknown error".into(),
                };
                let src: Option<String> = t.raw_get("source").ok().flatten();
                let line: Option<Value> = t.raw_get("line").ok();
                let mut out = format!("-{msg}");
                if let (Some(src), Some(l)) = (src, line) {
                    let l = match l {
                        Value::Number(n) => format!("{}", n as i64),
                        Value::Integer(i) => i.to_string(),
                        _ => String::new(),
                    };
                    if !l.is_empty() {
                        out.push_str(&format!(" script: {}, on {}:{}.", spec.funcname, src, l));
                    }
                }
                r.error(&out);
            } else {
                r.error(&format!(
                    "ERR Error running script {}, {}",
                    spec.funcname,
                    lua_value_text(&v)
                ));
            }
        }
        Err(e) => {
            r.error(&format!(
                "ERR Error running script {}, {:.100}",
                spec.funcname,
                lua_err_text(&e)
            ));
        }
    }
}

fn lua_value_text(v: &Value) -> String {
    match v {
        Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        _ => "execution failure".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table that holds itself twice has 2^depth paths; the reply stops
    /// at the first that reaches the limit.
    #[test]
    fn self_referencing_reply_stops_at_the_depth_limit() {
        let lua = mlua::Lua::new();
        let t: mlua::Table = lua
            .load("local t = {} t[1] = t t[2] = t return t")
            .eval()
            .unwrap();
        let mut r = ReplyBuf::new();
        lua_to_reply(&Value::Table(t), &mut r, 2);
        let out = String::from_utf8_lossy(&r.buf).into_owned();
        assert_eq!(out.matches("reached lua stack limit").count(), 1);
        assert_eq!(out.matches("*1\r\n").count(), MAX_DEPTH + 1);
        assert!(out.ends_with("-ERR reached lua stack limit\r\n"));
    }

    #[test]
    fn shebang_flags() {
        assert_eq!(eval_shebang(b"return 1").unwrap().0, sflags::EVAL_COMPAT);
        let (f, skip) = eval_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert_eq!(f, sflags::NO_WRITES | sflags::ALLOW_OOM);
        assert_eq!(skip, 31);
        assert!(eval_shebang(b"#!lua").is_err());
        assert!(
            eval_shebang(b"#!py\n")
                .unwrap_err()
                .contains("Unexpected engine")
        );
        assert!(
            eval_shebang(b"#!lua flags=bad\n")
                .unwrap_err()
                .contains("Unexpected flag")
        );
    }

    #[test]
    fn library_metadata() {
        assert_eq!(library_shebang(b"#!lua name=lib1\nx").unwrap().0, "lib1");
        assert!(library_shebang(b"x").is_err());
        assert!(library_shebang(b"#!lua name=a").is_err());
        assert!(
            library_shebang(b"#!lua\n")
                .unwrap_err()
                .contains("not given")
        );
        assert!(library_shebang(b"#!lua name=a-b\n").is_err());
    }

    #[test]
    fn lrand48_matches_reference_sequence() {
        srand48(0);
        // lrand48() after srand48(0) in glibc starts with these.
        assert_eq!(lrand48(), 366850414);
        assert_eq!(lrand48(), 1610402240);
    }

    #[test]
    fn error_texts() {
        assert_eq!(err_msg("Unknown command"), "ERR Unknown command");
        assert_eq!(err_msg("-NOSCRIPT no script\r\n"), "NOSCRIPT no script");
        assert_eq!(err_msg("-OOPS"), "ERR OOPS");
    }

    thread_local! {
        static REPLY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// Pushes the RESP in `REPLY` as a Lua value.
    unsafe extern "C-unwind" fn push_test_reply(l: *mut ffi::lua_State) -> c_int {
        let buf = REPLY.with(|r| r.borrow().clone());
        let mut pos = 0;
        // SAFETY: `l` is the calling thread.
        match unsafe { push_reply(l, &buf, &mut pos, 0) } {
            Ok(()) => 1,
            Err(()) => 0,
        }
    }

    /// Converts `resp` to Lua and back to text with `show` (Lua code).
    fn resp_to_lua(resp: &[u8]) -> String {
        REPLY.with(|r| *r.borrow_mut() = resp.to_vec());
        let lua = Lua::new();
        // SAFETY: the test function keeps to the C API contract.
        let f = unsafe { lua.create_c_function(push_test_reply) }.unwrap();
        lua.globals().set("reply", f).unwrap();
        lua.load(
            r#"
            local function show(v)
              if type(v) ~= 'table' then return type(v) .. ':' .. tostring(v) end
              local keys = {}
              for k in pairs(v) do keys[#keys + 1] = tostring(k) end
              table.sort(keys)
              local out = {}
              for _, k in ipairs(keys) do
                local val = v[k] ~= nil and v[k] or v[tonumber(k)]
                out[#out + 1] = k .. '=' .. show(val)
              end
              return '{' .. table.concat(out, ',') .. '}'
            end
            return show(reply())
            "#,
        )
        .eval::<String>()
        .unwrap()
    }

    #[test]
    fn replies_become_lua_values() {
        assert_eq!(resp_to_lua(b":42\r\n"), "number:42");
        assert_eq!(resp_to_lua(b"$3\r\nabc\r\n"), "string:abc");
        assert_eq!(resp_to_lua(b"$-1\r\n"), "boolean:false");
        assert_eq!(resp_to_lua(b"+OK\r\n"), "{ok=string:OK}");
        assert_eq!(resp_to_lua(b"-ERR bad\r\n"), "{err=string:ERR bad}");
        assert_eq!(
            resp_to_lua(b"*2\r\n$1\r\na\r\n:1\r\n"),
            "{1=string:a,2=number:1}"
        );
        assert_eq!(
            resp_to_lua(b"%1\r\n$1\r\nk\r\n$1\r\nv\r\n"),
            "{map={k=string:v}}"
        );
        assert_eq!(resp_to_lua(b"~1\r\n$1\r\nm\r\n"), "{set={m=boolean:true}}");
        assert_eq!(resp_to_lua(b",1.5\r\n"), "{double=number:1.5}");
        assert_eq!(resp_to_lua(b"_\r\n"), "nil:nil");
        assert_eq!(resp_to_lua(b"#t\r\n"), "boolean:true");
        assert_eq!(
            resp_to_lua(b"=7\r\ntxt:abc\r\n"),
            "{verbatim_string={format=string:txt,string=string:abc}}"
        );
    }
}
