//! Starts the real binary on a free port for black-box tests.

#![allow(dead_code)]

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Server {
    pub port: u16,
    child: Child,
    /// The server's stdout and stderr, shown if the test fails.
    output: std::path::PathBuf,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        let mut output = std::path::PathBuf::new();
        let (child, port) = start_on_free_port(|port| {
            let mut args = vec![
                "--port".to_string(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                "".into(),
                "--loglevel".into(),
                "warning".into(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            output = std::env::temp_dir()
                .join(format!("redis-rust-test-{}-{port}.out", std::process::id()));
            let out = std::fs::File::create(&output).expect("server output file");
            let err = out.try_clone().expect("server output file");
            let mut c = Command::new(env!("CARGO_BIN_EXE_redis-rust"));
            c.args(&args).stdout(out).stderr(err);
            c
        });
        Server {
            port,
            child,
            output,
        }
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .unwrap()
            .get_connection()
            .unwrap()
    }

    pub fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// What the server wrote to stdout and stderr so far (its log, unless
    /// a logfile was given).
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    /// Waits up to `secs` seconds for the server to exit.
    pub fn wait_exit(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Starts the reference Redis 8.0 (`$REDIS8_SERVER`, which `make interop`
/// sets) on a free port, without persistence.
pub fn start_redis8() -> (Child, u16) {
    let redis = std::env::var("REDIS8_SERVER")
        .ok()
        .filter(|v| !v.is_empty())
        .expect("REDIS8_SERVER is not set (make interop sets it)");
    start_redis8_with(std::path::Path::new(&redis), &[])
}

/// The reference Redis 8.0: `$REDIS8_SERVER` when set, else the build
/// `tcl-compat/build-redis.sh` leaves in tcl-compat/.cache; None when
/// there is neither (the tests comparing with it then say so and stop).
pub fn redis8_binary() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("REDIS8_SERVER").filter(|v| !v.is_empty()) {
        return Some(p.into());
    }
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tcl-compat/.cache/redis-build/src/redis-server");
    built.exists().then_some(built)
}

/// Starts Redis 8.0 at `redis` on a free port, without persistence, with
/// `extra` options.
pub fn start_redis8_with(redis: &std::path::Path, extra: &[&str]) -> (Child, u16) {
    start_on_free_port(|port| {
        let mut c = Command::new(redis);
        c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    })
}

/// Spawns `command(port)` on a free port and waits until that process
/// listens there. A free port can be taken by another test's server
/// between the probe and the bind (ours then exits, and the other one
/// would answer our clients): then a new port is tried.
pub fn start_on_free_port(mut command: impl FnMut(u16) -> Command) -> (Child, u16) {
    for _ in 0..10 {
        let port = free_port();
        let mut child = command(port).spawn().expect("start server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(child.try_wait(), Ok(Some(_))) {
            if listens(child.id(), port) {
                return (child, port);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("server did not start");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.wait();
    }
    panic!("no port the server could keep");
}

/// Whether process `pid` holds a TCP socket listening on `port`: the
/// listening sockets' inodes from /proc/net/tcp{,6} against the
/// process's descriptors.
fn listens(pid: u32, port: u16) -> bool {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) && f.get(3) == Some(&"0A") {
                inodes.extend(f.get(9).map(|i| format!("socket:[{i}]")));
            }
        }
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .is_ok_and(|l| inodes.iter().any(|i| l.to_str() == Some(i.as_str())))
    })
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test shows what its server said (a panic, say).
        if std::thread::panicking() {
            let said = std::fs::read_to_string(&self.output).unwrap_or_default();
            eprintln!("--- server on port {} said:\n{said}---", self.port);
        }
        let _ = std::fs::remove_file(&self.output);
    }
}

/// Sends raw bytes and reads until `want` bytes arrived or the peer closed.
pub fn roundtrip(s: &mut TcpStream, req: &[u8], want: usize) -> Vec<u8> {
    s.write_all(req).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < want {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

/// Reads until EOF (the server closed the connection) or timeout.
pub fn read_to_close(s: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

/// Sends `req` and asserts the reply is exactly `want`.
pub fn exchange(s: &mut TcpStream, req: &[u8], want: &[u8]) {
    let got = roundtrip(s, req, want.len());
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
}

// ---------------------------------------------------------------------------
// Typed replies, for comparing ours with Redis's as structures
// ---------------------------------------------------------------------------

/// A reply, keeping the RESP3 type of each aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    Bulk(String),
    Simple(String),
    Error(String),
    Int(i64),
    Null,
    Array(Vec<V>),
    Set(Vec<V>),
    Map(Vec<(V, V)>),
}

impl V {
    pub fn str(&self) -> &str {
        match self {
            V::Bulk(s) | V::Simple(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }

    /// The pairs of a map: a RESP3 map, or a flat RESP2 array.
    pub fn pairs(&self) -> Vec<(String, V)> {
        match self {
            V::Map(p) => p
                .iter()
                .map(|(k, v)| (k.str().to_string(), v.clone()))
                .collect(),
            V::Array(a) => a
                .chunks(2)
                .map(|c| (c[0].str().to_string(), c[1].clone()))
                .collect(),
            _ => panic!("not a map: {self:?}"),
        }
    }

    pub fn get(&self, field: &str) -> Option<V> {
        self.pairs()
            .into_iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
    }
}

pub fn read(r: &mut impl BufRead) -> V {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let line = line.trim_end_matches("\r\n");
    let (t, rest) = line.split_at(1);
    let n = || rest.parse::<i64>().unwrap();
    match t {
        "+" => V::Simple(rest.to_string()),
        "-" => V::Error(rest.to_string()),
        ":" => V::Int(n()),
        "_" => V::Null,
        "$" if n() < 0 => V::Null,
        "$" => {
            let mut b = vec![0; n() as usize + 2];
            r.read_exact(&mut b).unwrap();
            b.truncate(b.len() - 2);
            V::Bulk(String::from_utf8(b).unwrap())
        }
        "*" if n() < 0 => V::Null,
        "*" => V::Array((0..n()).map(|_| read(r)).collect()),
        "~" => V::Set((0..n()).map(|_| read(r)).collect()),
        "%" => V::Map((0..n()).map(|_| (read(r), read(r))).collect()),
        _ => panic!("unexpected reply line {line:?}"),
    }
}

pub fn request(s: &mut TcpStream, r: &mut impl BufRead, args: &[&str]) -> V {
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(out.as_bytes()).unwrap();
    read(r)
}

/// Sets compared regardless of order: sorted by their debug form.
pub fn canonical(v: &V) -> V {
    match v {
        V::Set(items) => {
            let mut c: Vec<V> = items.iter().map(canonical).collect();
            c.sort_by_key(|x| format!("{x:?}"));
            V::Set(c)
        }
        V::Array(a) => V::Array(a.iter().map(canonical).collect()),
        V::Map(p) => V::Map(
            p.iter()
                .map(|(k, v)| (canonical(k), canonical(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
