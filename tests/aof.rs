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
