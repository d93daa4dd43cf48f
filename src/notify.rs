//! systemd's notification protocol (sd_notify(3)), without libsystemd:
//! newline-separated `NAME=value` lines in one datagram to the unix socket
//! named by `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
//!
//! With `supervised systemd` (or `auto` when `$NOTIFY_SOCKET` is set) the
//! server tells its supervisor, as Redis 8.0 does:
//! - `STATUS=Redis is loading...` at start, then `STATUS=` lines with the
//!   keys loaded so far (every million keys and at least every second);
//! - `STATUS=Ready to accept connections` and `READY=1` once the dataset is
//!   loaded and the listeners accept;
//! - `STOPPING=1` when a shutdown begins, `STATUS=Saving the final RDB
//!   snapshot` while it saves, and a `STATUS=` line if it cannot exit;
//! - `RELOADING=1` (with `MONOTONIC_USEC=`, as systemd 253 asks) before
//!   DEBUG RELOAD empties the dataset, `READY=1` once it is back.
//!
//! The target is fixed at startup (`supervised` is immutable), so it lives
//! in a process-wide cell that every path (startup, shutdown, DEBUG) reads.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The socket and where to send; None when not supervised by systemd.
static TARGET: OnceLock<Option<(UnixDatagram, SocketAddr)>> = OnceLock::new();

/// Whether `supervised <mode>` means systemd, given the environment: as
/// Redis's `redisIsSupervised`, `systemd` or `auto` with `$NOTIFY_SOCKET`
/// set. Decided before daemonizing, which supervision rules out.
pub fn wants_systemd(mode: &str) -> bool {
    matches!(mode, "systemd" | "auto") && std::env::var_os("NOTIFY_SOCKET").is_some()
}

/// Opens the notification socket when `wants_systemd(mode)`, and sends
/// Redis's first status line. Returns whether the server is supervised.
/// Call once logging is up: it logs what Redis logs.
pub fn init(mode: &str) -> bool {
    if !matches!(mode, "systemd" | "auto") {
        return false;
    }
    let target = TARGET.get_or_init(open);
    if target.is_none() {
        if mode == "systemd" {
            log::warn!("systemd supervision error: NOTIFY_SOCKET not found!");
        }
        return false;
    }
    send("STATUS=Redis is loading...\n");
    log::info!(
        "Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit."
    );
    true
}

fn open() -> Option<(UnixDatagram, SocketAddr)> {
    let path = std::env::var("NOTIFY_SOCKET").ok()?;
    let addr = match path.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes()).ok()?
        }
        None if path.starts_with('/') => SocketAddr::from_pathname(&path).ok()?,
        None => return None,
    };
    let sock = UnixDatagram::unbound().ok()?;
    Some((sock, addr))
}

/// Whether notifications go anywhere (`init` found a socket).
pub fn active() -> bool {
    matches!(TARGET.get(), Some(Some(_)))
}

/// Sends `msg` (lines ending in `\n`) if supervised; a failure is logged,
/// as Redis's `redisCommunicateSystemd` logs sd_notify's.
pub fn send(msg: &str) {
    let Some(Some((sock, addr))) = TARGET.get() else {
        return;
    };
    if let Err(e) = sock.send_to_addr(msg.as_bytes(), addr) {
        log::warn!("systemd supervision error: sd_notify: {e}");
    }
}

/// The dataset is loaded and the listeners accept.
pub fn ready(is_replica: bool) {
    if is_replica {
        send(
            "STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync\n",
        );
    } else {
        send("STATUS=Ready to accept connections\n");
    }
    send("READY=1\n");
}

/// A DEBUG RELOAD begins: the service is not ready until `ready` again.
pub fn reloading() {
    if !active() {
        return;
    }
    // CLOCK_MONOTONIC in microseconds: systemd matches it against the
    // time it asked for a reload (sd_notify(3), "RELOADING=1").
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let usec = ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000;
    send(&format!(
        "RELOADING=1\nSTATUS=Reloading the dataset (DEBUG RELOAD)\nMONOTONIC_USEC={usec}\n"
    ));
}

/// Loading progress for `STATUS=` lines: one at every million keys and at
/// least one a second, so a big dataset shows its pace without a datagram
/// per key.
pub struct LoadStatus {
    what: &'static str,
    last: Instant,
    next_count: u64,
}

/// Keys between two progress lines, whatever the time.
const STATUS_EVERY_KEYS: u64 = 1_000_000;

impl LoadStatus {
    /// `what` names the unit counted ("keys", "commands").
    pub fn new(what: &'static str) -> LoadStatus {
        LoadStatus {
            what,
            last: Instant::now(),
            next_count: STATUS_EVERY_KEYS,
        }
    }

    /// `count` items loaded, `done` of `total` bytes read. Cheap enough to
    /// call for every item: the clock is read once in 1024 calls.
    pub fn update(&mut self, count: u64, done: usize, total: usize) {
        if !active() || (count & 1023 != 0 && count != self.next_count) {
            return;
        }
        if count < self.next_count && self.last.elapsed() < Duration::from_secs(1) {
            return;
        }
        if count >= self.next_count {
            self.next_count = (count / STATUS_EVERY_KEYS + 1) * STATUS_EVERY_KEYS;
        }
        self.last = Instant::now();
        let pct = (done as f64 * 100.0 / total.max(1) as f64).min(100.0);
        send(&format!(
            "STATUS=Loading: {count} {} loaded ({pct:.1}% of {total} bytes)\n",
            self.what
        ));
    }
}
