//! The systemd notification protocol (src/notify.rs) as a supervisor sees
//! it: each test binds its own unix datagram socket, starts the server
//! with `NOTIFY_SOCKET` pointing there and `--supervised systemd`, and
//! checks the order of what arrives.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A scratch directory and a notification socket bound inside it.
struct Supervisor {
    dir: PathBuf,
    sock: UnixDatagram,
    /// Every message received so far, one entry per line.
    got: Vec<String>,
}

impl Supervisor {
    fn new(name: &str) -> Supervisor {
        let dir =
            std::env::temp_dir().join(format!("redis-rust-notify-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = UnixDatagram::bind(dir.join("notify.sock")).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Supervisor {
            dir,
            sock,
            got: Vec::new(),
        }
    }

    fn socket_path(&self) -> PathBuf {
        self.dir.join("notify.sock")
    }

    /// The server, supervised, on a free port, with `extra` options.
    fn start(&self, extra: &[&str]) -> (Child, u16) {
        let dir = self.dir.to_str().unwrap().to_string();
        let sock = self.socket_path();
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        common::start_on_free_port(|port| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_redis-rust"));
            c.env("NOTIFY_SOCKET", &sock)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--dir", &dir, "--supervised", "systemd"])
                .args(["--logfile", &format!("{dir}/server.log")])
                .args(&extra);
            c
        })
    }

    /// Receives until a line satisfies `until` (true) or `timeout` passes
    /// (false).
    fn recv_until(&mut self, timeout: Duration, until: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let mut hit = false;
                for l in msg.lines() {
                    hit |= until(l);
                    self.got.push(l.to_string());
                }
                if hit {
                    return true;
                }
            }
        }
        false
    }

    /// Drains what is queued (after the server exited).
    fn drain(&mut self) {
        self.recv_until(Duration::from_millis(300), |_| false);
    }

    fn position(&self, line: &str) -> Option<usize> {
        self.got.iter().position(|l| l == line)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("received: {:#?}\nserver log:\n{}", self.got, self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn cmd(port: u16, args: &[&str]) -> redis::Value {
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    let mut q = redis::cmd(args[0]);
    for a in &args[1..] {
        q.arg(*a);
    }
    q.query(&mut c).unwrap()
}

/// Writes an RDB of `keys` keys into `dir` with an unsupervised server.
fn make_rdb(dir: &Path, keys: u64) {
    let dir = dir.to_str().unwrap();
    let srv = common::Server::start(&["--dir", dir, "--enable-debug-command", "yes"]);
    let mut c = srv.client();
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(keys)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
}

/// Two million keys. SIGTERM while loading: STOPPING=1, no READY=1, the
/// file left alone. Then a full start: loading progress, READY=1 only once
/// all keys are in; SIGTERM: STOPPING=1, the final save's status, exit 0.
#[test]
fn big_load_then_sigterm() {
    const KEYS: u64 = 2_000_000;
    let mut sup = Supervisor::new("big");
    make_rdb(&sup.dir, KEYS);
    let rdb = sup.dir.join("dump.rdb");
    let saved = std::fs::read(&rdb).unwrap();

    // Stopped while loading: STOPPING=1, never READY=1, and the file it
    // was loading is not overwritten (though save points are set).
    let (mut child, _) = sup.start(&["--save", "3600 1"]);
    assert!(
        sup.recv_until(Duration::from_secs(30), |l| l
            .starts_with("STATUS=Loading: ")),
        "no loading progress"
    );
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_exit(&mut child, Duration::from_secs(30));
    sup.drain();
    assert!(status.success(), "{status:?}");
    assert_eq!(sup.got.last().map(String::as_str), Some("STOPPING=1"));
    assert!(sup.position("READY=1").is_none());
    assert!(std::fs::read(&rdb).unwrap() == saved, "dump.rdb changed");
    sup.got.clear();

    let (mut child, port) = sup.start(&["--save", "3600 1"]);
    assert!(
        sup.recv_until(Duration::from_secs(40), |l| l == "READY=1"),
        "no READY=1"
    );
    // READY=1 means loaded: every key is there.
    assert_eq!(cmd(port, &["DBSIZE"]), redis::Value::Int(KEYS as i64));

    assert_eq!(sup.got[0], "STATUS=Redis is loading...");
    let counts: Vec<u64> = sup
        .got
        .iter()
        .filter_map(|l| l.strip_prefix("STATUS=Loading: "))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    assert!(
        counts.contains(&1_000_000) && counts.contains(&KEYS),
        "{counts:?}"
    );
    let n = sup.got.len();
    assert_eq!(sup.got[n - 2], "STATUS=Ready to accept connections");
    assert_eq!(sup.got[n - 1], "READY=1");
    assert_eq!(sup.position("READY=1"), Some(n - 1), "READY=1 only once");

    // SIGTERM: a shutdown that saves (save points are set).
    let ready_at = n;
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_exit(&mut child, Duration::from_secs(30));
    sup.drain();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        &sup.got[ready_at..],
        ["STOPPING=1", "STATUS=Saving the final RDB snapshot"]
    );
    // The whole sequence, for `--nocapture`.
    println!("{:#?}", sup.got);
}

/// `supervised auto`; DEBUG RELOAD: RELOADING=1 (with MONOTONIC_USEC),
/// then READY=1 again.
#[test]
fn debug_reload_reloading_then_ready() {
    let mut sup = Supervisor::new("reload");
    make_rdb(&sup.dir, 1000);
    // `auto` finds NOTIFY_SOCKET and acts as `systemd`.
    let (mut child, port) = sup.start(&["--enable-debug-command", "yes", "--supervised", "auto"]);
    assert!(sup.recv_until(Duration::from_secs(10), |l| l == "READY=1"));
    let redis::Value::BulkString(info) = cmd(port, &["INFO", "server"]) else {
        panic!("INFO");
    };
    assert!(String::from_utf8_lossy(&info).contains("process_supervised:systemd\r\n"));
    let ready_at = sup.got.len();
    assert_eq!(cmd(port, &["DEBUG", "RELOAD"]), redis::Value::Okay);
    assert!(sup.recv_until(Duration::from_secs(10), |l| l == "READY=1"));
    let after = &sup.got[ready_at..];
    assert_eq!(after[0], "RELOADING=1");
    assert!(after.iter().any(|l| l.starts_with("MONOTONIC_USEC=")));
    assert_eq!(after[after.len() - 1], "READY=1");
    assert_eq!(cmd(port, &["DBSIZE"]), redis::Value::Int(1000));
    let _ = child.kill();
    let _ = child.wait();
}

/// A start that fails never says READY=1, and exits with status 1: a bad
/// config (before anything is sent) and a corrupt RDB file (after the
/// loading status).
#[test]
fn failed_start_sends_no_ready() {
    let mut sup = Supervisor::new("fail");
    let mut child = Command::new(env!("CARGO_BIN_EXE_redis-rust"))
        .env("NOTIFY_SOCKET", sup.socket_path())
        .args(["--supervised", "systemd", "--port", "0"])
        .args(["--maxmemory-policy", "no-such-policy"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(10));
    sup.drain();
    assert_eq!(status.code(), Some(1));
    assert!(sup.position("READY=1").is_none());

    std::fs::write(sup.dir.join("dump.rdb"), b"REDIS0012\xfe\x00\x00\x03key").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_redis-rust"))
        .env("NOTIFY_SOCKET", sup.socket_path())
        .args(["--supervised", "systemd", "--port", "0"])
        .args(["--dir", sup.dir.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(10));
    sup.drain();
    assert_eq!(status.code(), Some(1));
    assert_eq!(sup.got, ["STATUS=Redis is loading..."]);
}
