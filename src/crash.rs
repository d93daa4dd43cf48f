//! Crash reports, as Redis's bug report prints them: on a fatal signal
//! (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), on DEBUG SEGFAULT and
//! DEBUG ASSERT, and on a panic, the log gets the cause, a stack trace and
//! what the server was doing; SIGALRM (sent by hand, or by the software
//! watchdog when the event loop stalls for `watchdog-period` ms) logs a
//! stack trace and carries on.
//!
//! Signal handlers cannot take the logger's lock (the interrupted code may
//! hold it), so everything here writes straight to the log's descriptor.
//! Resolving the stack trace's symbol names allocates, though: a SIGALRM
//! that lands inside the allocator could hang the process, which is why
//! the watchdog, like Redis's, is a debugging aid and off by default.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the report says the server was doing: the current client and the
/// INFO text, left here by commands that crash on purpose (DEBUG SEGFAULT,
/// DEBUG ASSERT). A handler only reads it if nobody holds the lock.
static CONTEXT: Mutex<Option<String>> = Mutex::new(None);

/// `hide-user-data-from-log`: no stack contents (they may hold keys and
/// values) in a report.
pub static HIDE_USER_DATA: AtomicBool = AtomicBool::new(false);

/// `use-exit-on-panic`: exit(1) after a failed assertion instead of
/// aborting (no core dump).
pub static EXIT_ON_PANIC: AtomicBool = AtomicBool::new(false);

/// Set once a report has started: a second fault while writing one must
/// not write another.
static REPORTING: AtomicBool = AtomicBool::new(false);

/// Set by the first SIGINT (Redis's `shutdown_asap`), cleared when that
/// shutdown does not go ahead: a second SIGINT meanwhile means "exit now".
pub static SHUTDOWN_ASAP: AtomicBool = AtomicBool::new(false);

/// The foreground save's temp file (`temp-<pid>.rdb`), which an insisted
/// shutdown removes.
static TEMP_RDB: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();

/// A second SIGINT while a shutdown is under way (say, during its save)
/// ends the process at once, without the temp file, as Redis does. This
/// runs beside the event loop's own SIGINT delivery.
fn install_insist_handler() {
    let _ = TEMP_RDB.set(
        std::ffi::CString::new(format!("temp-{}.rdb", std::process::id())).unwrap_or_default(),
    );
    let insist = || {
        if SHUTDOWN_ASAP.swap(true, Ordering::SeqCst) {
            crate::logging::write_raw(b"You insist... exiting now.\n");
            if let Some(p) = TEMP_RDB.get() {
                // SAFETY: unlink(2) and _exit(2) are async-signal-safe.
                unsafe {
                    libc::unlink(p.as_ptr());
                }
            }
            // SAFETY: as above.
            unsafe { libc::_exit(1) };
        }
    };
    // SAFETY: the closure only touches atomics and async-signal-safe calls.
    let _ = unsafe { signal_hook::low_level::register(libc::SIGINT, insist) };
}

/// Installs the handlers. `crash-log-enabled no` leaves fatal signals to
/// their default action; SIGALRM is always handled (the watchdog needs it).
pub fn install(crash_log: bool) {
    // SAFETY: plain sigaction calls with handlers of the SA_SIGINFO shape.
    unsafe {
        if crash_log {
            for sig in [
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGFPE,
                libc::SIGILL,
                libc::SIGABRT,
            ] {
                set_handler(
                    sig,
                    on_fatal as *const () as usize,
                    libc::SA_NODEFER | libc::SA_RESETHAND,
                );
            }
        }
        set_handler(libc::SIGALRM, on_alarm as *const () as usize, 0);
    }
    install_insist_handler();
    let default_hook = std::panic::take_hook();
    // A panic on a helper thread (a snapshot) is reported but not fatal:
    // it leaves REPORTING alone, so a later crash still gets its report.
    std::panic::set_hook(Box::new(move |p| {
        if !REPORTING.load(Ordering::SeqCst) {
            report_start();
            log_raw(&format!("Redis {} panicked: {p}", crate::REDIS_VERSION));
            stack_trace();
            report_end();
        }
        default_hook(p);
    }));
}

unsafe fn set_handler(sig: libc::c_int, handler: usize, flags: libc::c_int) {
    // SAFETY: a zeroed sigaction is a valid starting point; fields set below.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        libc::sigemptyset(&mut act.sa_mask);
        act.sa_flags = libc::SA_SIGINFO | flags;
        act.sa_sigaction = handler;
        libc::sigaction(sig, &act, std::ptr::null_mut());
    }
}

/// Whether the watchdog's timer is armed.
static WATCHDOG_ARMED: AtomicBool = AtomicBool::new(false);

/// The cron's part of the software watchdog: with `watchdog-period` set,
/// re-arms the timer (at least two cron periods, as Redis), so it only
/// fires if the event loop stalls that long; with 0, stops it once.
pub fn watchdog_tick(period_ms: i64, hz: i64) {
    if period_ms > 0 {
        watchdog_schedule(period_ms.max(2 * (1000 / hz.max(1))));
        WATCHDOG_ARMED.store(true, Ordering::Relaxed);
    } else if WATCHDOG_ARMED.swap(false, Ordering::Relaxed) {
        watchdog_schedule(0);
    }
}

/// Arms (or with 0 stops) the timer: SIGALRM after `period_ms`.
fn watchdog_schedule(period_ms: i64) {
    let it = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: (period_ms / 1000) as libc::time_t,
            tv_usec: ((period_ms % 1000) * 1000) as libc::suseconds_t,
        },
    };
    // SAFETY: setitimer with a valid itimerval.
    unsafe {
        libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut());
    }
}

/// Leaves the client and INFO text for a report that is about to happen.
pub fn set_context(text: String) {
    if let Ok(mut c) = CONTEXT.lock() {
        *c = Some(text);
    }
}

/// One log line, written without the logger's lock.
fn log_raw(msg: &str) {
    let line = crate::logging::format_line(log::Level::Warn, msg);
    crate::logging::write_raw(line.as_bytes());
}

fn report_start() {
    crate::logging::write_raw(
        b"\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n",
    );
}

fn report_end() {
    crate::logging::write_raw(
        b"\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n       \
          Please report the crash to the redis-rust project with this report.\n\n",
    );
}

fn stack_trace() {
    crate::logging::write_raw(b"\n------ STACK TRACE ------\n");
    let bt = std::backtrace::Backtrace::force_capture();
    crate::logging::write_raw(format!("{bt}").as_bytes());
    crate::logging::write_raw(b"\n------ STACK TRACE DONE ------\n");
}

/// The context left by `set_context`, unless its lock is taken.
fn context() {
    let text = CONTEXT.try_lock().ok().and_then(|c| c.clone());
    if let Some(t) = text {
        crate::logging::write_raw(t.as_bytes());
    }
    if HIDE_USER_DATA.load(Ordering::Relaxed) {
        log_raw("hide-user-data-from-log is on, skip logging stack content to avoid spilling PII.");
    }
}

extern "C" fn on_fatal(sig: libc::c_int, info: *mut libc::siginfo_t, _uc: *mut libc::c_void) {
    if !REPORTING.swap(true, Ordering::SeqCst) {
        report_start();
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let (code, addr, pid, uid) = unsafe {
            let i = &*info;
            (i.si_code, i.si_addr() as usize, i.si_pid(), i.si_uid())
        };
        log_raw(&format!(
            "Redis {} crashed by signal: {sig}, si_code: {code}",
            crate::REDIS_VERSION
        ));
        if sig == libc::SIGSEGV || sig == libc::SIGBUS {
            log_raw(&format!("Accessing address: {addr:#x}"));
        }
        if code == libc::SI_USER || code == libc::SI_TKILL {
            log_raw(&format!("Killed by PID: {pid}, UID: {uid}"));
        }
        stack_trace();
        context();
        report_end();
    }
    // Die of the same signal, for the core dump and the exit status.
    // SAFETY: resetting to the default action and re-raising.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

extern "C" fn on_alarm(_sig: libc::c_int, info: *mut libc::siginfo_t, _uc: *mut libc::c_void) {
    // SAFETY: as in on_fatal. A timer's SIGALRM has no sender.
    let pid = unsafe { (*info).si_pid() };
    if pid == 0 {
        crate::logging::write_raw(b"\n--- WATCHDOG TIMER EXPIRED ---\n");
    } else {
        crate::logging::write_raw(b"\nReceived SIGALRM\n");
    }
    stack_trace();
    crate::logging::write_raw(b"--------\n");
}

/// DEBUG ASSERT: a failed assertion's report, then exit(1) or abort as
/// `use-exit-on-panic` says.
pub fn assertion_failed(file: &str, line: u32, expr: &str) -> ! {
    REPORTING.store(true, Ordering::SeqCst);
    report_start();
    log_raw("=== ASSERTION FAILED ===");
    log_raw(&format!("==> {file}:{line} '{expr}' is not true"));
    stack_trace();
    context();
    report_end();
    if EXIT_ON_PANIC.load(Ordering::Relaxed) {
        std::process::exit(1);
    }
    // SAFETY: default SIGABRT action, then abort.
    unsafe {
        libc::signal(libc::SIGABRT, libc::SIG_DFL);
    }
    std::process::abort();
}

/// DEBUG SEGFAULT: a real invalid write (to a read-only page), so the
/// report comes from the SIGSEGV handler as for any crash.
pub fn segfault() -> ! {
    // SAFETY: maps one read-only page and writes to it, which faults; the
    // handler then ends the process.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        ) as *mut u8;
        std::ptr::write_volatile(p, b'x');
        libc::raise(libc::SIGSEGV);
    }
    std::process::abort();
}
