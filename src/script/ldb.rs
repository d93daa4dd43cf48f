//! LDB, the Lua debugger behind `SCRIPT DEBUG SYNC` (Redis's `ldb*` in
//! eval.c).
//!
//! How a session goes:
//! - A client that sent `SCRIPT DEBUG SYNC` has its next EVAL run as a
//!   session: `start` takes the client's socket and the script's source
//!   lines, the script runs with `line_hook` as its line and count hook
//!   (in place of the busy hook), and `end` sends `<endsession>`. The
//!   client is then closed after the EVAL reply, as Redis closes it.
//! - The session is synchronous, as Redis's sync mode is: while the script
//!   is stopped the reactor is blocked, and the hook talks to the client on
//!   its socket directly, reading debugger commands with poll(2)/read(2)
//!   and writing each batch of log lines as an array of status replies
//!   (`*N\r\n+line\r\n...`), as `ldbSendLogs` does.
//! - Redis's forked mode (`SCRIPT DEBUG YES`) runs the session in a child
//!   whose changes are thrown away. This server forks no child that touches
//!   live data, so YES is refused (see `commands::scripting`).
//! - `redis.call` logs the commands it runs and their replies while the
//!   debugger steps (`enabled`); the debugger's own `redis` command runs
//!   through that same `redis.call`.
//!
//! The session lives in a thread-local `RefCell`, borrowed only for short
//! pure-Rust steps (`with`): never across a Lua call, since `redis` and
//! `eval` re-enter the engine, whose `redis.call` logs into the session.
//! The Lua API calls made from the hook raise errors only when Lua runs out
//! of memory.
//!
//! Limits, as Redis's: 64 breakpoints, a 1 MiB command buffer, commands of
//! 1..=1024 arguments of 1..=1024 bytes each, value dumps 10 tables deep;
//! and, Redis having none, dumps and replies are cut at `UNLIMITED_CAP`
//! bytes when maxlen is 0 or larger, and pending log lines at `LOGS_CAP`
//! bytes.

use super::push_bytes;
use crate::resp::Args;
use mlua::ffi;
use std::cell::RefCell;
use std::ffi::{CStr, c_int};

const BREAKPOINTS_MAX: usize = 64;
const MAXLEN_DEFAULT: usize = 256;
/// Debugger input not yet making a command: past this the script fails.
const CBUF_MAX: usize = 1 << 20;
/// Redis's LDB_MAX_VALUES_DEPTH (LUA_MINSTACK / 2).
const MAX_VALUES_DEPTH: usize = 10;
/// Where dumps and replies stop under `maxlen 0`.
const UNLIMITED_CAP: usize = 1 << 20;
/// Log bytes held between two sends; later lines are dropped.
const LOGS_CAP: usize = 64 << 20;
/// How long a write to the debugging client may wait (Redis's
/// `connSendTimeout(conn, 5000)`).
const SEND_TIMEOUT_MS: i64 = 5000;
/// The registry slot holding the script globals while a session runs
/// (`print KEYS` / `print ARGV`).
const GLOBALS_KEY: &CStr = c"__redis_ldb_globals";
const UNKNOWN_COMMAND: &str =
    "<error> Unknown Redis Lua debugger command or wrong number of arguments.";

struct Session {
    /// The debugging client's socket.
    fd: i32,
    /// Lines to send with the next `send_logs`, and their size.
    logs: Vec<Vec<u8>>,
    logs_bytes: usize,
    logs_dropped: bool,
    /// The script, split into lines.
    src: Vec<Vec<u8>>,
    bp: Vec<i32>,
    /// Stop at the next line whatever the breakpoints say.
    step: bool,
    /// Stop at the next line: redis.breakpoint() was called.
    luabp: bool,
    currentline: i32,
    /// Input received that is not a whole command yet.
    cbuf: Vec<u8>,
    /// Dumps and logged replies are trimmed to this (0: unlimited).
    maxlen: usize,
    maxlen_hint_sent: bool,
    /// Running this long without a stop (ms) counts as an infinite loop.
    timelimit_ms: i64,
    /// When the script last resumed (unix ms).
    resumed_ms: i64,
}

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// Runs `f` on the session; None when there is none (or it is borrowed
/// already, which the callers never do).
fn with<R>(f: impl FnOnce(&mut Session) -> R) -> Option<R> {
    SESSION.with(|s| match s.try_borrow_mut() {
        Ok(mut g) => g.as_mut().map(f),
        Err(_) => None,
    })
}

/// Starts a session for a client whose socket is `fd`, debugging `body`;
/// running `timelimit_ms` without a stop makes the script stop as if
/// stepping (busy-reply-threshold, 5000 when 0).
pub fn start(fd: i32, body: &[u8], timelimit_ms: i64) {
    log::info!("Redis synchronous debugging eval session started");
    let mut end = body.len();
    while end > 0 && matches!(body[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let src = if end == 0 {
        Vec::new()
    } else {
        body[..end]
            .split(|&c| c == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    };
    let s = Session {
        fd,
        logs: Vec::new(),
        logs_bytes: 0,
        logs_dropped: false,
        src,
        bp: Vec::new(),
        step: true,
        luabp: false,
        currentline: 0,
        cbuf: Vec::new(),
        maxlen: MAXLEN_DEFAULT,
        maxlen_hint_sent: false,
        timelimit_ms,
        resumed_ms: crate::util::now_ms(),
    };
    SESSION.with(|cell| {
        if let Ok(mut g) = cell.try_borrow_mut() {
            *g = Some(s);
        }
    });
}

/// Ends the session: the logs left and an `<endsession>` mark go out.
pub fn end() {
    with(|s| {
        s.log(b"<endsession>".to_vec());
        s.send_logs();
    });
    SESSION.with(|cell| {
        if let Ok(mut g) = cell.try_borrow_mut() {
            *g = None;
        }
    });
    log::info!("Redis synchronous debugging eval session ended");
}

/// A session is running.
pub fn active() -> bool {
    with(|_| ()).is_some()
}

/// The debugger is stepping: what `redis.call` runs is logged (Redis's
/// `ldbIsEnabled`).
pub fn enabled() -> bool {
    with(|s| s.step).unwrap_or(false)
}

/// Logs a command `redis.call` is about to run: `<redis> arg...`, the
/// first ten arguments.
pub fn log_command(argv: &Args) {
    with(|s| {
        let mut line = b"<redis>".to_vec();
        for (j, a) in argv.iter().enumerate() {
            if j == 10 {
                line.extend_from_slice(format!(" ... ({} more)", argv.len() - j - 1).as_bytes());
                break;
            }
            line.push(b' ');
            line.extend_from_slice(a);
        }
        s.log(line);
    });
}

/// Logs an error `redis.call` hands to the script: `<error> msg`.
pub fn log_error(msg: &[u8]) {
    with(|s| {
        let mut line = b"<error> ".to_vec();
        line.extend_from_slice(msg);
        s.log(line);
    });
}

/// Logs a command's RESP reply in readable form: `<reply> ...`.
pub fn log_reply(reply: &[u8]) {
    with(|s| {
        let cap = s.cap();
        let mut line = b"<reply> ".to_vec();
        let mut pos = 0;
        human_reply(&mut line, reply, &mut pos, 0, cap);
        s.log_max(line);
    });
}

impl Session {
    fn log(&mut self, line: Vec<u8>) {
        if self.logs_bytes + line.len() > LOGS_CAP {
            if !self.logs_dropped {
                self.logs_dropped = true;
                self.logs
                    .push(b"<error> Too much output: the rest of it was dropped.".to_vec());
            }
            return;
        }
        self.logs_bytes += line.len();
        self.logs.push(line);
    }

    /// How long a dump may grow before it is cut: maxlen, within
    /// `UNLIMITED_CAP`.
    fn cap(&self) -> usize {
        if self.maxlen == 0 {
            UNLIMITED_CAP
        } else {
            self.maxlen.min(UNLIMITED_CAP)
        }
    }

    /// Logs `line` trimmed to `maxlen`, with a hint the first time
    /// (Redis's `ldbLogWithMaxLen`).
    fn log_max(&mut self, mut line: Vec<u8>) {
        let cap = self.cap();
        let trimmed = line.len() > cap;
        if trimmed {
            line.truncate(cap);
            line.extend_from_slice(b" ...");
        }
        self.log(line);
        if trimmed && cap == self.maxlen && !self.maxlen_hint_sent {
            self.maxlen_hint_sent = true;
            self.log(
                b"<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.".to_vec(),
            );
        }
    }

    /// Sends the pending lines as an array of status replies, newlines
    /// turned to spaces. A failed write is ignored: the next read sees
    /// the connection gone.
    fn send_logs(&mut self) {
        let mut out = format!("*{}\r\n", self.logs.len()).into_bytes();
        for l in self.logs.drain(..) {
            out.push(b'+');
            out.extend(
                l.iter()
                    .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
            );
            out.extend_from_slice(b"\r\n");
        }
        self.logs_bytes = 0;
        self.logs_dropped = false;
        write_all(self.fd, &out);
    }

    fn source_line(&self, line: i32) -> &[u8] {
        match usize::try_from(i64::from(line) - 1)
            .ok()
            .and_then(|i| self.src.get(i))
        {
            Some(l) => l,
            None => b"<out of range source code line>",
        }
    }

    /// Logs source line `lnum`, marked `->` when current and `#` when it
    /// has a breakpoint.
    fn log_source_line(&mut self, lnum: i32) {
        let prefix = match (self.currentline == lnum, self.bp.contains(&lnum)) {
            (true, true) => "->#",
            (true, false) => "-> ",
            (false, true) => "  #",
            (false, false) => "   ",
        };
        let mut line = format!("{prefix}{lnum:<3} ").into_bytes();
        line.extend_from_slice(self.source_line(lnum));
        self.log(line);
    }

    /// The lines within `context` of `around`, or all of them when
    /// `around` is 0.
    fn list(&mut self, around: i64, context: i64) {
        for j in 1..=self.src.len() as i64 {
            if around != 0 && (around - j).abs() > context {
                continue;
            }
            self.log_source_line(j as i32);
        }
    }

    /// `break`: lists, adds (`N`), removes (`-N`) or clears (`0`).
    fn breakpoints(&mut self, argv: &[Vec<u8>]) {
        if argv.len() == 1 {
            if self.bp.is_empty() {
                self.log(b"No breakpoints set. Use 'b <line>' to add one.".to_vec());
            } else {
                self.log(format!("{} breakpoints set:", self.bp.len()).into_bytes());
                for l in self.bp.clone() {
                    self.log_source_line(l);
                }
            }
            return;
        }
        for arg in &argv[1..] {
            let Some(line) = crate::util::parse_i64(arg) else {
                let mut m = b"Invalid argument:'".to_vec();
                m.extend_from_slice(arg);
                m.push(b'\'');
                self.log(m);
                continue;
            };
            if line == 0 {
                self.bp.clear();
                self.log(b"All breakpoints removed.".to_vec());
            } else if line > 0 {
                if self.bp.len() == BREAKPOINTS_MAX {
                    self.log(b"Too many breakpoints set.".to_vec());
                } else if line <= self.src.len() as i64 && !self.bp.contains(&(line as i32)) {
                    self.bp.push(line as i32);
                    self.list(line, 1);
                } else {
                    // Redis says the same of a line that has one already.
                    self.log(b"Wrong line number.".to_vec());
                }
            } else {
                match self
                    .bp
                    .iter()
                    .position(|&b| line.checked_neg() == Some(i64::from(b)))
                {
                    Some(i) => {
                        self.bp.remove(i);
                        self.log(b"Breakpoint removed.".to_vec());
                    }
                    None => self.log(b"No breakpoint in the specified line.".to_vec()),
                }
            }
        }
    }

    /// `maxlen [len]`: shows or sets the trimming length (at least 60, 0
    /// for none).
    fn set_maxlen(&mut self, argv: &[Vec<u8>]) {
        if argv.len() == 2 {
            let mut v = atoi(&argv[1]);
            self.maxlen_hint_sent = true;
            if v != 0 && v <= 60 {
                v = 60;
            }
            self.maxlen = v as usize;
        }
        let line = if self.maxlen != 0 {
            format!("<value> replies are truncated at {} bytes.", self.maxlen)
        } else {
            "<value> replies are unlimited.".to_string()
        };
        self.log(line.into_bytes());
    }

    fn help(&mut self) {
        const HELP: &[&str] = &[
            "Redis Lua debugger help:",
            "[h]elp               Show this help.",
            "[s]tep               Run current line and stop again.",
            "[n]ext               Alias for step.",
            "[c]ontinue           Run till next breakpoint.",
            "[l]ist               List source code around current line.",
            "[l]ist [line]        List source code around [line].",
            "                     line = 0 means: current position.",
            "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
            "                     to show before/after [line].",
            "[w]hole              List all source code. Alias for 'list 1 1000000'.",
            "[p]rint              Show all the local variables.",
            "[p]rint <var>        Show the value of the specified variable.",
            "                     Can also show global vars KEYS and ARGV.",
            "[b]reak              Show all breakpoints.",
            "[b]reak <line>       Add a breakpoint to the specified line.",
            "[b]reak -<line>      Remove breakpoint from the specified line.",
            "[b]reak 0            Remove all breakpoints.",
            "[t]race              Show a backtrace.",
            "[e]val <code>        Execute some Lua code (in a different callframe).",
            "[r]edis <cmd>        Execute a Redis command.",
            "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
            "                     Specifying zero as <len> means unlimited.",
            "[a]bort              Stop the execution of the script. In sync",
            "                     mode dataset changes will be retained.",
            "",
            "Debugger functions you can call from Lua scripts:",
            "redis.debug()        Produce logs in the debugger console.",
            "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
            "                     next line of code.",
        ];
        for l in HELP {
            self.log(l.as_bytes().to_vec());
        }
    }
}

/// C's `atoi`, saturating: leading blanks, a sign, digits; 0 when none.
fn atoi(b: &[u8]) -> i64 {
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let neg = i < b.len() && b[i] == b'-';
    if i < b.len() && matches!(b[i], b'-' | b'+') {
        i += 1;
    }
    let mut n: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add(i64::from(b[i] - b'0'));
        i += 1;
    }
    let n = if neg { -n } else { n };
    n.clamp(i64::from(i32::MIN), i64::from(i32::MAX))
}

/// What the command buffer holds.
#[derive(Debug, PartialEq)]
enum Parsed {
    /// A command, and the bytes it took.
    Command(Vec<Vec<u8>>, usize),
    More,
    /// Not the protocol: the script fails ("protocol error").
    Error,
}

/// Parses one multibulk command the way Redis's `ldbReplParseCommand`
/// does: input before the first `*` is skipped; counts and lengths read
/// like `atoi`; 1..=1024 arguments of 1..=1024 bytes.
fn parse_command(buf: &[u8]) -> Parsed {
    let Some(star) = memchr::memchr(b'*', buf) else {
        return if buf.is_empty() {
            Parsed::More
        } else {
            Parsed::Error
        };
    };
    let parse = || -> Result<Parsed, Parsed> {
        let (argc, mut p) = header(buf, star, b'*')?;
        let mut argv = Vec::with_capacity(argc);
        for _ in 0..argc {
            let (len, start) = header(buf, p, b'$')?;
            let end = start + len;
            if end + 2 > buf.len() {
                return Err(Parsed::More);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(Parsed::Error);
            }
            argv.push(buf[start..end].to_vec());
            p = end + 2;
        }
        Ok(Parsed::Command(argv, p))
    };
    parse().unwrap_or_else(|e| e)
}

/// Reads a `<tag><n>\r\n` header at `at`: n (1..=1024) and where what
/// follows it starts.
fn header(buf: &[u8], at: usize, tag: u8) -> Result<(usize, usize), Parsed> {
    match buf.get(at) {
        None => return Err(Parsed::More),
        Some(&c) if c != tag => return Err(Parsed::Error),
        Some(_) => {}
    }
    let Some(eol) = memchr::memmem::find(&buf[at + 1..], b"\r\n").map(|i| at + 1 + i) else {
        return Err(Parsed::More);
    };
    let n = atoi(&buf[at + 1..eol]);
    if !(1..=1024).contains(&n) {
        return Err(Parsed::Error);
    }
    Ok((n as usize, eol + 2))
}

/// Writes all of `data` to the nonblocking socket `fd`, waiting for it
/// to drain at most `SEND_TIMEOUT_MS` at a time; gives up on an error.
fn write_all(fd: i32, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: `data` is valid for reads of its length.
        let n = unsafe {
            libc::send(
                fd,
                data.as_ptr() as *const libc::c_void,
                data.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n > 0 {
            data = &data[n as usize..];
            continue;
        }
        let e = std::io::Error::last_os_error();
        match e.kind() {
            std::io::ErrorKind::Interrupted => {}
            std::io::ErrorKind::WouldBlock => {
                if !wait_for(fd, libc::POLLOUT, SEND_TIMEOUT_MS) {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// Reads what the client sent into `buf`, blocking until something
/// comes; 0 when the connection is gone.
fn read_blocking(fd: i32, buf: &mut [u8]) -> usize {
    loop {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n >= 0 {
            return n as usize;
        }
        match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::Interrupted => {}
            std::io::ErrorKind::WouldBlock => {
                wait_for(fd, libc::POLLIN, -1);
            }
            _ => return 0,
        }
    }
}

/// Waits until `fd` is ready for `events` (or has an error); false on
/// timeout (`timeout_ms` < 0: none).
fn wait_for(fd: i32, events: i16, timeout_ms: i64) -> bool {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let timeout = timeout_ms.min(i64::from(i32::MAX)) as i32;
    loop {
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, timeout) };
        if r >= 0 {
            return r > 0;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return true;
        }
    }
}

/// What the debugger prompt decided.
enum Repl {
    /// Run the script on (to the next line when stepping).
    Resume,
    /// The client is gone: the script runs on without stops.
    Gone,
    /// Fail the script with this error.
    Raise(&'static str),
}

/// The line and count hook of a session (Redis's `luaLdbLineHook`):
/// stops at breakpoints, after a step, after redis.breakpoint(), and when
/// the script ran past the time limit without a stop.
///
/// # Safety
/// Installed by `install` only; Lua calls it with the running thread.
pub unsafe extern "C-unwind" fn line_hook(l: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) {
    // SAFETY: per the contract.
    let raise = unsafe { on_hook(l, ar) };
    if let Some(msg) = raise {
        // SAFETY: `l` is the running thread; nothing with a destructor is
        // alive in this frame.
        unsafe { raise_error(l, msg) };
    }
}

/// Raises `ERR <msg>` as the script's error.
///
/// # Safety
/// `l` is the running thread.
unsafe fn raise_error(l: *mut ffi::lua_State, msg: &'static str) {
    // SAFETY: per the contract; the stack is grown first.
    unsafe {
        ffi::lua_checkstack(l, 4);
        ffi::lua_createtable(l, 0, 1);
        push_bytes(l, b"ERR ");
        push_bytes(l, msg.as_bytes());
        ffi::lua_concat(l, 2);
        ffi::lua_setfield(l, -2, c"err".as_ptr());
        ffi::lua_error(l);
    }
}

/// The hook's work; Some(message) when the script must fail.
///
/// # Safety
/// As `line_hook`.
unsafe fn on_hook(l: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) -> Option<&'static str> {
    // SAFETY: `ar` is the hook's record; `l` the running thread.
    let (event, line, in_script) = unsafe {
        let event = (*ar).event;
        if ffi::lua_getstack(l, 0, ar) == 0 {
            return None;
        }
        ffi::lua_getinfo(l, c"Sl".as_ptr(), ar);
        (event, (*ar).currentline, is_user_script(&*ar))
    };
    let timeout = with(|s| {
        s.currentline = line;
        if !in_script {
            return None;
        }
        let bp = s.bp.contains(&line) || s.luabp;
        let mut timeout = false;
        if event == ffi::LUA_HOOKCOUNT && !s.step && !bp {
            if crate::util::now_ms() - s.resumed_ms < s.timelimit_ms {
                return None;
            }
            timeout = true;
            s.step = true;
        }
        if !s.step && !bp {
            return None;
        }
        let reason = if bp {
            if s.luabp {
                "redis.breakpoint() called"
            } else {
                "break point"
            }
        } else if timeout {
            "timeout reached, infinite loop?"
        } else {
            "step over"
        };
        s.step = false;
        s.luabp = false;
        s.log(format!("* Stopped at {line}, stop reason = {reason}").into_bytes());
        s.log_source_line(line);
        s.send_logs();
        Some(timeout)
    })
    .flatten()?;
    // SAFETY: as above.
    let r = unsafe { repl(l) };
    with(|s| s.resumed_ms = crate::util::now_ms());
    match r {
        Repl::Resume => None,
        // Nobody will ever step this script out of its loop.
        Repl::Gone if timeout => {
            Some("timeout during Lua debugging with client closing connection")
        }
        Repl::Gone => None,
        Repl::Raise(m) => Some(m),
    }
}

/// Whether the frame described by `ar` runs the user's script.
fn is_user_script(ar: &ffi::lua_Debug) -> bool {
    // SAFETY: lua_getinfo wrote a NUL-terminated `short_src`.
    let src = unsafe { CStr::from_ptr(ar.short_src.as_ptr()) };
    memchr::memmem::find(src.to_bytes(), b"user_script").is_some()
}

/// Reads the next whole command, from the buffer or the socket.
fn next_command() -> Result<Vec<Vec<u8>>, Repl> {
    loop {
        let parsed = with(|s| {
            let p = parse_command(&s.cbuf);
            if let Parsed::Command(_, used) = &p {
                s.cbuf.drain(..*used);
            }
            p
        });
        match parsed {
            Some(Parsed::Command(argv, _)) => return Ok(argv),
            Some(Parsed::Error) => return Err(Repl::Raise("protocol error")),
            Some(Parsed::More) => {}
            None => return Err(Repl::Gone),
        }
        let fd = with(|s| s.fd).ok_or(Repl::Gone)?;
        let mut buf = [0u8; 1024];
        let n = read_blocking(fd, &mut buf);
        let full = with(|s| {
            if n == 0 {
                // The script runs on without the client.
                s.step = false;
                s.bp.clear();
                return None;
            }
            s.cbuf.extend_from_slice(&buf[..n]);
            Some(s.cbuf.len() > CBUF_MAX)
        })
        .flatten();
        match full {
            None => return Err(Repl::Gone),
            Some(true) => {
                with(|s| s.cbuf = Vec::new());
                return Err(Repl::Raise("max client buffer reached"));
            }
            Some(false) => {}
        }
    }
}

fn is(name: &[u8], short: &str, long: &str) -> bool {
    name.eq_ignore_ascii_case(short.as_bytes()) || name.eq_ignore_ascii_case(long.as_bytes())
}

/// The debugger prompt (Redis's `ldbRepl`): runs commands until one
/// resumes the script.
///
/// # Safety
/// `l` is the running thread, inside the hook.
unsafe fn repl(l: *mut ffi::lua_State) -> Repl {
    loop {
        let argv = match next_command() {
            Ok(a) => a,
            Err(r) => return r,
        };
        let name = &argv[0][..];
        if is(name, "s", "step") || is(name, "n", "next") {
            with(|s| s.step = true);
            return Repl::Resume;
        } else if is(name, "c", "continue") {
            return Repl::Resume;
        } else if is(name, "a", "abort") {
            return Repl::Raise("script aborted for user request");
        } else if is(name, "h", "help") {
            with(|s| s.help());
        } else if is(name, "t", "trace") {
            // SAFETY: per the contract.
            unsafe { trace(l) };
        } else if is(name, "m", "maxlen") {
            with(|s| s.set_maxlen(&argv));
        } else if is(name, "b", "break") {
            with(|s| s.breakpoints(&argv));
        } else if is(name, "e", "eval") {
            // SAFETY: per the contract.
            unsafe { eval(l, &argv) };
        } else if argv.len() > 1 && is(name, "r", "redis") {
            // SAFETY: per the contract.
            unsafe { redis(l, &argv) };
        } else if is(name, "p", "print") {
            // SAFETY: per the contract.
            unsafe {
                if argv.len() == 2 {
                    print_var(l, &argv[1]);
                } else {
                    print_all(l);
                }
            }
        } else if is(name, "l", "list") {
            with(|s| {
                let mut around = i64::from(s.currentline);
                if let Some(a) = argv.get(1).map(|a| atoi(a))
                    && a > 0
                {
                    around = a;
                }
                let context = argv.get(2).map_or(5, |a| atoi(a));
                s.list(around, context);
            });
        } else if is(name, "w", "whole") {
            with(|s| s.list(1, 1_000_000));
        } else {
            with(|s| s.log(UNKNOWN_COMMAND.as_bytes().to_vec()));
        }
        with(|s| s.send_logs());
    }
}

/// `trace`: the script's frames, innermost first.
///
/// # Safety
/// As `repl`.
unsafe fn trace(l: *mut ffi::lua_State) {
    // SAFETY: lua_Debug is plain data; getstack/getinfo fill it.
    let mut ar: ffi::lua_Debug = unsafe { std::mem::zeroed() };
    let mut level = 0;
    // SAFETY: as above.
    while unsafe { ffi::lua_getstack(l, level, &mut ar) } != 0 {
        // SAFETY: as above.
        unsafe { ffi::lua_getinfo(l, c"Snl".as_ptr(), &mut ar) };
        if is_user_script(&ar) {
            let name = if ar.name.is_null() {
                "top level".to_string()
            } else {
                // SAFETY: a NUL-terminated name from lua_getinfo.
                unsafe { CStr::from_ptr(ar.name) }
                    .to_string_lossy()
                    .into_owned()
            };
            let word = if level == 0 { "In" } else { "From" };
            let line = ar.currentline;
            with(|s| {
                s.log(format!("{word} {name}:").into_bytes());
                s.log_source_line(line);
            });
        }
        level += 1;
    }
    if level == 0 {
        with(|s| s.log(b"<error> Can't retrieve Lua stack.".to_vec()));
    }
}

/// Logs the value on top of the stack after `prefix`, trimmed to maxlen.
///
/// # Safety
/// `l` is the running thread with a value on top.
unsafe fn log_top(l: *mut ffi::lua_State, prefix: &[u8]) {
    let cap = with(|s| s.cap()).unwrap_or(UNLIMITED_CAP);
    let mut line = prefix.to_vec();
    // SAFETY: per the contract.
    unsafe { cat_value(l, -1, 0, &mut line, cap) };
    with(|s| s.log_max(line));
}

/// Calls `f` with the name of each local of the frame `ar` describes,
/// its value on top of the stack meanwhile; true when `f` asked to stop.
///
/// # Safety
/// As `repl`, with two free stack slots; `ar` filled by lua_getstack.
unsafe fn each_local(
    l: *mut ffi::lua_State,
    ar: &ffi::lua_Debug,
    mut f: impl FnMut(&[u8]) -> bool,
) -> bool {
    let mut i = 1;
    loop {
        // SAFETY: per the contract; the value pushed is popped.
        unsafe {
            let n = ffi::lua_getlocal(l, ar, i);
            if n.is_null() {
                return false;
            }
            let stop = f(CStr::from_ptr(n).to_bytes());
            ffi::lua_settop(l, -2);
            if stop {
                return true;
            }
        }
        i += 1;
    }
}

/// `print <var>`: the innermost local of that name, or the KEYS / ARGV
/// globals.
///
/// # Safety
/// As `repl`.
unsafe fn print_var(l: *mut ffi::lua_State, name: &[u8]) {
    // SAFETY: as in `trace`; what is pushed is popped.
    unsafe {
        if ffi::lua_checkstack(l, 4) == 0 {
            return;
        }
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        let mut level = 0;
        while ffi::lua_getstack(l, level, &mut ar) != 0 {
            level += 1;
            let found = each_local(l, &ar, |n| {
                if n != name {
                    return false;
                }
                log_top(l, b"<value> ");
                true
            });
            if found {
                return;
            }
        }
        if name == b"KEYS" || name == b"ARGV" {
            ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, GLOBALS_KEY.as_ptr());
            if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
                push_bytes(l, name);
                ffi::lua_rawget(l, -2);
                log_top(l, b"<value> ");
                ffi::lua_settop(l, -2);
            }
            ffi::lua_settop(l, -2);
        } else {
            with(|s| s.log(b"No such variable.".to_vec()));
        }
    }
}

/// `print`: the locals of the current frame.
///
/// # Safety
/// As `repl`.
unsafe fn print_all(l: *mut ffi::lua_State) {
    let mut vars = 0;
    // SAFETY: as in `print_var`.
    unsafe {
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        if ffi::lua_checkstack(l, 4) != 0 && ffi::lua_getstack(l, 0, &mut ar) != 0 {
            each_local(l, &ar, |n| {
                if memchr::memmem::find(n, b"(*temporary)").is_none() {
                    let mut prefix = b"<value> ".to_vec();
                    prefix.extend_from_slice(n);
                    prefix.extend_from_slice(b" = ");
                    log_top(l, &prefix);
                    vars += 1;
                }
                false
            });
        }
    }
    if vars == 0 {
        with(|s| s.log(b"No local variables in the current context.".to_vec()));
    }
}

/// `eval <code>`: runs the code (as an expression if it compiles as one)
/// in its own frame with the script's globals, and shows its result.
///
/// # Safety
/// As `repl`.
unsafe fn eval(l: *mut ffi::lua_State, argv: &[Vec<u8>]) {
    let code = argv[1..].join(&b' ');
    let mut expr = b"return ".to_vec();
    expr.extend_from_slice(&code);
    // SAFETY: the stack is grown first; the chunk and its result are
    // popped.
    unsafe {
        if ffi::lua_checkstack(l, 4) == 0 {
            return;
        }
        let load = |b: &[u8]| {
            ffi::luaL_loadbuffer(l, b.as_ptr() as *const _, b.len(), c"@ldb_eval".as_ptr())
        };
        if load(&expr) != 0 {
            ffi::lua_settop(l, -2);
            if load(&code) != 0 {
                log_error_top(l);
                return;
            }
        }
        // The chunk sees what the script sees.
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        if ffi::lua_getstack(l, 0, &mut ar) != 0 && ffi::lua_getinfo(l, c"f".as_ptr(), &mut ar) != 0
        {
            ffi::lua_getfenv(l, -1);
            ffi::lua_remove(l, -2);
            if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
                ffi::lua_setfenv(l, -2);
            } else {
                ffi::lua_settop(l, -2);
            }
        }
        if ffi::lua_pcall(l, 0, 1, 0) != 0 {
            log_error_top(l);
            return;
        }
        log_top(l, b"<retval> ");
        ffi::lua_settop(l, -2);
    }
}

/// Logs the error on top of the stack as `<error> ...` and pops it; an
/// error reply table shows its message.
///
/// # Safety
/// `l` is the running thread with the error on top.
unsafe fn log_error_top(l: *mut ffi::lua_State) {
    // SAFETY: per the contract.
    unsafe {
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            ffi::lua_getfield(l, -1, c"err".as_ptr());
            ffi::lua_remove(l, -2);
        }
        let mut line = b"<error> ".to_vec();
        if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
            let mut len = 0;
            let p = ffi::lua_tolstring(l, -1, &mut len);
            line.extend_from_slice(std::slice::from_raw_parts(p as *const u8, len));
        } else {
            line.extend_from_slice(b"(error object is not a string)");
        }
        ffi::lua_settop(l, -2);
        with(|s| s.log(line));
    }
}

/// `redis <cmd> ...`: runs the command through redis.call, stepping, so
/// that the command and its reply are logged.
///
/// # Safety
/// As `repl`.
unsafe fn redis(l: *mut ffi::lua_State, argv: &[Vec<u8>]) {
    // SAFETY: the stack is grown first; the result is popped.
    unsafe {
        if ffi::lua_checkstack(l, argv.len() as c_int + 1) == 0 {
            with(|s| s.log_max(b"<reply> ".to_vec()));
            return;
        }
        ffi::lua_pushcfunction(l, super::lua_redis_call);
        for a in &argv[1..] {
            push_bytes(l, a);
        }
        with(|s| s.step = true);
        ffi::lua_pcall(l, argv.len() as c_int - 1, 1, 0);
        with(|s| s.step = false);
        ffi::lua_settop(l, -2);
    }
}

/// Appends a readable form of the Lua value at `idx` to `out` (Redis's
/// `ldbCatStackValueRec`): strings quoted, numbers as `%g`, arrays as
/// `{a; b}`, other tables as `{[k]=v; ...}`. Stops adding once `out` is
/// past `cap` bytes.
///
/// # Safety
/// `l` is a Lua thread and `idx` a valid index.
unsafe fn cat_value(
    l: *mut ffi::lua_State,
    idx: c_int,
    level: usize,
    out: &mut Vec<u8>,
    cap: usize,
) {
    if out.len() > cap {
        return;
    }
    if level == MAX_VALUES_DEPTH {
        out.extend_from_slice(b"<max recursion level reached! Nested table?>");
        return;
    }
    // SAFETY: per the contract.
    unsafe {
        let idx = if idx < 0 && idx > ffi::LUA_REGISTRYINDEX {
            ffi::lua_gettop(l) + idx + 1
        } else {
            idx
        };
        match ffi::lua_type(l, idx) {
            ffi::LUA_TSTRING => {
                let mut len = 0;
                let p = ffi::lua_tolstring(l, idx, &mut len);
                let s = std::slice::from_raw_parts(p as *const u8, len);
                // Past the cap the rest would be cut anyway.
                let keep = (cap + 1).saturating_sub(out.len()).min(s.len());
                crate::util::cat_repr(out, &s[..keep]);
            }
            ffi::LUA_TBOOLEAN => out.extend_from_slice(if ffi::lua_toboolean(l, idx) != 0 {
                b"true"
            } else {
                b"false"
            }),
            ffi::LUA_TNUMBER => {
                out.extend_from_slice(crate::util::fmt_g(ffi::lua_tonumber(l, idx), 6).as_bytes())
            }
            ffi::LUA_TNIL => out.extend_from_slice(b"nil"),
            ffi::LUA_TTABLE => cat_table(l, idx, level + 1, out, cap),
            t => {
                let kind = match t {
                    ffi::LUA_TFUNCTION => "function",
                    ffi::LUA_TUSERDATA => "userdata",
                    ffi::LUA_TTHREAD => "thread",
                    ffi::LUA_TLIGHTUSERDATA => "light-userdata",
                    _ => {
                        out.extend_from_slice(b"\"<unknown-lua-type>\"");
                        return;
                    }
                };
                let p = ffi::lua_topointer(l, idx);
                out.extend_from_slice(format!("\"{kind}@{p:p}\"").as_bytes());
            }
        }
    }
}

/// The table at (absolute) `idx`: as an array when its keys are 1, 2, 3...
/// in iteration order, else as `[k]=v` pairs. Output goes straight to
/// `out`, redone once in pair form when a key breaks the array.
///
/// # Safety
/// As `cat_value`.
unsafe fn cat_table(
    l: *mut ffi::lua_State,
    idx: c_int,
    level: usize,
    out: &mut Vec<u8>,
    cap: usize,
) {
    // SAFETY: per the contract; every lua_next push is popped.
    unsafe {
        if ffi::lua_checkstack(l, 3) == 0 {
            out.extend_from_slice(b"<max recursion level reached! Nested table?>");
            return;
        }
        out.push(b'{');
        let body = out.len();
        let mut expected = 1.0;
        let mut array = true;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, idx) != 0 {
            if ffi::lua_type(l, -2) != ffi::LUA_TNUMBER || ffi::lua_tonumber(l, -2) != expected {
                array = false;
                ffi::lua_settop(l, -3);
                break;
            }
            // Past the cap the keys are still checked: they decide the form.
            if out.len() <= cap {
                cat_value(l, -1, level, out, cap);
                out.extend_from_slice(b"; ");
            }
            ffi::lua_settop(l, -2);
            expected += 1.0;
        }
        if !array {
            out.truncate(body);
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, idx) != 0 {
                if out.len() > cap {
                    ffi::lua_settop(l, -3);
                    break;
                }
                out.push(b'[');
                cat_value(l, -2, level, out, cap);
                out.extend_from_slice(b"]=");
                cat_value(l, -1, level, out, cap);
                out.extend_from_slice(b"; ");
                ffi::lua_settop(l, -2);
            }
        }
        if out.len() > body {
            out.truncate(out.len() - 2);
        }
        out.push(b'}');
    }
}

/// Appends a readable form of the RESP reply at `pos` (Redis's
/// `ldbRedisProtocolToHuman`); stops on malformed input or once `out` is
/// past `cap`.
fn human_reply(out: &mut Vec<u8>, buf: &[u8], pos: &mut usize, depth: usize, cap: usize) {
    if out.len() > cap || depth > super::MAX_DEPTH || *pos >= buf.len() {
        return;
    }
    let start = *pos;
    let Some(eol) = memchr::memchr(b'\r', &buf[start..]).map(|i| start + i) else {
        *pos = buf.len();
        return;
    };
    let t = buf[start];
    let line = &buf[start + 1..eol];
    *pos = (eol + 2).min(buf.len());
    let n = crate::util::parse_i64(line).unwrap_or(0);
    let mut items = |open: &[u8], sep: &[u8], close: &[u8], pairs: bool| {
        out.extend_from_slice(open);
        for j in 0..n.max(0) {
            if out.len() > cap || *pos >= buf.len() {
                break;
            }
            human_reply(out, buf, pos, depth + 1, cap);
            if pairs {
                out.extend_from_slice(b" => ");
                human_reply(out, buf, pos, depth + 1, cap);
            }
            if j != n - 1 {
                out.extend_from_slice(sep);
            }
        }
        out.extend_from_slice(close);
    };
    match t {
        b':' | b'(' => out.extend_from_slice(line),
        b'$' | b'=' if n < 0 => out.extend_from_slice(b"NULL"),
        b'$' | b'=' => {
            let end = pos.saturating_add(n as usize).min(buf.len());
            let body = &buf[*pos..end];
            let keep = (cap + 1).saturating_sub(out.len()).min(body.len());
            crate::util::cat_repr(out, &body[..keep]);
            *pos = end + 2;
        }
        b'+' | b'-' => crate::util::cat_repr(out, &buf[start..eol]),
        b'*' | b'>' if n < 0 => out.extend_from_slice(b"NULL"),
        b'*' | b'>' => items(b"[", b",", b"]", false),
        b'~' => items(b"~(", b",", b")", false),
        b'%' | b'|' => items(b"{", b",", b"}", true),
        b'_' => out.extend_from_slice(b"(null)"),
        b'#' => out.extend_from_slice(if line.first() == Some(&b't') {
            b"#true"
        } else {
            b"#false"
        }),
        b',' => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(line);
        }
        _ => {}
    }
}

/// Hooks the session onto the thread `l` about to run the script, and
/// keeps the script globals (at `globals`) for `print KEYS`.
///
/// # Safety
/// `l` is a running Lua thread; `globals` a valid index.
pub unsafe fn install(l: *mut ffi::lua_State, globals: c_int) {
    // SAFETY: per the contract.
    unsafe {
        ffi::lua_pushvalue(l, globals);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, GLOBALS_KEY.as_ptr());
        ffi::lua_sethook(
            l,
            Some(line_hook),
            ffi::LUA_MASKLINE | ffi::LUA_MASKCOUNT,
            100_000,
        );
    }
}

/// Undoes `install`.
///
/// # Safety
/// As `install`.
pub unsafe fn uninstall(l: *mut ffi::lua_State) {
    // SAFETY: per the contract.
    unsafe {
        ffi::lua_sethook(l, None, 0, 0);
        ffi::lua_pushnil(l);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, GLOBALS_KEY.as_ptr());
    }
}

/// redis.breakpoint(): during a session, stop at the next line as if it
/// had a breakpoint; true when there is a session.
///
/// # Safety
/// Called by Lua as a C function.
pub unsafe extern "C-unwind" fn lua_breakpoint(l: *mut ffi::lua_State) -> c_int {
    let on = with(|s| s.luabp = true).is_some();
    // SAFETY: a C function has a free stack slot for its result.
    unsafe { ffi::lua_pushboolean(l, on as c_int) };
    1
}

/// redis.debug(v, ...): logs `<debug> line N: v, ...` during a session.
///
/// # Safety
/// Called by Lua as a C function.
pub unsafe extern "C-unwind" fn lua_debug(l: *mut ffi::lua_State) -> c_int {
    let Some(line) = with(|s| s.currentline) else {
        return 0;
    };
    let mut out = format!("<debug> line {line}: ").into_bytes();
    // SAFETY: the arguments are at 1..=n.
    unsafe {
        let n = ffi::lua_gettop(l);
        for i in 1..=n {
            cat_value(l, i, 0, &mut out, UNLIMITED_CAP);
            if i != n {
                out.extend_from_slice(b", ");
            }
        }
    }
    with(|s| s.log(out));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(parts: &[&[u8]]) -> Vec<u8> {
        let mut b = format!("*{}\r\n", parts.len()).into_bytes();
        for p in parts {
            b.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
            b.extend_from_slice(p);
            b.extend_from_slice(b"\r\n");
        }
        b
    }

    #[test]
    fn parses_commands_as_redis_does() {
        let b = cmd(&[b"print", b"x"]);
        assert_eq!(
            parse_command(&b),
            Parsed::Command(vec![b"print".to_vec(), b"x".to_vec()], b.len())
        );
        for cut in 1..b.len() {
            assert_eq!(parse_command(&b[..cut]), Parsed::More, "{cut}");
        }
        // Leading garbage before the '*' is skipped.
        let mut g = b"xx".to_vec();
        g.extend_from_slice(&b);
        assert!(matches!(parse_command(&g), Parsed::Command(..)));
        assert_eq!(parse_command(b"PING\r\n"), Parsed::Error);
        assert_eq!(parse_command(b"*0\r\n"), Parsed::Error);
        assert_eq!(parse_command(b"*1025\r\n"), Parsed::Error);
        assert_eq!(parse_command(b"*1\r\n$0\r\n\r\n"), Parsed::Error);
        assert_eq!(parse_command(b"*1\r\n$1025\r\n"), Parsed::Error);
        assert_eq!(parse_command(b"*1\r\n:1\r\n"), Parsed::Error);
        assert_eq!(parse_command(b"*1\r\n$1\r\nab\r\n"), Parsed::Error);
        let nul = cmd(&[b"hello\0world"]);
        assert!(matches!(parse_command(&nul), Parsed::Command(a, _) if a[0] == b"hello\0world"));
    }

    #[test]
    fn atoi_is_lenient() {
        assert_eq!(atoi(b"12"), 12);
        assert_eq!(atoi(b" -3x"), -3);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"99999999999999999999"), i64::from(i32::MAX));
    }

    fn human(resp: &[u8], cap: usize) -> String {
        let mut out = Vec::new();
        let mut pos = 0;
        human_reply(&mut out, resp, &mut pos, 0, cap);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn replies_read_as_redis_shows_them() {
        assert_eq!(human(b"+OK\r\n", 256), "\"+OK\"");
        assert_eq!(human(b"-ERR no\r\n", 256), "\"-ERR no\"");
        assert_eq!(human(b":42\r\n", 256), "42");
        assert_eq!(human(b"$-1\r\n", 256), "NULL");
        assert_eq!(human(b"$3\r\na\nb\r\n", 256), "\"a\\nb\"");
        assert_eq!(
            human(b"*3\r\n$1\r\na\r\n:1\r\n*-1\r\n", 256),
            "[\"a\",1,NULL]"
        );
        assert_eq!(
            human(b"%1\r\n$1\r\nk\r\n,1.5\r\n", 256),
            "{\"k\" => (double) 1.5}"
        );
        assert_eq!(human(b"~1\r\n#t\r\n", 256), "~(#true)");
        assert_eq!(human(b"_\r\n", 256), "(null)");
        // Truncated or hostile input stops without panicking.
        assert_eq!(human(b"*5\r\n:1\r\n", 256), "[1,]");
        assert_eq!(human(b"$10\r\nab", 256), "\"ab\"");
        assert!(human(b"*1000000\r\n", 10).len() < 100);
    }

    /// Dumps a Lua value built by `code`.
    fn dump(code: &str, cap: usize) -> String {
        let lua = mlua::Lua::new();
        let v: mlua::Value = lua.load(code).eval().unwrap();
        lua.globals().set("v", v).unwrap();
        unsafe extern "C-unwind" fn run(l: *mut ffi::lua_State) -> c_int {
            // SAFETY: test callback; v and the cap are its arguments.
            unsafe {
                let cap = ffi::lua_tonumber(l, 2) as usize;
                let mut out = Vec::new();
                cat_value(l, 1, 0, &mut out, cap);
                push_bytes(l, &out);
            }
            1
        }
        // SAFETY: `run` keeps to the C API contract.
        let f = unsafe { lua.create_c_function(run) }.unwrap();
        let v: mlua::Value = lua.globals().get("v").unwrap();
        let s: mlua::String = f.call((v, cap as f64)).unwrap();
        String::from_utf8_lossy(&s.as_bytes()).into_owned()
    }

    #[test]
    fn values_dump_as_redis_shows_them() {
        assert_eq!(dump("return 'a\"b'", 256), "\"a\\\"b\"");
        assert_eq!(dump("return 3.5", 256), "3.5");
        assert_eq!(dump("return 1/3", 256), "0.333333");
        assert_eq!(dump("return {1, 'x', true}", 256), "{1; \"x\"; true}");
        assert_eq!(dump("return {}", 256), "{}");
        assert_eq!(dump("return {a = 1}", 256), "{[\"a\"]=1}");
        assert_eq!(dump("return {1, {2, {}}}", 256), "{1; {2; {}}}");
        let deep = dump("local t = {} t[1] = t return t", 4096);
        assert!(deep.contains("<max recursion level reached! Nested table?>"));
        assert!(dump("return function() end", 256).starts_with("\"function@0x"));
        // A wide table that holds itself stops at the cap.
        let wide = dump("local t = {} for i = 1, 1000 do t[i] = t end return t", 300);
        assert!(wide.len() < 2000, "{}", wide.len());
    }
}
