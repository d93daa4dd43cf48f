//! Master and replica, both our binary: WAIT counts replicas by the
//! offsets they acknowledge.

mod common;

use common::Server;
use std::time::{Duration, Instant};

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or("")
        .to_string()
}

fn info_int(c: &mut redis::Connection, section: &str, field: &str) -> i64 {
    info_field(c, section, field).parse().unwrap()
}

/// WAIT for the one replica; it must have everything within 5 s.
fn wait_one(m: &mut redis::Connection) {
    let n: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(m).unwrap();
    assert_eq!(n, 1);
}

/// SET prefix0..prefixN-1.
fn set_many(c: &mut redis::Connection, prefix: &str, n: usize) {
    for i in 0..n {
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}{i}"))
            .arg(i)
            .query(c)
            .unwrap();
    }
}

/// A master and a replica of it, synced, with a connection to each.
fn pair() -> (Server, Server, redis::Connection, redis::Connection) {
    let master = Server::start(&[]);
    let replica = Server::start(&[]);
    let (m, r) = attached(&master, &replica);
    (master, replica, m, r)
}

fn attached(master: &Server, replica: &Server) -> (redis::Connection, redis::Connection) {
    let m = master.client();
    let mut r = replica.client();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port)
        .query(&mut r)
        .unwrap();
    let t = Instant::now();
    while info_field(&mut r, "replication", "master_link_status") != "up" {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "replica never synced"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (m, r)
}

#[test]
fn wait_counts_replicas_that_acknowledged_the_writes() {
    let (_master, _replica, mut m, mut r) = pair();
    for _ in 0..3 {
        let _: i64 = redis::cmd("INCR").arg("foo").query(&mut m).unwrap();
    }
    wait_one(&mut m);
    let v: i64 = redis::cmd("GET").arg("foo").query(&mut r).unwrap();
    assert_eq!(v, 3, "WAIT returned before the replica applied the writes");
    // Two copies cannot be had: WAIT gives up at its timeout with what it got.
    let t = Instant::now();
    let n: i64 = redis::cmd("WAIT").arg(2).arg(300).query(&mut m).unwrap();
    assert_eq!(n, 1);
    assert!(t.elapsed() >= Duration::from_millis(290));
    // INFO shows the acknowledged offset.
    let slave0 = info_field(&mut m, "replication", "slave0");
    let off: i64 = info_field(&mut m, "replication", "master_repl_offset")
        .parse()
        .unwrap();
    assert!(slave0.contains("state=online"), "{slave0}");
    let acked: i64 = slave0
        .split(',')
        .find_map(|f| f.strip_prefix("offset="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(acked > 0 && acked <= off, "{slave0} vs {off}");
}

#[test]
fn wait_refuses_bad_arguments_and_replicas() {
    let (_master, _replica, mut m, mut r) = pair();
    let e = redis::cmd("WAIT")
        .arg(1)
        .arg(-1)
        .query::<i64>(&mut m)
        .unwrap_err();
    assert!(e.to_string().contains("timeout is negative"), "{e}");
    let e = redis::cmd("WAIT")
        .arg(1)
        .arg("9223372036854775807")
        .query::<i64>(&mut m)
        .unwrap_err();
    assert!(e.to_string().contains("timeout is out of range"), "{e}");
    let e = redis::cmd("WAIT")
        .arg(1)
        .arg(0)
        .query::<i64>(&mut r)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot be used with replica instances"),
        "{e}"
    );
    // Inside MULTI it does not block: it answers with the count it has.
    let (n,): (i64,) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("x")
        .ignore()
        .cmd("WAIT")
        .arg(5)
        .arg(0)
        .query(&mut m)
        .unwrap();
    assert!(n <= 1);
}

fn waitaof(c: &mut redis::Connection, local: i64, ms: i64) -> redis::RedisResult<(i64, i64)> {
    redis::cmd("WAITAOF").arg(local).arg(0).arg(ms).query(c)
}

fn config_set(c: &mut redis::Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(c)
        .unwrap();
}

#[test]
fn waitaof_reports_the_local_fsync() {
    let dir = std::env::temp_dir().join(format!("redis-rust-waitaof-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let s = Server::start(&["--appendonly", "yes", "--appendfsync", "no", "--dir", d]);
    let mut c = s.client();
    let _: i64 = redis::cmd("INCR").arg("foo").query(&mut c).unwrap();
    // Never fsynced with appendfsync no: the timeout answers.
    assert_eq!(waitaof(&mut c, 1, 50).unwrap(), (0, 0));
    config_set(&mut c, "appendfsync", "always");
    let _: i64 = redis::cmd("INCR").arg("foo").query(&mut c).unwrap();
    assert_eq!(waitaof(&mut c, 1, 0).unwrap(), (1, 0));
    config_set(&mut c, "appendonly", "no");
    let e = waitaof(&mut c, 1, 0).unwrap_err();
    assert!(e.to_string().contains("appendonly is disabled"), "{e}");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_replica_that_reconnects_continues_from_the_backlog() {
    let (_master, _replica, mut m, mut r) = pair();
    set_many(&mut m, "k", 100);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut m).unwrap();
    let _: () = redis::cmd("SET").arg("in3").arg("x").query(&mut m).unwrap();
    wait_one(&mut m);
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("master")
        .query(&mut r)
        .unwrap();
    assert_eq!(killed, 1);
    // Written while the link is down: only the backlog has them. No SELECT
    // comes: the stream is still on db 3.
    set_many(&mut m, "later", 50);
    let t = Instant::now();
    loop {
        let n: i64 = redis::cmd("WAIT").arg(1).arg(200).query(&mut m).unwrap();
        if n == 1 && info_field(&mut r, "replication", "master_link_status") == "up" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "replica never came back"
        );
    }
    assert_eq!(info_int(&mut m, "stats", "sync_full"), 1);
    assert_eq!(info_int(&mut m, "stats", "sync_partial_ok"), 1);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut r).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut r).unwrap();
    assert_eq!(n, 51, "the keys written while the link was down, in db 3");
    let _: () = redis::cmd("SELECT").arg(0).query(&mut r).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut r).unwrap();
    assert_eq!(n, 100);
}

#[test]
fn offsets_agree_after_commands_bigger_than_one_read() {
    let (_master, _replica, mut m, mut r) = pair();
    // About 40 KB in one SADD: the replica reads it in several parts.
    let members: Vec<String> = (0..4000).map(|i| format!("member:{i}")).collect();
    let _: i64 = redis::cmd("SADD")
        .arg("s")
        .arg(&members)
        .query(&mut m)
        .unwrap();
    let _: Vec<String> = redis::cmd("SPOP").arg("s").arg(1500).query(&mut m).unwrap();
    wait_one(&mut m);
    let t = Instant::now();
    loop {
        let mo = info_int(&mut m, "replication", "master_repl_offset");
        let ro = info_int(&mut r, "replication", "master_repl_offset");
        if mo == ro {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "master {mo} vs replica {ro}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let n: i64 = redis::cmd("SCARD").arg("s").query(&mut r).unwrap();
    assert_eq!(n, 2500);
}

#[test]
fn role_describes_both_sides() {
    let (master, replica, mut m, mut r) = pair();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut m).unwrap();
    wait_one(&mut m);
    let v: redis::Value = redis::cmd("ROLE").query(&mut r).unwrap();
    let redis::Value::Array(items) = v else {
        panic!("ROLE of a replica: {v:?}")
    };
    assert_eq!(items.len(), 5);
    assert_eq!(items[0], redis::Value::BulkString(b"slave".to_vec()));
    assert_eq!(items[2], redis::Value::Int(master.port as i64));
    assert_eq!(items[3], redis::Value::BulkString(b"connected".to_vec()));
    let (kind, off, replicas): (String, i64, Vec<(String, String, String)>) =
        redis::cmd("ROLE").query(&mut m).unwrap();
    assert_eq!(kind, "master");
    assert_eq!(replicas.len(), 1);
    assert_eq!(replicas[0].1, replica.port.to_string());
    // WAIT's REPLCONF GETACK is in the master's offset, not yet in the
    // replica's answer to it.
    let acked: i64 = replicas[0].2.parse().unwrap();
    let redis::Value::Int(applied) = items[4] else {
        panic!("{:?}", items[4])
    };
    assert!(
        acked > 0 && acked <= applied && applied <= off,
        "{acked} {applied} {off}"
    );
}
