//! The append-only file end to end: with `appendfsync always`, every write
//! acknowledged before a `kill -9` is there after the restart; a rewrite
//! in the middle of writes loses nothing.

mod common;

use common::Server;
use std::io::Read;
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("redis-rust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cmd(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    out
}

/// Sends one command and reads one line-terminated reply.
fn call(s: &mut std::net::TcpStream, args: &[&str]) -> String {
    use std::io::Write;
    s.write_all(&cmd(args)).unwrap();
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    // Bulk replies: header line, then the payload line.
    let mut lines = 0;
    while s.read(&mut b).unwrap() == 1 {
        out.push(b[0]);
        if out.ends_with(b"\r\n") {
            lines += 1;
            let bulk = out[0] == b'$' && !out.starts_with(b"$-1");
            if !bulk || lines == 2 {
                break;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn acknowledged_writes_survive_kill_9_with_fsync_always() {
    let dir = temp_dir("aof-always");
    let d = dir.to_str().unwrap();
    let args = ["--appendonly", "yes", "--appendfsync", "always", "--dir", d];
    let s = Server::start(&args);
    let mut r = s.raw();
    let mut acked = 0;
    for i in 0..500 {
        let k = format!("k{i}");
        assert_eq!(call(&mut r, &["SET", &k, &i.to_string()]), "+OK\r\n");
        assert!(call(&mut r, &["INCR", "counter"]).starts_with(':'));
        acked = i + 1;
    }
    call(&mut r, &["SELECT", "3"]);
    assert_eq!(call(&mut r, &["RPUSH", "list", "a", "b"]), ":2\r\n");
    // Kill -9: no shutdown, no final save.
    drop(s);

    let s = Server::start(&args);
    let mut r = s.raw();
    assert_eq!(
        call(&mut r, &["GET", "counter"]),
        format!("${}\r\n{acked}\r\n", acked.to_string().len())
    );
    assert_eq!(call(&mut r, &["DBSIZE"]), format!(":{}\r\n", acked + 1));
    assert_eq!(call(&mut r, &["GET", "k499"]), "$3\r\n499\r\n");
    call(&mut r, &["SELECT", "3"]);
    assert_eq!(call(&mut r, &["LLEN", "list"]), ":2\r\n");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rewrite_during_writes_loses_nothing() {
    let dir = temp_dir("aof-rewrite");
    let d = dir.to_str().unwrap();
    let args = ["--appendonly", "yes", "--dir", d];
    let s = Server::start(&args);
    let mut r = s.raw();
    for i in 0..2000 {
        call(&mut r, &["SADD", "set", &i.to_string()]);
        if i == 1000 {
            let reply = call(&mut r, &["BGREWRITEAOF"]);
            assert!(
                reply.starts_with("+Background append only file rewriting"),
                "{reply}"
            );
        }
    }
    // Let the rewrite finish before the restart.
    let mut con = s.client();
    for _ in 0..500 {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query(&mut con)
            .unwrap();
        if info.contains("aof_rewrite_in_progress:0") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert!(
        manifest.starts_with("file appendonly.aof.2.base.rdb seq 2 type b\n"),
        "{manifest}"
    );
    drop(s);

    let s = Server::start(&args);
    let mut r = s.raw();
    assert_eq!(call(&mut r, &["SCARD", "set"]), ":2000\r\n");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads one RESP reply whose first line is `$<len>` (or a one-line reply).
fn read_reply(s: &mut std::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1, "connection closed");
        head.push(b[0]);
    }
    let mut out = String::from_utf8_lossy(&head).into_owned();
    if head[0] == b'$' {
        let n: i64 = out[1..out.len() - 2].parse().unwrap();
        if n >= 0 {
            let mut body = vec![0u8; n as usize + 2];
            s.read_exact(&mut body).unwrap();
            out.push_str(&String::from_utf8_lossy(&body));
        }
    }
    out
}

/// No key is evicted while the AOF loads (Redis's isSafeToPerformEvictions):
/// the dataset fits in `maxmemory`, but the load holds the file in memory
/// as well, and a command served meanwhile (INFO here) must not make room
/// by deleting keys the load has just read.
#[test]
fn no_eviction_while_loading() {
    use std::io::Write;
    let dir = temp_dir("aof-evict-loading");
    let d = dir.to_str().unwrap();
    let base = [
        "--appendonly",
        "yes",
        "--aof-use-rdb-preamble",
        "no",
        "--dir",
        d,
    ];
    let s = Server::start(&base);
    let mut r = s.raw();
    let value = "v".repeat(1000);
    let keys = 40_000;
    for chunk in 0..keys / 1000 {
        let mut batch = Vec::new();
        for i in 0..1000 {
            batch.extend(cmd(&["SET", &format!("k{}", chunk * 1000 + i), &value]));
        }
        r.write_all(&batch).unwrap();
        for _ in 0..1000 {
            assert_eq!(read_reply(&mut r), "+OK\r\n");
        }
    }
    drop(s);

    let mut args = base.to_vec();
    args.extend([
        "--maxmemory",
        "60mb",
        "--maxmemory-policy",
        "allkeys-lru",
        "--loading-process-events-interval-bytes",
        "1024",
    ]);
    let s = Server::start(&args);
    let mut r = s.raw();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut served_while_loading = 0;
    loop {
        r.write_all(&cmd(&["INFO", "persistence"])).unwrap();
        let info = read_reply(&mut r);
        if info.contains("\r\nloading:0\r\n") {
            break;
        }
        served_while_loading += 1;
        assert!(std::time::Instant::now() < deadline, "still loading");
    }
    assert_eq!(call(&mut r, &["DBSIZE"]), format!(":{keys}\r\n"));
    r.write_all(&cmd(&["INFO", "stats"])).unwrap();
    let stats = read_reply(&mut r);
    assert!(
        stats.contains("evicted_keys:0\r\n"),
        "keys evicted ({served_while_loading} INFO served while loading)"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
